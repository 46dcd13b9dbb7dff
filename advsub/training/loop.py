"""The loop skeleton every training path shares, and the driver that runs it chunk by
chunk.

:func:`run_loop` is the whole algorithm: evaluate, retire the members that reached the
margin (or diverged), stop when none is left, step. The *state* objects
(:class:`~.reduced.ReducedState`, :class:`~.full.FullSpaceState`) say how each of these
is done. :func:`train_members` splits the ensemble into chunks that fit
``memory_budget``, picks the thread count, runs the loop on each chunk, evaluates the
result and assembles the :class:`~.history.TrainingHistory` (with its warnings).
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from contextlib import contextmanager

import torch
from tqdm.auto import tqdm

from ..network import copy_net
from .full import FullSpaceState, full_words, loss_gradients, two_layer_parameters
from .optim import OptimizerState
from .history import DeadPointWarning, DivergenceWarning, HistoryRecorder, logistic_loss
from .reduced import ReducedState, data_coordinates, reduced_words, task_blocks

__all__ = [
    "run_loop",
    "train_members",
    "torch_threads",
    "num_threads",
    "step_flops",
    "SMALL_WORK_FLOPS",
]

# Below this many flops per step, one thread: the work of each operation is then shorter
# than the cost of waking a second thread (the full-space loop on a tiny problem was 80×
# slower with 2 threads than with 1 on a loaded machine).
SMALL_WORK_FLOPS = 5e7


@contextmanager
def num_threads(n: int | None):
    """Run the body with ``n`` torch threads, then restore the previous setting
    (``None`` or the current count: nothing is changed)."""
    before = torch.get_num_threads()
    if n is None or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def torch_threads(flops_per_step: float):
    """Body with one torch thread if the work per step is small, then restore."""
    return num_threads(1 if flops_per_step < SMALL_WORK_FLOPS else None)


def run_loop(state, *, max_steps: int, bar) -> None:
    """Train the members of ``state`` until each reaches the target margin, diverges, or
    max_steps.

    At every evaluation ``state.evaluate`` records loss and margin and says which
    members keep training (−∞ < margin < target); the others are *retired*: a member
    leaves at the evaluation where its margin reaches the target, or where its loss is
    NaN or infinite (its margin is then NaN or −∞), and makes no further step. The loop
    ends when no member is left.
    """
    show = not bar.disable
    for t in range(max_steps):
        keep = state.evaluate(t)  # None: every member keeps training
        if keep is not None and not bool(keep.all()):
            state.retire(~keep, t)
            if state.done:
                break
        state.step()
        bar.update(1)
        if show and t % 50 == 0:
            bar.set_postfix(
                running=state.active, min_margin=f"{state.min_margin():.3f}"
            )


def _coordinates(data):
    """One factorisation per distinct data tensor."""
    cache = {}
    for X, _ in data:
        if id(X) not in cache:
            cache[id(X)] = data_coordinates(X)
    return [cache[id(X)] for X, _ in data]


def train_members(
    net, data, task, settings, *, progress: bool, desc: str | None = None
):
    """The engine of :func:`train` and :func:`train_sweep` (TwoLayerReLU, validated
    arguments).

    ``data`` is a list of (X_t, y_t) with the same n; ``task`` (E,) the task of each
    member (non-decreasing). Several tasks need the reduced path; SGD draws are those of
    one task. Returns the TrainingHistory; the net's W (and b, u, c when trained) are
    new tensors. The whole run, set-up included, uses the thread count of
    :func:`torch_threads`.
    """
    n = data[0][0].shape[0]
    with torch_threads(step_flops(net.ensemble, net.m, net.d, n, settings.use_reduced)):
        return _train_members(net, data, task, settings, progress=progress, desc=desc)


def step_flops(E: int, m: int, d: int, n: int, reduced: bool) -> float:
    """Flops of one training step of E two-layer networks (the work
    :func:`torch_threads` looks at).

    Reduced loop: 2n² (Gram) or 4nr (coordinates) per neuron, r ≤ min(n, d); full loop:
    4nd.
    """
    return E * m * n * (min(2 * n, 4 * min(n, d)) if reduced else 4 * d)


def _train_members(net, data, task, settings, *, progress, desc):
    s = settings
    X, y = data[0]
    n = X.shape[0]
    E, m, d = net.ensemble, net.m, net.d
    batch = s.batch_size if s.optimizer == "sgd" else None
    words = (
        reduced_words(n, m, d, s.optimizer)
        if s.use_reduced
        else full_words(n, m, d, batch, s.optimizer)
    )
    itemsize = torch.finfo(net.dtype).bits // 8
    chunk = max(1, min(E, int(s.memory_budget // (words * itemsize))))
    bounds = [(lo, min(E, lo + chunk)) for lo in range(0, E, chunk)]
    task = task.to(net.device)
    history = HistoryRecorder(E, s.max_steps, net.dtype, net.device)
    coords = _coordinates(data) if s.use_reduced else None
    if s.use_reduced:
        # W is written into a fresh tensor; u, b, c are copied (the start stays
        # readable).
        dst_net = copy_net(net, skip=("W0", "W"))
        dst_net.W = torch.empty_like(net.W)
    else:
        # The trained tensors are updated in place: replace them by copies first, so
        # that a
        # tensor the caller holds (e.g. ``W = net.W``) keeps the values it had.
        for name in two_layer_parameters(net, s.train_second_layer):
            setattr(
                net, name, getattr(net, name).clone()
            )  # the old tensor is freed here
        dst_net = net
    bar = tqdm(
        total=s.max_steps * len(bounds),
        disable=not progress,
        desc=desc or f"train[{s.optimizer}]",
        leave=False,
    )
    final_loss = torch.empty(E, dtype=net.dtype, device=net.device)
    final_margin = torch.empty_like(final_loss)
    dead = torch.zeros(E, dtype=torch.int64, device=net.device)
    opt = None
    if not s.use_reduced:  # one optimizer state, its buffers reused by every chunk
        opt = OptimizerState(
            s.optimizer, lr=s.lr, weight_decay=s.weight_decay, momentum=s.momentum
        )
    for k, (lo, hi) in enumerate(bounds):
        members = slice(lo, hi)
        src = net if len(bounds) == 1 else copy_net(net, members, share=True)
        dst = dst_net if len(bounds) == 1 else copy_net(dst_net, members, share=True)
        # Minibatches: one (E, n) block of draws per step from a generator seeded with
        # ``seed``, the same whatever the chunking (each chunk replays it and keeps its
        # rows).
        gen = torch.Generator(device="cpu").manual_seed(s.seed)

        def draw(lo=lo, hi=hi, gen=gen):
            r = torch.rand(E, n, generator=gen, dtype=torch.float64)[lo:hi]
            return r.argsort(dim=1)[:, : s.batch_size].to(net.device)

        if s.use_reduced:
            blocks = [(Xt, yt, ct) for (Xt, yt), ct in zip(data, coords)]
            state = ReducedState(src, blocks, task[lo:hi], s, history, lo, draw)
        else:
            params = two_layer_parameters(src, s.train_second_layer)
            gradients = lambda idx, src=src: loss_gradients(
                src, X, y, idx, s.train_second_layer
            )
            state = FullSpaceState(
                src, X, y, params, gradients, s, history, lo, draw, opt
            )
        run_loop(state, max_steps=s.max_steps, bar=bar)
        state.finish(dst)
        del state
        bar.update(s.max_steps * (k + 1) - bar.n)
        # The result, evaluated on the weights in R^d, one task at a time.
        for t, tlo, thi in task_blocks(task[lo:hi], len(data)):
            part = (
                dst
                if thi - tlo == hi - lo
                else copy_net(dst, slice(tlo, thi), share=True)
            )
            Xt, yt = data[t]
            out, dead[lo + tlo : lo + thi] = part.outputs_and_dead_points(Xt)
            final_loss[lo + tlo : lo + thi] = logistic_loss(out, yt)
            final_margin[lo + tlo : lo + thi] = (yt * out).min(dim=1).values
    bar.close()
    if dst_net is not net:
        for name in ("W", "u", "b", "c"):
            setattr(net, name, getattr(dst_net, name))
    hist = history.finish(
        final_loss,
        final_margin,
        target_margin=s.target_margin,
        optimizer=s.optimizer,
        dead_points=dead,
    )
    mark_diverged(net, hist.diverged)
    warn_about(hist)
    return hist


def mark_diverged(net, diverged: torch.Tensor) -> None:
    """Set every weight of the diverged members to NaN (initial weights kept).

    Their weights had overflowed (outputs ±inf or NaN, though the weights themselves may
    still be finite, e.g. 1e155): NaN makes :func:`~advsub.network.check_finite`, and so
    the attacks and certificates, refuse them instead of reporting a size.
    """
    if not bool(diverged.any()):
        return
    for name, value in net.__dict__.items():
        if name in ("W0", "weights0"):
            continue
        for t in value if isinstance(value, list) else [value]:
            if (
                isinstance(t, torch.Tensor)
                and t.is_floating_point()
                and t.shape[:1] == diverged.shape
            ):
                t[diverged] = float("nan")


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside advsub.training (train's caller)."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None:
        if os.path.dirname(os.path.abspath(frame.f_code.co_filename)) != here:
            break
        frame, level = frame.f_back, level + 1
    return level


def warn_about(hist) -> None:
    """The warnings of a finished run: diverged members, members stuck with dead
    training points."""
    E = hist.steps.numel()
    if hist.any_diverged:
        idx = torch.nonzero(hist.diverged).flatten().tolist()
        steps = hist.steps[hist.diverged].tolist()
        warnings.warn(
            f"training diverged for {len(idx)} of {E} members (members "
            f"{idx[:8]}{' ...' if len(idx) > 8 else ''}, "
            f"loss NaN or infinite after {steps[:8]} steps): they were frozen there, "
            "marked in "
            f"history.diverged, and their weights set to NaN. Use a smaller lr.",
            DivergenceWarning,
            stacklevel=_caller_stacklevel(),
        )
    stuck = (~hist.reached) & (~hist.diverged) & (hist.dead_points > 0)
    if bool(stuck.any()):
        idx = torch.nonzero(stuck).flatten().tolist()
        warnings.warn(
            f"{len(idx)} of {E} members did not reach "
            f"target_margin={hist.target_margin:g} and have training "
            f"points at which every hidden neuron is off (up to "
            f"{int(hist.dead_points[stuck].max())} points; "
            f"members {idx[:8]}{' ...' if len(idx) > 8 else ''}): there N(x_j) is the "
            "output bias (0 without "
            f"one) and no gradient flows through x_j, so the margin at x_j cannot move "
            "unless updates from "
            f"other points revive a neuron. See history.dead_points.",
            DeadPointWarning,
            stacklevel=_caller_stacklevel(),
        )
