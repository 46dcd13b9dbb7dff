"""The sandwich of chapters 02 and 03 without the construction that makes it trivial.

:func:`advsub.orthogonal_attack` returns the smaller of its own DeepFool step and the
universal step, so "attack ≤ universal" holds by construction. Here the DeepFool step
in P⊥ is computed on its own (:func:`deepfool_orthogonal`, the same l2 algorithm:
linearised steps aiming past the boundary, then the exact first flip along the
direction found), so that the chapters can report how often DeepFool alone beats the
universal step.

:func:`sandwich_experiment` and :func:`sandwich_sweep` set up, train and measure as
:func:`advsub.attack_experiment` / :func:`advsub.attack_sweep` do (seeds: subspace
``seed``, data ``seed + 1``, networks ``net_seed`` or ``seed + 2``) and add the raw
DeepFool size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

# the package's public names only: they survive the move of modules into layers
from .. import (
    AttackSample,
    Subspace,
    TwoLayerReLU,
    attack_sample,
    flip_along,
    make_dataset,
    train_sweep,
)

__all__ = [
    "deepfool_orthogonal",
    "SandwichSample",
    "sandwich_experiment",
    "sandwich_sweep",
]


def deepfool_orthogonal(
    net: TwoLayerReLU,
    x,
    subspace: Subspace,
    *,
    steps: int = 50,
    overshoot: float = 0.02,
) -> torch.Tensor:
    """The l2 size of a DeepFool perturbation restricted to P⊥, alone: (E, n).

    DeepFool on g = s·N, s = sign N(x): z ← z − (g(x+z) + κ)·Πg'/‖Πg'‖² with
    κ = ``overshoot``·|N(x)|, until x + z flips (at most ``steps`` steps; on a flat
    piece the last gradient is reused with doubling steps), then the exact first flip
    along z/‖z‖ (:func:`advsub.flip_along`, at most ‖z‖); ``inf`` where nothing
    flipped. Unlike :func:`advsub.orthogonal_attack` the universal step is *not* a
    candidate. ``x`` (n, d) or (E, n, d) points of P.
    """
    if not isinstance(net, TwoLayerReLU):
        raise TypeError(f"net must be a TwoLayerReLU, got {type(net).__name__}")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if not isinstance(overshoot, (int, float)) or not 0 <= overshoot <= 10:
        raise ValueError(f"overshoot must be a float in [0, 10], got {overshoot!r}")
    x = torch.as_tensor(x, dtype=net.dtype)
    x = x.expand(net.ensemble, -1, -1) if x.ndim == 2 else x
    C = subspace.orth_basis.to(net.dtype)
    out = net(x)
    s = torch.where(out >= 0, 1.0, -1.0).to(out.dtype)
    kappa = overshoot * out.abs()
    c = torch.zeros(*out.shape, C.shape[1], dtype=x.dtype)
    last, boost = torch.zeros_like(c), torch.ones(*out.shape, 1, dtype=x.dtype)
    done = torch.zeros(out.shape, dtype=torch.bool)
    for _ in range(steps):
        # only the points where some member has not flipped yet (the others are final)
        cols = torch.nonzero((~done).any(0))[:, 0]
        if len(cols) == 0:
            break
        xc = x[:, cols] + c[:, cols] @ C.T
        g = s[:, cols] * net(xc)
        done_c = done[:, cols] | (g < 0)
        done[:, cols] = done_c
        grad = (s[:, cols, None] * net.input_gradient(xc)) @ C
        flat = ~(grad != 0).any(-1, keepdim=True)  # N = 0 here: reuse the last grad
        last_c = torch.where(flat, last[:, cols], grad)
        boost_c = torch.where(flat, 2 * boost[:, cols], torch.ones_like(boost[:, cols]))
        denom = (last_c * last_c).sum(-1)
        step = last_c / torch.where(denom > 0, denom, torch.ones_like(denom))[..., None]
        move = (~done_c & (denom > 0))[..., None]
        shift = boost_c * (g + kappa[:, cols] + 1e-12)[..., None] * step
        c[:, cols] = torch.where(move, c[:, cols] - shift, c[:, cols])
        last[:, cols], boost[:, cols] = last_c, boost_c
    done = done | (s * net(x + c @ C.T) < 0)
    length = c.norm(dim=-1)
    ok = done & (length > 0)
    z = c @ C.T
    direction = z / torch.where(ok, length, torch.ones_like(length))[..., None]
    direction = torch.where(ok[..., None], direction, C[:, 0].expand_as(direction))
    size, _ = flip_along(net, x, direction, max_norm=math.inf)
    size = torch.where(
        ok & (size <= length * (1 + 1e-6)),
        size,
        torch.where(ok, length, torch.full_like(length, math.inf)),
    )
    return torch.where(out == 0, torch.zeros_like(size), size)


@dataclass
class SandwichSample:
    """An :class:`advsub.AttackSample` and the raw DeepFool size at the same points.

    ``sample.orthogonal`` is the library's attack, min(DeepFool, universal)
    (:func:`advsub.orthogonal_attack`'s size);
    ``deepfool`` (E, n) is DeepFool alone (:func:`deepfool_orthogonal`);
    ``train_k`` (E, n_train) the number of active neurons at each *training* point after
    training (0: a dead training point, where the loss gradient vanishes).
    """

    sample: AttackSample
    deepfool: np.ndarray
    train_k: np.ndarray

    @property
    def deepfool_beats_universal(self) -> np.ndarray:
        """(E, n) bool: DeepFool alone finds a strictly smaller flip than universal."""
        return self.deepfool < self.sample.universal * (1 - 1e-9)

    @property
    def certificate_violations(self) -> int:
        """Points where DeepFool is below the certified radius (never if both right)."""
        return int((self.deepfool < self.sample.certified * (1 - 1e-9)).sum())


def _task(
    d, ell, m, *, ensemble, n, n_test, init_scale, labels, lr, max_steps, seed, net_seed
):
    P = Subspace.random(d, ell, seed=seed)
    X, y = make_dataset(P, n + n_test, seed=seed + 1, labels=labels)
    net = TwoLayerReLU(
        d,
        m,
        ensemble=ensemble,
        init_scale=init_scale,
        seed=seed + 2 if net_seed is None else net_seed,
    )
    return P, X, y, net, dict(optimizer="gd", lr=lr, max_steps=max_steps)


_DEFAULTS = dict(
    n=100,
    n_test=100,
    init_scale="standard",
    labels="random",
    lr=0.5,
    max_steps=2000,
    seed=0,
    net_seed=None,
)


def sandwich_sweep(
    configs, *, attack: bool = True, unconstrained: bool = False, **common
) -> list[SandwichSample]:
    """Gradient-descent :func:`advsub.attack_sweep` plus the raw DeepFool size.

    ``configs``: dicts of ``d, ell, m, ensemble, n, n_test, init_scale, labels, lr,
    max_steps, seed, net_seed`` (or in ``common``); all trained by one
    :func:`advsub.train_sweep` call. ``attack=False`` skips both attacks
    (``deepfool`` is then an array of nan).
    """
    built = []
    for i, cfg in enumerate(configs):
        kw = {**_DEFAULTS, **common, **cfg}
        unknown = set(kw) - set(_DEFAULTS) - {"d", "ell", "m", "ensemble"}
        if unknown:
            raise TypeError(f"configs[{i}]: unknown arguments {sorted(unknown)}")
        d, ell, m = kw.pop("d"), kw.pop("ell"), kw.pop("m")
        built.append(_task(d, ell, m, **kw) + (kw["n"],))
    tasks = [(net, X[:n], y[:n], kw) for P, X, y, net, kw, n in built]
    histories = train_sweep(tasks, progress=False)
    out = []
    for (P, X, y, net, _, n), hist in zip(built, histories):
        # the library's attack is min(DeepFool, universal): computed from the raw
        # DeepFool size below instead of running DeepFool twice (the same numbers)
        smp = attack_sample(
            net, X[n:], P, y=y[n:], attack=False, unconstrained=unconstrained
        )
        smp.reached, smp.steps = hist.reached.numpy(), hist.steps.numpy()
        smp.train_margin = hist.final_margin.numpy()
        if attack:
            raw = deepfool_orthogonal(net, X[n:], P).numpy()
            smp.orthogonal = np.minimum(raw, smp.universal)
        else:
            raw = np.full(smp.output.shape, np.nan)
        train_k = net.active(X[:n]).sum(-1).numpy()
        out.append(SandwichSample(smp, raw, train_k))
    return out


def sandwich_experiment(
    d: int,
    ell: int,
    m: int,
    *,
    ensemble: int,
    attack: bool = True,
    unconstrained: bool = False,
    **kwargs,
) -> SandwichSample:
    """One configuration of :func:`sandwich_sweep`."""
    config = dict(d=d, ell=ell, m=m, ensemble=ensemble, **kwargs)
    return sandwich_sweep([config], attack=attack, unconstrained=unconstrained)[0]
