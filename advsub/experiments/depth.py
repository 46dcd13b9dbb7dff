"""Deeper networks (chapter 06): the exact law at depth, depth/width sweeps over seeds.

* :func:`deep_law_sample` — one held-out point per network for many independent deep
  networks: the statistic ‖Π∇N(x0)‖² / (β²‖δ_1(x0)‖²), which is exactly χ²_ℓ by the
  book's deep invariance theorem, and the drift of ΠW_1 during training.
* :func:`depth_run` — one network shape trained on ``S`` independent draws (subspace,
  training data, held-out points and networks all change with the seed), measured at
  every held-out point: the orthogonal gradient and its typical value, the smallest flip
  in P⊥, the smallest unconstrained flip and the deep certified radius.

Sizes are in input units (‖x0‖ = √d for the book's data).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats

import advsub

__all__ = [
    "DeepLawSample",
    "deep_law_sample",
    "DepthRun",
    "depth_run",
    "mean_and_spread",
]


def _int(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {name}={value!r}")
    if value < low:
        raise ValueError(f"{name} must be an int ≥ {low}, got {name}={value!r}")
    return int(value)


def _widths(widths) -> list[int]:
    if isinstance(widths, (int, str)) or not hasattr(widths, "__len__") or not widths:
        raise TypeError(
            "widths must be a non-empty sequence of ints such as [40, 40], "
            f"got widths={widths!r}"
        )
    return [_int(f"widths[{i}]", w) for i, w in enumerate(widths)]


def _train(net, X, y, **kwargs):
    """advsub.train without the DeadPointWarning: the experiments report the networks
    with dead training points themselves (``dead``), next to those that reached the
    margin."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", advsub.DeadPointWarning)
        return advsub.train(net, X, y, progress=False, **kwargs)


def _seeds(seeds) -> list[int]:
    if isinstance(seeds, (int, str)) or not hasattr(seeds, "__iter__"):
        raise TypeError(
            f"seeds must be a sequence of ints such as range(5), got seeds={seeds!r}"
        )
    seeds = [_int("seeds[i]", s, low=0) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be non-empty and distinct, got seeds={seeds!r}")
    return seeds


@dataclass(frozen=True)
class DeepLawSample:
    """One held-out point per deep network: the statistic that is exactly χ²_ℓ.

    Attributes
    ----------
    statistic : ndarray (K,)
        ‖Π∇N(x0)‖² / (β²‖δ_1(x0)‖²) for the K networks with δ_1(x0) ≠ 0.
    ell : int
        dim P⊥, the degrees of freedom of the law.
    reached : float
        Fraction of the networks that reached the target margin.
    dead : float
        Fraction of the networks left with a dead training point (every hidden neuron
        off there, so its margin cannot move; ``TrainingHistory.dead_points``).
    drift : float
        max |ΠW_1(t) − ΠW_1(0)| over all entries and networks (0 up to rounding).
    """

    statistic: np.ndarray
    ell: int
    reached: float
    dead: float
    drift: float

    @property
    def ks_pvalue(self) -> float:
        """Kolmogorov–Smirnov p-value of ``statistic`` against χ²_ℓ."""
        return float(stats.kstest(self.statistic, stats.chi2(self.ell).cdf).pvalue)


def deep_law_sample(
    *,
    d: int = 20,
    ell: int = 10,
    widths=(16, 16),
    n: int = 20,
    ensemble: int = 600,
    lr: float = 0.3,
    max_steps: int = 400,
    seed: int = 0,
) -> DeepLawSample:
    """Train ``ensemble`` independent deep nets on one data set; one test point for all.

    The subspace is drawn with ``seed``, the training data with ``seed + 1``, the
    networks with ``seed + 2`` and the held-out point with ``seed + 3``. Each network is
    an independent draw, so the K values of the statistic are independent.
    """
    d, ell, n = _int("d", d), _int("ell", ell), _int("n", n)
    if ell >= d:
        raise ValueError(f"ell must be smaller than d={d}, got ell={ell}")
    widths, ensemble = _widths(widths), _int("ensemble", ensemble)
    seed = _int("seed", seed, low=0)
    P = advsub.Subspace.random(d, ell, seed=seed)
    X, y = advsub.make_dataset(P, n, seed=seed + 1)
    net = advsub.DeepReLU(d, widths, ensemble=ensemble, seed=seed + 2)
    hist = _train(net, X, y, lr=lr, max_steps=max_steps)
    x0, _ = advsub.make_dataset(P, 1, seed=seed + 3)
    g2 = advsub.orthogonal_gradient(net, x0, P)[:, 0].norm(dim=-1) ** 2
    s2 = net.first_layer_signal(x0)[:, 0].pow(2).sum(-1)
    keep = s2 > 0
    drift = float((P.project_orth(net.W) - P.project_orth(net.W0)).abs().max())
    return DeepLawSample(
        statistic=(g2[keep] / (net.beta**2 * s2[keep])).numpy(),
        ell=ell,
        reached=float(hist.reached.double().mean()),
        dead=float((hist.dead_points > 0).double().mean()),
        drift=drift,
    )


@dataclass(frozen=True)
class DepthRun:
    """One network shape measured on S independent seeds.

    Arrays of shape (S, E·n_test) hold one value per (network, held-out point) and
    seed; arrays of shape (S,) one value per seed.

    Attributes
    ----------
    widths : list of int
        Hidden widths; depth = len(widths) + 1 weight layers.
    seeds : list of int
    d, ell : int
    reached : ndarray (S,)
        Fraction of the seed's networks that reached the target margin.
    dead : ndarray (S,)
        Fraction of the seed's networks left with a dead training point.
    margin : ndarray (S,)
        Smallest final training margin y_j N(x_j) over the seed's networks.
    drift : ndarray (S,)
        max |ΠW_1(t) − ΠW_1(0)| (0 up to rounding under GD).
    grad : ndarray (S, E·n_test)
        ‖Π∇N(x0)‖.
    pred : ndarray (S, E·n_test)
        Its typical value (1 − ηλ)^t β√ℓ‖δ_1(x0)‖ (the factor is 1 without decay).
    size, free : ndarray (S, E·n_test)
        Smallest flip found in P⊥ (``orthogonal_attack``) and in R^d
        (``unconstrained_attack``), ``inf`` where none was found.
    out : ndarray (S, E·n_test)
        |N(x0)|.
    cert : ndarray (S, E·n_test)
        Deep certified radius in P⊥ (no smaller z ∈ P⊥ flips x0).
    """

    widths: list
    seeds: list
    d: int
    ell: int
    reached: np.ndarray
    dead: np.ndarray
    margin: np.ndarray
    drift: np.ndarray
    grad: np.ndarray
    pred: np.ndarray
    size: np.ndarray
    free: np.ndarray
    out: np.ndarray
    cert: np.ndarray
    _keys: tuple = field(
        default=("grad", "pred", "size", "free", "out", "cert"), repr=False
    )

    @property
    def depth(self) -> int:
        return len(self.widths) + 1

    def seed_medians(self, key: str) -> np.ndarray:
        """Median over the (network, point) pairs of each seed: (S,).

        ``key`` is an array attribute or ``"flip/out"`` (the flip relative to |N(x0)|).
        """
        if key == "flip/out":
            with np.errstate(divide="ignore", invalid="ignore"):  # N(x0) = 0: no flip
                return np.median(self.size / self.out, axis=1)
        if key not in self._keys:
            raise ValueError(
                f"key must be one of {self._keys + ('flip/out',)}, got key={key!r}"
            )
        return np.median(getattr(self, key), axis=1)

    def flip_rate(self, budget: float) -> np.ndarray:
        """Fraction of pairs flipped in P⊥ within ``budget``, per seed: (S,)."""
        return np.mean(self.size <= budget, axis=1)


def depth_run(
    widths,
    *,
    seeds=range(5),
    d: int = 60,
    ell: int = 30,
    n: int = 40,
    n_test: int = 20,
    ensemble: int = 4,
    init_scale="standard",
    weight_decay: float = 0.0,
    lr: float = 0.3,
    max_steps: int = 3000,
    target_margin: float = 0.3,
) -> DepthRun:
    """Train and measure ``DeepReLU(d, widths)`` ensembles on independent draws.

    For seed s the subspace is ``Subspace.random(d, ell, seed=4s)``, the ``n``
    random-label training points and the ``n_test`` held-out points use seeds 4s + 1
    and 4s + 2, and the ``ensemble`` networks seed 4s + 3; so s = 0 is the book's
    original draw and every other seed is a fresh subspace, data set and
    initialisation. Training is full-batch GD (``advsub.train``) with the given
    step, weight decay and stopping rule.
    """
    widths, seeds = _widths(widths), _seeds(seeds)
    d, ell, n = _int("d", d), _int("ell", ell), _int("n", n)
    n_test, ensemble = _int("n_test", n_test), _int("ensemble", ensemble)
    if ell >= d:
        raise ValueError(f"ell must be smaller than d={d}, got ell={ell}")
    per_seed = []
    for s in seeds:
        P = advsub.Subspace.random(d, ell, seed=4 * s)
        X, y = advsub.make_dataset(P, n, seed=4 * s + 1)
        Xt, _ = advsub.make_dataset(P, n_test, seed=4 * s + 2)
        net = advsub.DeepReLU(
            d, widths, ensemble=ensemble, seed=4 * s + 3, init_scale=init_scale
        )
        h = _train(
            net,
            X,
            y,
            lr=lr,
            weight_decay=weight_decay,
            max_steps=max_steps,
            target_margin=target_margin,
        )
        _, size = advsub.orthogonal_attack(net, Xt, P)
        _, free = advsub.unconstrained_attack(net, Xt)
        signal = net.first_layer_signal(Xt).pow(2).sum(-1)
        # weight decay shrinks ΠW_1 by exactly (1 − ηλ)^t (t = the member's steps)
        factor = advsub.theory.weight_decay_factor(lr, weight_decay, h.steps.numpy())
        factor = torch.as_tensor(np.asarray(factor, dtype=float))[:, None]
        per_seed.append(
            dict(
                reached=float(h.reached.double().mean()),
                dead=float((h.dead_points > 0).double().mean()),
                margin=float(h.final_margin.min()),
                drift=float(
                    (P.project_orth(net.W) - P.project_orth(net.W0)).abs().max()
                ),
                grad=advsub.orthogonal_gradient(net, Xt, P).norm(dim=-1),
                pred=factor * net.beta * (ell * signal).sqrt(),
                size=size,
                free=free,
                out=net(Xt).abs(),
                cert=advsub.attacks.deep_certified_orthogonal_radius(net, Xt, P),
            )
        )

    def stack(key):
        values = [r[key] for r in per_seed]
        if isinstance(values[0], float):
            return np.asarray(values)
        return np.stack([v.flatten().numpy() for v in values])

    return DepthRun(
        widths=widths,
        seeds=seeds,
        d=d,
        ell=ell,
        **{
            k: stack(k)
            for k in (
                "reached",
                "dead",
                "margin",
                "drift",
                "grad",
                "pred",
                "size",
                "free",
                "out",
                "cert",
            )
        },
    )


def mean_and_spread(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) of per-seed values (K ≥ 2)."""
    v = np.asarray(values, float)
    if v.ndim != 1 or v.size < 2:
        raise ValueError(
            "values must be a 1-d array of at least 2 per-seed values, "
            f"got shape {v.shape}"
        )
    return float(v.mean()), float(v.std(ddof=1))
