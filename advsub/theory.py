"""The theory: every bound and law of the book as a function named after what it bounds.

Notation: d ambient dimension, ℓ = dim P⊥, m width, k = |I(x0)| the number of
neurons active at x0 after training, β the first-layer initialisation scale
(β = 1/√d for the standard initialisation).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ._validation import check_float, check_int, check_real_array

__all__ = [
    "gradient_lower_bound",
    "lower_bound_failure_probability",
    "orthogonal_gradient_law",
    "expected_orthogonal_gradient_sq",
    "small_init_upper_bound",
    "upper_bound_failure_probability",
    "predicted_universal_size",
    "weight_decay_factor",
    "expected_orthogonal_operator_norm",
    "self_term_agreement",
]


def _beta(beta, d):
    return 1.0 / math.sqrt(d) if beta is None else check_float("beta", beta, low=0.0, low_inclusive=False)


def _k_ell_m(k, ell, m):
    m = check_int("m", m, low=1)
    k = check_int("k", k, low=0, high=m)
    ell = check_int("ell", ell, low=1)
    return k, ell, m


def gradient_lower_bound(k: int, ell: int, m: int, d: int, beta: float | None = None) -> float:
    """Theorem A's lower bound on ‖Π∇N(x0)‖: β·√(kℓ/(2m)), i.e. √(kℓ/(2md)) at β = 1/√d.

    It holds with probability at least 1 − e^{−ℓ/16} (:func:`lower_bound_failure_probability`).
    """
    k, ell, m = _k_ell_m(k, ell, m)
    d = check_int("d", d, low=ell + 1)
    return _beta(beta, d) * math.sqrt(k * ell / (2 * m))


def lower_bound_failure_probability(ell: int) -> float:
    """e^{−ℓ/16}: the Laurent–Massart bound on P(χ²_ℓ < ℓ/2)."""
    ell = check_int("ell", ell, low=1)
    return math.exp(-ell / 16)


def orthogonal_gradient_law(k: int, ell: int, m: int, beta: float):
    """The exact law of ‖Π∇N(x0)‖² given k active neurons: (kβ²/m)·χ²_ℓ.

    Returns a frozen ``scipy.stats.chi2`` with ``df=ell`` and ``scale=k β² / m``.
    """
    k, ell, m = _k_ell_m(k, ell, m)
    if k < 1:
        raise ValueError("k must be >= 1 for a non-degenerate law (with k=0 the gradient is exactly 0), got k=0")
    beta = check_float("beta", beta, low=0.0, low_inclusive=False)
    return stats.chi2(df=ell, scale=k * beta**2 / m)


def expected_orthogonal_gradient_sq(k: int, ell: int, m: int, beta: float) -> float:
    """E‖Π∇N(x0)‖² = kℓβ²/m (= kℓ/(md) at the standard initialisation)."""
    k, ell, m = _k_ell_m(k, ell, m)
    beta = check_float("beta", beta, low=0.0, low_inclusive=False)
    return k * ell * beta**2 / m


def small_init_upper_bound(k: int, ell: int, m: int, beta: float) -> float:
    """Theorem C's upper bound on ‖Π∇N(x0)‖: β·√(5kℓ/m), with probability ≥ 1 − e^{−ℓ}."""
    k, ell, m = _k_ell_m(k, ell, m)
    beta = check_float("beta", beta, low=0.0, low_inclusive=False)
    return beta * math.sqrt(5 * k * ell / m)


def upper_bound_failure_probability(ell: int) -> float:
    """e^{−ℓ}: the Laurent–Massart bound on P(χ²_ℓ > 5ℓ)."""
    ell = check_int("ell", ell, low=1)
    return math.exp(-ell)


def predicted_universal_size(output, k, m: int, d: int, ell: int, beta: float | None = None):
    """Theorem B's predicted flipping size along the universal direction: |N(x0)|·(m/k)·√(d/ℓ).

    For a general initialisation scale β it is |N(x0)|·m/(kβ√ℓ) (``beta=None``: β = 1/√d).
    ``output`` and ``k`` may be arrays (broadcast); entries with k = 0 give inf.
    """
    m = check_int("m", m, low=1)
    d = check_int("d", d, low=2)
    ell = check_int("ell", ell, low=1, high=d - 1)
    scale = math.sqrt(d / ell) if beta is None else 1.0 / (check_float("beta", beta, low=0.0, low_inclusive=False) * math.sqrt(ell))
    out = np.abs(check_real_array("output", output))
    k = check_real_array("k", k)
    if np.any(k < 0) or np.any(k > m):
        raise ValueError(f"k must lie in 0..m={m}, got values from {k.min()} to {k.max()}")
    # k = 0 (no active neuron, so N(x0) = 0 too) gives inf, not 0·inf = nan.
    size = np.where(k > 0, out * m / np.where(k > 0, k, 1.0), np.inf) * scale
    return float(size) if size.ndim == 0 else size


def weight_decay_factor(lr: float, weight_decay: float, t):
    """(1 − ηλ)^t: the factor by which weight decay shrinks Π w after t steps of (S)GD."""
    lr = check_float("lr", lr, low=0.0, low_inclusive=False)
    weight_decay = check_float("weight_decay", weight_decay, low=0.0)
    if lr * weight_decay >= 1:
        raise ValueError(f"lr * weight_decay must be < 1, got lr={lr}, weight_decay={weight_decay}")
    t = check_real_array("t", t)
    if np.any(t < 0):
        raise ValueError(f"t must be >= 0, got t={t}")
    out = (1.0 - lr * weight_decay) ** t
    return float(out) if out.ndim == 0 else out


def expected_orthogonal_operator_norm(m: int, ell: int, beta: float) -> float:
    """β(√m + √ℓ): the typical size of ‖W⊥‖_op for an m×ℓ Gaussian matrix (Gordon's bound on its mean)."""
    m = check_int("m", m, low=1)
    ell = check_int("ell", ell, low=1)
    beta = check_float("beta", beta, low=0.0, low_inclusive=False)
    return beta * (math.sqrt(m) + math.sqrt(ell))


def self_term_agreement(ell: int, m: int) -> float:
    """P(u_j (Πw_j·v) > 0), v = Σ_i u_i Πw_i: the chance that neuron j moves the way Theorem B's self term says.

    Given Πw_j the cross term u_j Σ_{i≠j} u_i Πw_i·Πw_j is N(0, β²(m−1)‖Πw_j‖²/m²) and the
    self term is ‖Πw_j‖²/m, so the probability is E Φ(√(Q/(m−1))) with Q ~ χ²_ℓ
    (exact for the Gaussian initialisation, any β): close to 1 when ℓ ≫ m, → 1/2 when ℓ ≪ m.
    """
    ell = check_int("ell", ell, low=1)
    m = check_int("m", m, low=1)
    if m == 1:
        return 1.0
    from scipy import integrate

    law = stats.chi2(df=ell)
    lo, hi = law.ppf(1e-12), law.ppf(1 - 1e-12)
    value, _ = integrate.quad(lambda q: stats.norm.cdf(math.sqrt(q / (m - 1))) * law.pdf(q), lo, hi, limit=200)
    return float(value)
