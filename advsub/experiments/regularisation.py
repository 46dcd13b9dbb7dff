"""Weight decay (Theorem D): the measured decay of Π w along training, and the λ sweep.

With decoupled weight decay λ and step η every (S)GD step maps Π w_i to (1 − ηλ) Π w_i
(:func:`advsub.theory.weight_decay_factor`), so after t steps the frozen orthogonal
weights, the orthogonal gradient and the universal direction's strength are all
multiplied by (1 − ηλ)^t. The factor depends only on the number of steps taken, which
:class:`~advsub.training.TrainingHistory` records: :func:`orthogonal_decay_curve`
trains in chunks and measures ‖Π W(t)‖/‖Π W(0)‖ at each checkpoint, and
:func:`weight_decay_sweep` measures robustness, margin and accuracy over a list of λ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._validation import (
    InstanceOf,
    Integer,
    Real,
    check_float,
    check_int,
    validate_params,
)
from ..attacks import SUBSPACE, check_dimensions, orthogonal_lipschitz_constant
from ..geometry import Subspace, make_dataset
from ..network import TwoLayerReLU
from ..theory import weight_decay_factor
from ..training import train
from .attack_samples import AttackSample, attack_sample

__all__ = [
    "orthogonal_weight_ratio",
    "orthogonal_decay_curve",
    "SweepPoint",
    "weight_decay_sweep",
]


@validate_params(
    {"net": InstanceOf(TwoLayerReLU, "a TwoLayerReLU"), "subspace": SUBSPACE}
)
def orthogonal_weight_ratio(net: TwoLayerReLU, subspace: Subspace) -> torch.Tensor:
    """‖Π W(t)‖_F / ‖Π W(0)‖_F per member: (E,). Equals (1 − ηλ)^t under Theorem D."""
    check_dimensions(net, subspace)
    C = subspace.orth_basis.to(net.device, net.dtype)
    return (net.W @ C).norm(dim=(1, 2)) / (net.W0 @ C).norm(dim=(1, 2))


def orthogonal_decay_curve(
    net: TwoLayerReLU,
    X,
    y,
    subspace: Subspace,
    *,
    lr: float,
    weight_decay: float,
    checkpoints,
    target_margin: float = 1e9,
):
    """Train ``net`` in place by GD in chunks and record ‖Π W(t)‖/‖Π W(0)‖ at each
    checkpoint.

    GD has no optimizer state, so training to t₁ and then on to t₂ is the same
    trajectory as training to t₂ at once. A member that reaches ``target_margin`` stops
    (by default the margin is unreachable and every member takes every step).

    Parameters
    ----------
    checkpoints : increasing sequence of int ≥ 1
        Total numbers of steps at which to measure.

    Returns
    -------
    steps : numpy int array (K, E)
        Steps each member has taken at each checkpoint.
    ratio : numpy float array (K, E)
        :func:`orthogonal_weight_ratio` at each checkpoint.
    """
    checkpoints = [check_int("checkpoints[k]", c, low=1) for c in checkpoints]
    if not checkpoints or any(b <= a for a, b in zip(checkpoints, checkpoints[1:])):
        raise ValueError(
            f"checkpoints must be a non-empty increasing sequence, got {checkpoints}"
        )
    steps = np.zeros(net.ensemble, dtype=np.int64)
    out_steps, out_ratio, done = [], [], 0
    for c in checkpoints:
        hist = train(
            net,
            X,
            y,
            lr=lr,
            weight_decay=weight_decay,
            target_margin=target_margin,
            max_steps=c - done,
            progress=False,
        )
        steps = steps + hist.steps.cpu().numpy()
        done = c
        out_steps.append(steps.copy())
        out_ratio.append(orthogonal_weight_ratio(net, subspace).cpu().numpy())
    return np.stack(out_steps), np.stack(out_ratio)


@dataclass
class SweepPoint:
    """One λ of :func:`weight_decay_sweep`: the training outcome and the attack sample.

    ``steps``, ``reached``, ``margin`` (final minimum training margin) are (E,) numpy
    arrays; ``factor`` (E,) is (1 − ηλ)^steps; ``lipschitz0`` (E,) is ‖W⊥(0)‖_op‖u‖ of
    the initial network (:func:`~advsub.attacks.orthogonal_lipschitz_constant`);
    ``sample`` holds the held-out measurements (:class:`~advsub.attacks.AttackSample`:
    output, k, orth_grad, certified, universal, orthogonal, accuracy).
    """

    weight_decay: float
    steps: np.ndarray
    reached: np.ndarray
    margin: np.ndarray
    factor: np.ndarray
    lipschitz0: np.ndarray
    sample: AttackSample

    @property
    def predicted_certified(self) -> np.ndarray:
        """Theorem D's certified radius |N(x0)| / ((1 − ηλ)^t ‖W⊥(0)‖_op‖u‖): (E, n)."""
        with np.errstate(
            divide="ignore", invalid="ignore"
        ):  # a factor that underflowed to 0: inf
            return np.abs(self.sample.output) / (self.factor * self.lipschitz0)[:, None]


@validate_params(
    {
        "d": Integer(low=2),
        "ell": Integer(low=1, high=lambda p: p["d"] - 1),
        "m": Integer(low=1),
        "ensemble": Integer(low=1),
        "n": Integer(low=1),
        "n_test": Integer(low=1),
        "lr": Real(low=0.0, closed="neither"),
        "max_steps": Integer(low=1),
    }
)
def weight_decay_sweep(
    weight_decays,
    *,
    d: int,
    ell: int,
    m: int,
    ensemble: int,
    n: int = 100,
    n_test: int = 100,
    lr: float = 0.5,
    max_steps: int = 3000,
    target_margin: float = 1e9,
    attack: bool = True,
    seed: int = 0,
) -> list[SweepPoint]:
    """Train one ensemble per λ on the same data and initialisation, and measure it on
    held-out points.

    Data: ``labels="linear"`` on a random P (seed ``seed``), n training and n_test
    held-out points from one draw (seed ``seed + 1``); networks with seed ``seed + 2``
    (the same initialisation for every λ). ``target_margin`` = 1e9 (unreachable) trains
    every member for ``max_steps`` steps; 0.3 is the paper's stopping rule.
    """
    lams = [check_float("weight_decays[k]", lam, low=0.0) for lam in weight_decays]
    P = Subspace.random(d, ell, seed=seed)
    X, y = make_dataset(P, n + n_test, seed=seed + 1, labels="linear")
    out = []
    for lam in lams:
        net = TwoLayerReLU(d, m, ensemble=ensemble, seed=seed + 2)
        lip0 = orthogonal_lipschitz_constant(net, P).cpu().numpy()
        hist = train(
            net,
            X[:n],
            y[:n],
            lr=lr,
            weight_decay=lam,
            target_margin=target_margin,
            max_steps=max_steps,
            progress=False,
        )
        steps = hist.steps.cpu().numpy()
        out.append(
            SweepPoint(
                weight_decay=lam,
                steps=steps,
                reached=hist.reached.cpu().numpy(),
                margin=hist.final_margin.cpu().numpy(),
                factor=np.asarray(weight_decay_factor(lr, lam, steps), dtype=float),
                lipschitz0=lip0,
                sample=attack_sample(net, X[n:], P, y=y[n:], attack=attack),
            )
        )
    return out
