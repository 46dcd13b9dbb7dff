"""Other norms (chapter 06): ℓ∞ and ℓ1 flips in P⊥ against the ℓ2 flip, over seeds.

For an axis-aligned P (the last ℓ coordinates span P⊥) the norm of the orthogonal
coordinates is the norm of the perturbation in R^d. :func:`norm_ratio_sweep` trains one
ensemble of two-layer networks per (configuration, seed) — all of them in one
``advsub.train_sweep`` call — and attacks the held-out points with the book's ℓ2 and ℓ∞
attacks (``orthogonal_attack``) and the ℓ1 attack (``orthogonal_l1_attack``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch

import advsub

__all__ = ["NormRatios", "norm_ratio_sweep"]


@dataclass(frozen=True)
class NormRatios:
    """Size ratios at one (d, ℓ) over S seeds: arrays (S, E·n_test).

    A ratio is ``nan`` at a point that one of the three attacks did not flip.

    Attributes
    ----------
    d, ell : int
    seeds : list of int
    linf, l1 : ndarray (S, E·n_test)
        ℓ∞ size / ℓ2 size and ℓ1 size / ℓ2 size at each (network, point).
    sinf : ndarray (S, E·n_test)
        The ℓ∞ size itself (input units).
    flipped : ndarray (S,)
        Fraction of points that all three attacks flipped.
    reached : ndarray (S,)
        Fraction of the networks that reached the target margin.
    """

    d: int
    ell: int
    seeds: list
    linf: np.ndarray
    l1: np.ndarray
    sinf: np.ndarray
    flipped: np.ndarray
    reached: np.ndarray

    def seed_medians(self, key: str) -> np.ndarray:
        """Median of ``key`` ("linf", "l1", "sinf") over each seed's points: (S,)."""
        if key not in ("linf", "l1", "sinf"):
            raise ValueError(f"key must be 'linf', 'l1' or 'sinf', got key={key!r}")
        return np.nanmedian(getattr(self, key), axis=1)

    def pooled_median(self, key: str) -> float:
        """Median of ``key`` over all seeds' flipped points."""
        self.seed_medians(key)
        return float(np.nanmedian(getattr(self, key)))


def _configs(configs):
    if isinstance(configs, (str, bytes)) or not hasattr(configs, "__iter__"):
        raise TypeError(
            f"configs must be a sequence of (d, ell) pairs, got {configs!r}"
        )
    out = []
    for i, c in enumerate(configs):
        if not isinstance(c, (tuple, list)) or len(c) != 2:
            raise TypeError(f"configs[{i}] must be a (d, ell) pair, got {c!r}")
        d, ell = c
        for name, v in (("d", d), ("ell", ell)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(
                    f"configs[{i}]: {name} must be an int, got {name}={v!r}"
                )
        if not 1 <= ell < d:
            raise ValueError(f"configs[{i}]: need 1 ≤ ell < d, got d={d}, ell={ell}")
        out.append((int(d), int(ell)))
    if not out:
        raise ValueError("configs must not be empty")
    return out


def norm_ratio_sweep(
    configs,
    *,
    seeds=range(5),
    m: int = 50,
    n: int = 50,
    n_test: int = 20,
    ensemble: int = 4,
    lr: float = 0.5,
    max_steps: int = 3000,
) -> list[NormRatios]:
    """ℓ∞/ℓ2 and ℓ1/ℓ2 flip-size ratios in P⊥ for each (d, ℓ) in ``configs``.

    Seed s draws the training points with seed 3s + 1, the held-out points with 3s + 2
    and the ``ensemble`` networks ``TwoLayerReLU(d, m)`` with 3s + 3 (s = 0 is the
    book's original draw); P is ``Subspace.axis_aligned(d, ℓ)``. All networks train in
    one ``train_sweep`` call (GD, step ``lr``, margin 0.3).
    """
    configs = _configs(configs)
    if isinstance(seeds, (int, str)) or not hasattr(seeds, "__iter__"):
        raise TypeError(
            f"seeds must be a sequence of ints such as range(5), got {seeds!r}"
        )
    seeds = [int(s) for s in seeds]
    if not seeds or min(seeds) < 0:
        raise ValueError(
            f"seeds must be non-empty and non-negative, got seeds={seeds!r}"
        )
    tasks, data = [], []
    for d, ell in configs:
        P = advsub.Subspace.axis_aligned(d, ell)
        for s in seeds:
            X, y = advsub.make_dataset(P, n, seed=3 * s + 1)
            Xt, _ = advsub.make_dataset(P, n_test, seed=3 * s + 2)
            net = advsub.TwoLayerReLU(d, m, ensemble=ensemble, seed=3 * s + 3)
            tasks.append((net, X, y))
            data.append((P, Xt))
    with warnings.catch_warnings():  # dead points show up as `reached` < 1 instead
        warnings.simplefilter("ignore", advsub.DeadPointWarning)
        hists = advsub.train_sweep(tasks, lr=lr, max_steps=max_steps, progress=False)
    rows = []
    for (net, _, _), (P, Xt), h in zip(tasks, data, hists):
        _, s2 = advsub.orthogonal_attack(net, Xt, P)
        _, sinf = advsub.orthogonal_attack(net, Xt, P, norm="linf")
        _, s1 = advsub.attacks.orthogonal_l1_attack(net, Xt, P)
        ok = torch.isfinite(s2) & torch.isfinite(sinf) & torch.isfinite(s1)
        nan = torch.full_like(s2, math.nan)
        rows.append(
            dict(
                linf=torch.where(ok, sinf / s2, nan).flatten().numpy(),
                l1=torch.where(ok, s1 / s2, nan).flatten().numpy(),
                sinf=torch.where(ok, sinf, nan).flatten().numpy(),
                flipped=float(ok.double().mean()),
                reached=float(h.reached.double().mean()),
            )
        )
    out, S = [], len(seeds)
    for i, (d, ell) in enumerate(configs):
        block = rows[i * S : (i + 1) * S]
        out.append(
            NormRatios(
                d=d,
                ell=ell,
                seeds=seeds,
                **{k: np.stack([r[k] for r in block]) for k in ("linf", "l1", "sinf")},
                flipped=np.array([r["flipped"] for r in block]),
                reached=np.array([r["reached"] for r in block]),
            )
        )
    return out
