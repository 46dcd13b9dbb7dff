"""Attack samples: every size of the chapters' sandwich on a trained ensemble, and
sweeps of them.

:func:`attack_sample` measures N, k, ‖Π∇N‖, the certificate, the universal step and the
attacks of :mod:`advsub.attacks` at held-out points; :func:`attack_experiment` trains an
ensemble and measures it; :func:`attack_sweep` does that for many configurations with
one batched training loop (:func:`advsub.train_sweep`).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import numpy as np

from .. import theory
from .._validation import (
    Boolean,
    Integer,
    check_labels,
    check_net_points,
    check_params,
    validate_params,
)
from ..attacks import (
    STEPS,
    check_dimensions,
    SUBSPACE,
    TWO_LAYER,
    certified_orthogonal_radius,
    orthogonal_attack,
    unconstrained_attack,
    universal_perturbation,
)
from ..geometry import Subspace, make_dataset
from ..network import TwoLayerReLU
from ..training import train, train_sweep

__all__ = ["AttackSample", "attack_sample", "attack_experiment", "attack_sweep"]

# The experiment's own parameters (the rest are checked where they are used:
# Subspace.random,
# make_dataset, TwoLayerReLU, train).
EXPERIMENT_SPEC = {
    "ensemble": Integer(low=1),
    "n": Integer(low=1),
    "n_test": Integer(low=1),
    "attack": Boolean(),
    "unconstrained": Boolean(),
}


@dataclass
class AttackSample:
    """Every size of the chapters' sandwich at every held-out point x0 ∈ P of every
    member.

    Arrays of shape (E, n) unless said otherwise (numpy, float64); an attack that was
    not run is ``None``. ``inf`` marks points that an attack did not flip.

    Attributes
    ----------
    d, ell, m : int;  beta : float
    output : N(x0).    k : number of active neurons at x0.    label : held-out label (or
        None).
    orth_grad : ‖Π∇N(x0)‖.
    certified : :func:`certified_orthogonal_radius`.
    universal, flipped : :func:`universal_perturbation` (size, bool).
    orthogonal : l2 size of :func:`orthogonal_attack`.   unconstrained : of
        :func:`unconstrained_attack`.
    reached, steps : (E,) from training;  train_margin : (E,) final minimum margin.
    """

    d: int
    ell: int
    m: int
    beta: float
    output: np.ndarray
    k: np.ndarray
    label: np.ndarray | None
    orth_grad: np.ndarray
    certified: np.ndarray
    universal: np.ndarray
    flipped: np.ndarray
    orthogonal: np.ndarray | None = None
    unconstrained: np.ndarray | None = None
    reached: np.ndarray | None = None
    steps: np.ndarray | None = None
    train_margin: np.ndarray | None = None

    @property
    def predicted(self) -> np.ndarray:
        """Theorem B's size |N(x0)|·m/(kβ√ℓ)
        (:func:`advsub.theory.predicted_universal_size`)."""
        return theory.predicted_universal_size(
            self.output, self.k, self.m, self.d, self.ell, beta=self.beta
        )

    @property
    def accuracy(self) -> np.ndarray:
        """(E,) held-out accuracy sign N(x0) = y0 (points with N(x0) = 0 count as
        errors)."""
        if self.label is None:
            raise ValueError("this sample has no held-out labels (labels=None)")
        return (np.sign(self.output) == self.label).mean(axis=1)

    def flip_rate(self, budget: float = math.inf) -> float:
        """Fraction of points flipped by a universal step of norm ≤ ``budget``."""
        return float((self.flipped & (self.universal <= budget)).mean())

    def __repr__(self) -> str:
        return (
            f"AttackSample(d={self.d}, ell={self.ell}, m={self.m}, "
            f"beta={self.beta:.3g}, "
            f"points={self.output.shape}, flip rate={self.flip_rate():.3f})"
        )


@validate_params(
    {
        "net": TWO_LAYER,
        "subspace": SUBSPACE,
        "attack": Boolean(),
        "unconstrained": Boolean(),
        "steps": STEPS,
    }
)
def attack_sample(
    net: TwoLayerReLU,
    x,
    subspace: Subspace,
    *,
    y=None,
    attack: bool = True,
    unconstrained: bool = False,
    steps: int = 50,
) -> AttackSample:
    """Measure N, k, ‖Π∇N‖, the certificate, the universal step and (optionally) the
    attacks at x.

    ``x`` (n, d) or (E, n, d) points of P, ``y`` (n,) their labels or None. ``attack``:
    run
    :func:`orthogonal_attack` (l2); ``unconstrained``: run :func:`unconstrained_attack`
    too.
    """
    check_dimensions(net, subspace)
    x = check_net_points("x", x, net, subspace=subspace)
    if y is not None:
        y = check_labels("y", y, x.shape[-2], dtype=net.dtype, device=net.device)
    np_ = lambda t: t.detach().cpu().numpy().astype(np.float64)  # noqa: E731
    size, flipped = universal_perturbation(net, x, subspace)
    C = subspace.orth_basis.to(net.device, net.dtype)
    return AttackSample(
        d=net.d,
        ell=subspace.ell,
        m=net.m,
        beta=net.beta,
        output=np_(net._forward(x)),
        k=np_(net._preactivation(x) > 0).sum(-1),
        label=None if y is None else np_(y),
        orth_grad=np_((net._input_gradient(x) @ C).norm(dim=-1)),
        certified=np_(certified_orthogonal_radius(net, x, subspace)),
        universal=np_(size),
        flipped=flipped.cpu().numpy(),
        orthogonal=np_(orthogonal_attack(net, x, subspace, steps=steps)[1])
        if attack
        else None,
        unconstrained=np_(unconstrained_attack(net, x, steps=steps)[1])
        if unconstrained
        else None,
    )


def attack_experiment(
    d: int,
    ell: int,
    m: int,
    *,
    ensemble: int,
    n: int = 100,
    n_test: int = 100,
    init_scale="standard",
    labels: str = "random",
    optimizer: str = "gd",
    lr: float = 0.5,
    max_steps: int = 2000,
    weight_decay: float = 0.0,
    attack: bool = True,
    unconstrained: bool = False,
    seed: int = 0,
) -> AttackSample:
    """Train an ensemble on n points of a random P and measure :func:`attack_sample` on
    n_test held-out points.

    The n + n_test points come from one draw of :func:`advsub.make_dataset` (so with
    ``labels="linear"`` the held-out labels follow the same halfspace). Seeds: subspace
    ``seed``, data ``seed + 1``, networks ``seed + 2``.
    """
    task, finish = _attack_task(
        d,
        ell,
        m,
        ensemble=ensemble,
        n=n,
        n_test=n_test,
        init_scale=init_scale,
        labels=labels,
        optimizer=optimizer,
        lr=lr,
        max_steps=max_steps,
        weight_decay=weight_decay,
        attack=attack,
        unconstrained=unconstrained,
        seed=seed,
    )
    net, X, y, kw = task
    return finish(train(net, X, y, progress=False, **kw))


def _attack_task(
    d,
    ell,
    m,
    *,
    ensemble,
    n,
    n_test,
    init_scale,
    labels,
    optimizer,
    lr,
    max_steps,
    weight_decay,
    attack,
    unconstrained,
    seed,
):
    """The set-up of :func:`attack_experiment`: ((net, X, y, train kwargs), history ↦
    AttackSample)."""
    checked = check_params(
        EXPERIMENT_SPEC,
        dict(
            ensemble=ensemble,
            n=n,
            n_test=n_test,
            attack=attack,
            unconstrained=unconstrained,
        ),
    )
    ensemble, n, n_test = checked["ensemble"], checked["n"], checked["n_test"]
    attack, unconstrained = checked["attack"], checked["unconstrained"]
    P = Subspace.random(d, ell, seed=seed)
    X, y = make_dataset(P, n + n_test, seed=seed + 1, labels=labels)
    net = TwoLayerReLU(d, m, ensemble=ensemble, init_scale=init_scale, seed=seed + 2)

    def finish(hist):
        sample = attack_sample(
            net, X[n:], P, y=y[n:], attack=attack, unconstrained=unconstrained
        )
        sample.reached, sample.steps = (
            hist.reached.cpu().numpy(),
            hist.steps.cpu().numpy(),
        )
        sample.train_margin = hist.final_margin.cpu().numpy()
        return sample

    kw = dict(
        optimizer=optimizer, lr=lr, max_steps=max_steps, weight_decay=weight_decay
    )
    return (net, X[:n], y[:n], kw), finish


def _defaults(func) -> dict:
    """The keyword defaults of ``func``'s signature (one source for the sweep's
    defaults)."""
    return {
        k: p.default
        for k, p in inspect.signature(func).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def attack_sweep(configs, *, progress: bool = True, **common) -> list[AttackSample]:
    """:func:`attack_experiment` for many configurations, trained together by
    :func:`advsub.train_sweep`.

    ``configs`` is a sequence of dicts of :func:`attack_experiment`'s arguments (``d``,
    ``ell``, ``m`` and ``ensemble`` required, either there or in ``common``, which holds
    the settings shared by all). Configurations of equal shape share one batched
    training loop; each result equals that of its own :func:`attack_experiment` call (GD
    or momentum, to rounding). Returns one :class:`AttackSample` per config, in order.
    """
    tasks, finishers = [], []
    for i, cfg in enumerate(configs):
        defaults = _defaults(attack_experiment)
        kw = {**defaults, **common, **cfg}
        missing = {"d", "ell", "m", "ensemble"} - set(kw)
        if missing:
            raise ValueError(
                f"configs[{i}] needs {sorted(missing)} (in the config or as common "
                "arguments)"
            )
        unknown = set(kw) - set(inspect.signature(attack_experiment).parameters)
        if unknown:
            raise TypeError(
                f"configs[{i}]: unknown attack_experiment arguments {sorted(unknown)}"
            )
        d, ell, m = kw.pop("d"), kw.pop("ell"), kw.pop("m")
        (net, X, y, train_kw), finish = _attack_task(d, ell, m, **kw)
        tasks.append((net, X, y, train_kw))
        finishers.append(finish)
    histories = train_sweep(tasks, progress=progress, desc="attack sweep")
    return [finish(h) for finish, h in zip(finishers, histories)]
