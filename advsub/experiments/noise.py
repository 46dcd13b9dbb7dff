"""Off the subspace: training data at distance σ from P; the invariance and Theorem A
degrade.

The invariance lemma needs every training point in P: then each update of w_i is a
combination of points of P and Π w_i never moves. With x_j = p_j + ξ_j, ξ_j ∈ P⊥ of norm
σ, each update has a P⊥ part Σ_j c_ij ξ_j, so Π w_i(t) − Π w_i(0) = Σ_j α_ij(t) ξ_j is
of order σ and the orthogonal gradient at a clean x0 ∈ P is no longer the frozen
Gaussian sum of Theorem A. This module trains one ensemble per σ (one batched call) and
measures both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import (
    TwoLayerReLU,
    expected_orthogonal_gradient_norm,
    orthogonal_gradient,
    train_sweep,
)
from .._validation import check_float, check_int, check_seed, check_tensor
from ..geometry import Subspace
from .trained_vs_random import NO_MARGIN_STOP, TeacherTask, one_step_attack

__all__ = ["off_subspace", "NoisePoint", "noise_sweep"]


def off_subspace(X, subspace: Subspace, sigma: float, *, seed: int) -> torch.Tensor:
    """X + ξ with ξ_j uniform on the sphere of radius σ in P⊥: every row at distance
    exactly σ from P if X lies in P. X (n, d) float64 → (n, d); σ = 0 returns X + 0."""
    if not isinstance(subspace, Subspace):
        raise TypeError(f"subspace must be a Subspace, got {type(subspace).__name__}")
    X = check_tensor("X", X, ndim=2, dtype=torch.float64, last_dim=subspace.d)
    sigma = check_float("sigma", sigma, low=0.0)
    g = torch.Generator(device="cpu").manual_seed(check_seed(seed))
    c = torch.randn(X.shape[0], subspace.ell, generator=g, dtype=torch.float64)
    c = c / c.norm(dim=1, keepdim=True) * sigma
    return X + (c @ subspace.orth_basis.T).to(X.device)


@dataclass
class NoisePoint:
    """One σ of :func:`noise_sweep`: arrays over members (E,) or members × probes
    (E, n).

    Attributes
    ----------
    sigma : float
        Distance of every training point from P.
    steps : (E,) steps trained;  reached : (E,) bool, margin reached
    train_acc, test_acc : (E,) accuracy on the noisy training data and on clean held-out
        points of P
    orth_movement : (E,)
        ‖Π(W − W0)‖_F / ‖ΠW0‖_F (0 up to rounding when σ = 0: the invariance lemma).
    orth_grad, orth_grad_predicted : (E, n)
        ‖Π∇N(x0)‖ at clean held-out x0 ∈ P and Theorem A's mean given k, β√(k/m)·E χ_ℓ.
    step_orth : (E, n)
        Exact one-step flipping size along −sign(N)·Π∇N(x0).
    """

    sigma: float
    steps: np.ndarray
    reached: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    orth_movement: np.ndarray
    orth_grad: np.ndarray
    orth_grad_predicted: np.ndarray
    step_orth: np.ndarray

    @property
    def gradient_ratio(self) -> float:
        """mean ‖Π∇N(x0)‖ / mean prediction: 1 when Theorem A's law holds."""
        return float(self.orth_grad.mean() / self.orth_grad_predicted.mean())


def noise_sweep(
    task: TeacherTask,
    sigmas,
    *,
    m: int,
    ensemble: int,
    lr: float = 0.5,
    max_steps: int = 2000,
    target_margin: float | None = 0.3,
    n_probe: int = 100,
    seed: int,
) -> list[NoisePoint]:
    """Train one ensemble per σ on the task's points moved to distance σ from P (same
    labels, same initialisation for every σ), all in one :func:`advsub.train_sweep`
    call, with the paper's stopping rule (or for ``max_steps`` exactly when
    ``target_margin`` is None); measure the invariance and Theorem A at clean held-out
    points of P."""
    if not isinstance(task, TeacherTask):
        raise TypeError(f"task must be a TeacherTask, got {type(task).__name__}")
    sigmas = [check_float("sigmas[i]", s, low=0.0) for s in sigmas]
    if not sigmas:
        raise ValueError("sigmas must contain at least one value")
    m = check_int("m", m, low=1)
    ensemble = check_int("ensemble", ensemble, low=1)
    n_probe = check_int("n_probe", n_probe, low=1, high=task.X_test.shape[0])
    seed = check_seed(seed)
    margin = (
        NO_MARGIN_STOP
        if target_margin is None
        else check_float("target_margin", target_margin, low=0.0, low_inclusive=False)
    )
    P, d = task.subspace, task.X.shape[1]
    tasks = []
    for s in sigmas:
        # the same initialisation and the same noise directions (scaled) for every σ
        net = TwoLayerReLU(d, m, ensemble=ensemble, seed=seed)
        tasks.append((net, off_subspace(task.X, P, s, seed=(seed + 1) % 2**64), task.y))
    histories = train_sweep(
        tasks, lr=lr, max_steps=max_steps, target_margin=margin, progress=False
    )
    probe = task.X_test[:n_probe]
    return [
        _measure(net, Xs, h, task, probe, s)
        for s, (net, Xs, _), h in zip(sigmas, tasks, histories)
    ]


def _accuracy(net, X, y) -> np.ndarray:
    return (torch.sign(net(X)) == y).double().mean(-1).numpy()


def _measure(net, Xs, history, task, probe, sigma) -> NoisePoint:
    P = task.subspace
    W_orth, W0_orth = net.W @ P.orth_basis, net.W0 @ P.orth_basis
    moved = (W_orth - W0_orth).norm(dim=(1, 2)) / W0_orth.norm(dim=(1, 2))
    k = net.active(probe).sum(-1).numpy()
    predicted = expected_orthogonal_gradient_norm(k, P.ell, net.m, net.beta)
    return NoisePoint(
        sigma=sigma,
        steps=history.steps.numpy(),
        reached=history.reached.numpy(),
        train_acc=_accuracy(net, Xs, task.y),
        test_acc=_accuracy(net, task.X_test, task.y_test),
        orth_movement=moved.numpy(),
        orth_grad=orthogonal_gradient(net, probe, P).norm(dim=-1).numpy(),
        orth_grad_predicted=np.asarray(predicted, dtype=float),
        step_orth=one_step_attack(net, probe, P).step_orth,
    )
