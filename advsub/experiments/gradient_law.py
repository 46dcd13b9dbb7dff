"""Measurements of Theorem A: one orthogonal gradient per trained network, and the
invariance lemma.

Theorem A is a statement about *one* point x0 and a *fresh* network. Values at
several points of one network share that network's weights and are strongly
dependent, so every sample here takes exactly one held-out point per member of
an ensemble: the E values are then independent draws of the theorem's law.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import theory
from .._validation import (
    Choice,
    Integer,
    Seed,
    check_params,
    check_tensor,
    validate_params,
)
from ..attacks import SUBSPACE, TWO_LAYER, check_dimensions, orthogonal_gradient
from ..geometry import Subspace, make_dataset
from ..network import TwoLayerReLU
from ..training import train, train_sweep

__all__ = [
    "GradientSample",
    "orthogonal_gradient_sample",
    "gradient_law_experiment",
    "invariance_deviation",
    "gradient_law_sweep",
]

# The experiment's own parameters (the rest are checked where they are used).
EXPERIMENT_SPEC = {
    "ensemble": Integer(low=1),
    "n": Integer(low=1),
    "subspace": Choice({"random", "axis"}),
    "seed": Seed(),
}


@dataclass
class GradientSample:
    """One measurement of ‖Π∇N(x0)‖ per ensemble member (one held-out x0 per network).

    Attributes
    ----------
    sq_norm : np.ndarray, shape (E,), float64
        ‖Π∇ₓN_e(x0_e)‖².
    k : np.ndarray, shape (E,), int64
        Number of neurons active at x0_e, k = |I(x0_e)|.
    d, ell, m : int
    beta : float
        Initialisation scale β of the network.
    reached : np.ndarray, shape (E,), bool
        Whether each member reached the target margin (all True if not trained here).
    """

    sq_norm: np.ndarray
    k: np.ndarray
    d: int
    ell: int
    m: int
    beta: float
    reached: np.ndarray

    @property
    def norm(self) -> np.ndarray:
        """‖Π∇N(x0)‖, shape (E,)."""
        return np.sqrt(self.sq_norm)

    @property
    def valid(self) -> np.ndarray:
        """Members with k ≥ 1 (with k = 0 the gradient is exactly 0 and the law
        degenerate), shape (E,)."""
        return self.k > 0

    @property
    def statistic(self) -> np.ndarray:
        """‖Π∇N(x0)‖² · m / (k β²) for the members with k ≥ 1: exactly χ²_ℓ under
        Theorem A. Shape (E',)."""
        v = self.valid
        return self.sq_norm[v] * self.m / (self.k[v] * self.beta**2)

    def lower_bound(self) -> np.ndarray:
        """Theorem A's bound √(kℓβ²/(2m)) for each member with k ≥ 1
        (:func:`advsub.theory.gradient_lower_bound`), (E',)."""
        return np.asarray(
            theory.gradient_lower_bound(
                self.k[self.valid], self.ell, self.m, self.d, self.beta
            )
        )

    def lower_bound_holds(self) -> np.ndarray:
        """Whether ‖Π∇N(x0)‖ ≥ √(kℓβ²/(2m)), for each member with k ≥ 1: bool (E',)."""
        return self.norm[self.valid] >= self.lower_bound()

    def __len__(self) -> int:
        return self.sq_norm.shape[0]

    def __repr__(self) -> str:
        return (
            f"GradientSample(E={len(self)}, d={self.d}, ell={self.ell}, m={self.m}, "
            f"beta={self.beta:.4g}, "
            f"mean k={self.k.mean():.1f}, mean norm={self.norm.mean():.4g})"
        )


@validate_params({"net": TWO_LAYER, "subspace": SUBSPACE})
def orthogonal_gradient_sample(
    net: TwoLayerReLU, subspace: Subspace, x0, *, reached=None
) -> GradientSample:
    """Measure ‖Π∇N(x0)‖² and k at one point per member.

    Parameters
    ----------
    net : TwoLayerReLU
        An ensemble of E networks (trained or not), without biases.
    subspace : Subspace
        The data subspace P.
    x0 : tensor, shape (E, d)
        Row e is the held-out point of member e; it must lie in P.
    reached : array-like of bool, shape (E,), optional
        Stored as ``GradientSample.reached`` (all True by default).

    Returns
    -------
    GradientSample
    """
    check_dimensions(net, subspace)
    x0 = check_tensor(
        "x0", x0, ndim=2, dtype=net.dtype, device=net.device, last_dim=net.d
    )
    if x0.shape[0] != net.ensemble:
        raise ValueError(
            f"x0 must have one row per ensemble member ({net.ensemble}), got shape "
            f"{tuple(x0.shape)}"
        )
    g = orthogonal_gradient(net, x0[:, None, :], subspace)[:, 0, :]  # (E, ℓ)
    k = net.active(x0[:, None, :])[:, 0, :].sum(dim=-1)  # (E,)
    reached = (
        np.ones(net.ensemble, dtype=bool)
        if reached is None
        else np.asarray(reached, dtype=bool)
    )
    if reached.shape != (net.ensemble,):
        raise ValueError(
            f"reached must have shape ({net.ensemble},), got {reached.shape}"
        )
    return GradientSample(
        sq_norm=(g.double() ** 2).sum(dim=-1).cpu().numpy(),
        k=k.cpu().numpy().astype(np.int64),
        d=net.d,
        ell=subspace.ell,
        m=net.m,
        beta=net.beta,
        reached=reached,
    )


def gradient_law_experiment(
    d: int,
    ell: int,
    m: int,
    *,
    ensemble: int,
    n: int = 20,
    init_scale="standard",
    subspace: str = "random",
    optimizer: str = "gd",
    lr: float = 0.5,
    max_steps: int = 2000,
    weight_decay: float = 0.0,
    train_second_layer: bool = False,
    labels: str = "random",
    seed: int = 0,
) -> GradientSample:
    """Train an ensemble on data in P and measure ‖Π∇N(x0)‖ at one fresh held-out x0 ∈ P
    per member.

    All members share the training set (n points on the sphere of radius √d in P)
    and differ by their initialisation; member e is evaluated at its own held-out
    point. Given the data, the E values are independent, and under Theorem A each
    ``statistic`` is exactly χ²_ℓ.

    Parameters
    ----------
    d, ell, m : int
        Ambient dimension, dim P⊥, width.
    ensemble : int
        Number E of independent networks (= number of independent values).
    n : int
        Training points.
    init_scale : {"standard", "small"} or float
        β (see :class:`advsub.TwoLayerReLU`).
    subspace : {"random", "axis"}
        A Haar-random P or the span of the first d − ℓ coordinate axes.
    optimizer, lr, max_steps, weight_decay, train_second_layer
        Passed to :func:`advsub.train`.
    labels : {"random", "linear"}
        Passed to :func:`advsub.make_dataset`.
    seed : int
        One seed for everything (subspace, data, initialisation, minibatches, held-out
        points).

    Returns
    -------
    GradientSample
    """
    task, finish = _gradient_law_task(
        d,
        ell,
        m,
        ensemble=ensemble,
        n=n,
        init_scale=init_scale,
        subspace=subspace,
        labels=labels,
        seed=seed,
    )
    net, X, y, s_train = task
    history = train(
        net,
        X,
        y,
        optimizer=optimizer,
        lr=lr,
        max_steps=max_steps,
        weight_decay=weight_decay,
        train_second_layer=train_second_layer,
        progress=False,
        seed=s_train,
    )
    return finish(history)


def _gradient_law_task(d, ell, m, *, ensemble, n, init_scale, subspace, labels, seed):
    """The set-up of :func:`gradient_law_experiment`: ((net, X, y, training seed),
    history ↦ GradientSample)."""
    checked = check_params(
        EXPERIMENT_SPEC, dict(ensemble=ensemble, n=n, subspace=subspace, seed=seed)
    )
    ensemble, n, subspace, seed = (
        checked["ensemble"],
        checked["n"],
        checked["subspace"],
        checked["seed"],
    )
    s_sub, s_data, s_net, s_train, s_test = (
        int(s) for s in np.random.SeedSequence(seed).generate_state(5) >> 1
    )
    P = (
        Subspace.random(d, ell, seed=s_sub)
        if subspace == "random"
        else Subspace.axis_aligned(d, ell)
    )
    X, y = make_dataset(P, n, seed=s_data, labels=labels)
    net = TwoLayerReLU(d, m, ensemble=ensemble, init_scale=init_scale, seed=s_net)

    def finish(history):
        x0, _ = make_dataset(P, ensemble, seed=s_test)
        return orthogonal_gradient_sample(
            net, P, x0, reached=history.reached.cpu().numpy()
        )

    return (net, X, y, s_train), finish


def gradient_law_sweep(
    configs,
    *,
    ensemble: int,
    n: int = 20,
    init_scale="standard",
    subspace: str = "random",
    lr: float = 0.5,
    max_steps: int = 2000,
    labels: str = "random",
    progress: bool = True,
) -> list[GradientSample]:
    """:func:`gradient_law_experiment` for many configurations, trained together by
    :func:`advsub.train_sweep`.

    ``configs`` is a sequence of dicts with keys ``d``, ``ell``, ``m`` and ``seed``; the
    result for each equals ``gradient_law_experiment(d, ell, m, seed=seed, ...)`` (GD,
    to rounding) but configurations of equal shape share one batched training loop.
    Returns one :class:`GradientSample` per config, in order.
    """
    tasks, finishers = [], []
    for i, cfg in enumerate(configs):
        missing = {"d", "ell", "m", "seed"} - set(cfg)
        if missing:
            raise ValueError(
                f"configs[{i}] must have keys d, ell, m and seed, missing "
                f"{sorted(missing)}"
            )
        (net, X, y, _), finish = _gradient_law_task(
            cfg["d"],
            cfg["ell"],
            cfg["m"],
            ensemble=ensemble,
            n=n,
            init_scale=init_scale,
            subspace=subspace,
            labels=labels,
            seed=cfg["seed"],
        )
        tasks.append((net, X, y))
        finishers.append(finish)
    histories = train_sweep(
        tasks, lr=lr, max_steps=max_steps, progress=progress, desc="gradient law sweep"
    )
    return [finish(h) for finish, h in zip(finishers, histories)]


@validate_params({"net": TWO_LAYER, "subspace": SUBSPACE})
def invariance_deviation(net: TwoLayerReLU, subspace: Subspace, factor=None) -> float:
    r"""max over members, neurons and P⊥ coordinates of |Cᵀw_i(t) − f_e Cᵀw_i(0)|.

    The invariance lemma predicts 0 (up to rounding) with ``factor`` f_e = 1 for
    GD, SGD and momentum, and :math:`f_e = (1 - \eta\lambda)^{t_e}` with weight decay
    (:func:`advsub.theory.weight_decay_factor` of each member's step count).

    Parameters
    ----------
    net : TwoLayerReLU
    subspace : Subspace
    factor : float or array-like of shape (E,), optional
        The predicted shrinkage of Π w per member (1 by default).
    """
    check_dimensions(net, subspace)
    f = (
        torch.ones(net.ensemble, dtype=torch.float64)
        if factor is None
        else torch.as_tensor(np.asarray(factor, dtype=np.float64))
    )
    if f.ndim == 0:
        f = f.expand(net.ensemble)
    if f.shape != (net.ensemble,):
        raise ValueError(
            f"factor must be a scalar or have shape ({net.ensemble},), got shape "
            f"{tuple(f.shape)}"
        )
    C = subspace.orth_basis.to(net.device, torch.float64)
    now = net.W.double() @ C  # (E, m, ℓ)
    then = net.W0.double() @ C
    return float((now - f.to(net.device)[:, None, None] * then).abs().max())
