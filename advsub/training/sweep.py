"""``train_sweep``: many training problems in one call, batched where they can share a
loop."""

from __future__ import annotations

import inspect

import torch
from tqdm.auto import tqdm

from ..network import TwoLayerReLU, concat_nets, copy_net
from .api import train
from .history import TrainingHistory
from .loop import train_members, warn_about
from .spec import check_progress, check_train_args

__all__ = ["train_sweep"]

# Beyond ~2^20 pre-activations per step the work arrays leave the cache and one batched
# loop is no faster than one loop per task.
SWEEP_GROUP_ELEMENTS = 2**20

_TRAIN_PARAMETERS = {
    name: p
    for name, p in inspect.signature(train).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY
}
_TRAIN_DEFAULTS = {
    name: p.default
    for name, p in _TRAIN_PARAMETERS.items()
    if p.default is not inspect.Parameter.empty
}
_TRAIN_REQUIRED = [
    name
    for name, p in _TRAIN_PARAMETERS.items()
    if p.default is inspect.Parameter.empty
]


def _train_keywords(i: int, kw: dict) -> dict:
    """``kw`` completed with train's defaults (from its signature); unknown or missing
    names raise TypeError."""
    unknown = sorted(set(kw) - set(_TRAIN_PARAMETERS))
    if unknown:
        raise TypeError(
            f"tasks[{i}]: train() got unexpected keyword arguments {unknown}"
        )
    missing = [name for name in _TRAIN_REQUIRED if name not in kw]
    if missing:
        raise TypeError(
            f"tasks[{i}]: train() is missing the required keyword arguments {missing}"
        )
    return {**_TRAIN_DEFAULTS, **kw}


def train_sweep(
    tasks, *, progress: bool = True, desc: str = "sweep", **train_kwargs
) -> list[TrainingHistory]:
    """Train many configurations with one call and one progress bar.

    A sweep over ℓ, m, d, β, λ or seeds is a list of independent training problems, each
    an ensemble of networks with its data. With the reduced path (GD, momentum; the
    default) the tasks whose networks have the same shape (d, m, biases, dtype, device),
    whose data have the same number of points n and whose settings are equal are trained
    *together*, as one batched ensemble in which each member sees its own task's Gram
    matrix: one loop for the whole group instead of one per configuration. Other tasks
    (Adam, SGD, ``reduced=False``, deeper networks) are trained one after the other by
    :func:`train`.

    Parameters
    ----------
    tasks : sequence of (net, X, y) or (net, X, y, kwargs)
        Each net is trained in place on its own (X, y). ``kwargs`` (a dict) overrides
        ``train_kwargs`` for that task, e.g. ``{"weight_decay": 1e-2}``.
    progress : bool
        One tqdm bar over all networks of the sweep.
    desc : str
        Label of the bar.
    **train_kwargs
        Passed to :func:`train` (``lr`` and ``max_steps`` are required there); the
        defaults are :func:`train`'s own.

    Returns
    -------
    list of TrainingHistory
        One per task, in order, as :func:`train` returns it for that task alone (equal
        to rounding, ≤ 1e-12 relative). SGD tasks are never grouped, so that their
        minibatch draws are those of their own call.

    Examples
    --------
    >>> tasks = []
    >>> for ell in (10, 50, 90):
    ...     P = Subspace.random(100, ell, seed=ell)
    ...     X, y = make_dataset(P, 50, seed=1)
    ...     tasks.append((TwoLayerReLU(100, 100, ensemble=20, seed=2), X, y))
    >>> histories = train_sweep(tasks, lr=0.5, max_steps=2000, progress=False)
    """
    if isinstance(tasks, (str, bytes)) or not hasattr(tasks, "__iter__"):
        raise TypeError(
            f"tasks must be a sequence of (net, X, y[, kwargs]) tuples, got "
            f"{type(tasks).__name__}"
        )
    tasks = list(tasks)
    progress = check_progress(progress)
    # (net, X, y, kw, checked) with checked = (X, y, settings) for a TwoLayerReLU
    items = []
    for i, task in enumerate(tasks):
        if not isinstance(task, (tuple, list)) or len(task) not in (3, 4):
            raise TypeError(
                f"tasks[{i}] must be a tuple (net, X, y) or (net, X, y, kwargs), got "
                f"{task!r:.80}"
            )
        net, X, y = task[:3]
        extra = task[3] if len(task) == 4 else {}
        if not isinstance(extra, dict):
            raise TypeError(
                f"tasks[{i}][3] must be a dict of train() keyword arguments, got "
                f"{type(extra).__name__}"
            )
        kw = dict(train_kwargs, **extra)
        kw.pop("progress", None)
        full = _train_keywords(i, kw)
        if not isinstance(net, TwoLayerReLU):
            items.append(
                (net, X, y, kw, None)
            )  # e.g. a DeepReLU: train() dispatches it
            continue
        full.pop("progress")
        items.append((net, X, y, kw, check_train_args(net, X, y, **full)))
    groups: dict = {}
    for i, (net, X, y, kw, checked) in enumerate(items):
        if (
            checked is None
            or not checked[2].use_reduced
            or checked[2].optimizer == "sgd"
        ):
            key = ("alone", i)
        else:
            key = (
                net.d,
                net.m,
                net.has_bias,
                net.has_output_bias,
                net.dtype,
                str(net.device),
                checked[0].shape[0],
                checked[2],
            )
        groups.setdefault(key, []).append(i)
    split = []
    for members in groups.values():
        part, size = [], 0
        for i in members:
            net, checked = items[i][0], items[i][4]
            cost = net.ensemble * net.m * (checked[0].shape[0] if checked else 1)
            if part and size + cost > SWEEP_GROUP_ELEMENTS:
                split.append(part)
                part, size = [], 0
            part.append(i)
            size += cost
        split.append(part)
    histories: list = [None] * len(items)
    bar = tqdm(
        total=sum(getattr(it[0], "ensemble", 1) for it in items),
        disable=not progress,
        desc=desc,
    )
    for members in split:
        if len(members) == 1:
            net, X, y, kw, _ = items[members[0]]
            histories[members[0]] = train(net, X, y, progress=False, **kw)
            bar.update(getattr(net, "ensemble", 1))
            continue
        nets = [items[i][0] for i in members]
        settings = items[members[0]][4][2]
        big = concat_nets(nets)
        data = [items[i][4][:2] for i in members]
        task = torch.cat(
            [
                torch.full((nt.ensemble,), k, dtype=torch.int64)
                for k, nt in enumerate(nets)
            ]
        )
        with _no_warnings():
            h = train_members(big, data, task, settings, progress=False)
        lo = 0
        for i, nt in zip(members, nets):
            hi = lo + nt.ensemble
            part = copy_net(big, slice(lo, hi), skip=("W0",))
            for name in ("W", "u", "b", "c"):
                setattr(nt, name, getattr(part, name))
            histories[i] = h.members(lo, hi)
            warn_about(histories[i])
            lo = hi
        bar.update(big.ensemble)
    bar.close()
    return histories


class _no_warnings:
    """Silence the batched run's own warnings: each task's history warns for itself."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
