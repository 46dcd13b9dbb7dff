"""The theory: every bound and law of the book as a function named after what it bounds.

Notation: d ambient dimension, ℓ = dim P⊥, m width, k = |I(x0)| the number of
neurons active at x0 after training, β the first-layer initialisation scale
(β = 1/√d for the standard initialisation).

Every function broadcasts: k, ℓ, m, d, β (and the other numeric arguments) may be Python
numbers, NumPy arrays or torch tensors; counts (k, ℓ, m, d) must hold whole numbers,
but a float array of whole numbers is accepted. The result is a float64 ndarray of the
broadcast shape, or a Python float when every argument is a scalar. Ranges (k ≤ m,
ℓ < d, …) are checked elementwise; the error names the parameter and the first
offending entry. The laws return a frozen ``scipy.stats`` distribution whose parameters
have the broadcast shape.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special, stats

from ._validation import Choice, RealArray, check_params

__all__ = [
    "gradient_lower_bound",
    "lower_bound_failure_probability",
    "orthogonal_gradient_law",
    "expected_orthogonal_gradient_sq",
    "expected_orthogonal_gradient_norm",
    "small_init_upper_bound",
    "upper_bound_failure_probability",
    "predicted_universal_size",
    "weight_decay_factor",
    "expected_orthogonal_operator_norm",
    "self_term_agreement",
    "predicted_norm_ratio",
    "norm_equivalence_bounds",
    "deep_orthogonal_gradient_law",
]

# --- one declaration per parameter ----------------------------------------------------
ELL = RealArray(low=1, integral=True)
M = RealArray(low=1, integral=True)
K = RealArray(low=0, high=lambda p: p["m"], integral=True, high_name="m")
K_MEAN = RealArray(
    low=0, high=lambda p: p["m"], high_name="m"
)  # a count or a mean count
K_POSITIVE = RealArray(low=1, high=lambda p: p["m"], integral=True, high_name="m")
BETA = RealArray(low=0.0, closed="neither")
D_ABOVE_ELL = RealArray(low=lambda p: p["ell"] + 1, integral=True, low_name="ell + 1")
T = RealArray(low=0)  # steps; real t draws the continuous curve
NORM = Choice({"l1", "linf"})


def _args(spec: dict, **values) -> tuple:
    """Check ``values`` against ``spec`` (in the spec's order) and broadcast them:
    arrays in call order."""
    checked = check_params(spec, values)
    arrays = [checked[name] for name in values]
    numeric = [a for a in arrays if isinstance(a, np.ndarray)]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in numeric))
    except ValueError:
        shapes = ", ".join(
            f"{n} {np.shape(checked[n])}"
            for n in values
            if isinstance(checked[n], np.ndarray)
        )
        raise ValueError(
            f"the arguments do not broadcast to one shape: {shapes}"
        ) from None
    return (*arrays, shape)


def _result(out, shape):
    """``out`` broadcast to ``shape``: a Python float for shape (), else a float64
    ndarray."""
    out = np.broadcast_to(np.asarray(out, dtype=float), shape)
    return float(out) if out.ndim == 0 else out.copy()


def _beta_or_standard(beta, d):
    """β, with ``None`` meaning the standard 1/√d."""
    return 1.0 / np.sqrt(d) if beta is None else beta


def gradient_lower_bound(k, ell, m, d, beta=None):
    r"""Theorem A's lower bound on ‖Π∇N(x0)‖: β·√(kℓ/(2m)), i.e. √(kℓ/(2md)) at β =
    1/√d.

    It holds with probability at least :math:`1 - e^{-\ell/16}`
    (:func:`lower_bound_failure_probability`). ``beta=None`` is the standard β = 1/√d; d
    must exceed ℓ.
    """
    spec = {"m": M, "k": K, "ell": ELL, "d": D_ABOVE_ELL}
    if beta is not None:
        spec["beta"] = BETA
    k, ell, m, d, beta, shape = _args(spec, k=k, ell=ell, m=m, d=d, beta=beta)
    return _result(_beta_or_standard(beta, d) * np.sqrt(k * ell / (2 * m)), shape)


def lower_bound_failure_probability(ell):
    r"""The Laurent–Massart bound :math:`e^{-\ell/16}` on :math:`P(\chi^2_\ell <
    \ell/2)`."""
    ell, shape = _args({"ell": ELL}, ell=ell)
    return _result(_elementwise(lambda e: math.exp(-e / 16), ell), shape)


def orthogonal_gradient_law(k, ell, m, beta):
    """The exact law of ‖Π∇N(x0)‖² given k ≥ 1 active neurons: (kβ²/m)·χ²_ℓ.

    Returns a frozen ``scipy.stats.chi2`` with ``df=ell`` and ``scale=k β² / m`` (arrays
    of the broadcast shape when an argument is an array).
    """
    k, ell, m, beta, shape = _args(
        {"m": M, "k": K_POSITIVE, "ell": ELL, "beta": BETA},
        k=k,
        ell=ell,
        m=m,
        beta=beta,
    )
    df, scale = _result(ell, shape), _result(k * beta**2 / m, shape)
    return stats.chi2(df=df, scale=scale)


def expected_orthogonal_gradient_sq(k, ell, m, beta):
    """E‖Π∇N(x0)‖² = kℓβ²/m (= kℓ/(md) at the standard initialisation)."""
    k, ell, m, beta, shape = _args(
        {"m": M, "k": K, "ell": ELL, "beta": BETA}, k=k, ell=ell, m=m, beta=beta
    )
    return _result(k * ell * beta**2 / m, shape)


def _elementwise(func, *arrays) -> np.ndarray:
    """``func`` of Python floats applied to every entry of the broadcast arrays (once
    per distinct entry).

    For the special functions (math.exp, quadratures), so that a scalar and an array
    entry give bit-identical values.
    """
    arrays = np.broadcast_arrays(*arrays)
    cache, out = {}, np.empty(arrays[0].shape)
    for idx in np.ndindex(out.shape):
        key = tuple(float(a[idx]) for a in arrays)
        if key not in cache:
            cache[key] = func(*key)
        out[idx] = cache[key]
    return out


def _chi_mean(ell: float) -> float:
    """E χ_ℓ = √2 Γ((ℓ+1)/2)/Γ(ℓ/2)."""
    return math.sqrt(2.0) * math.exp(
        special.gammaln((ell + 1) / 2) - special.gammaln(ell / 2)
    )


def expected_orthogonal_gradient_norm(k, ell, m, beta):
    """E‖Π∇N(x0)‖ given k: β·√(k/m)·√2·Γ((ℓ+1)/2)/Γ(ℓ/2).

    The mean of the square root of :func:`orthogonal_gradient_law` (a χ_ℓ mean). ``k``
    may be a mean number of active neurons (any real in [0, m]).
    """
    k, ell, m, beta, shape = _args(
        {"m": M, "k": K_MEAN, "ell": ELL, "beta": BETA}, k=k, ell=ell, m=m, beta=beta
    )
    return _result(beta * np.sqrt(k / m) * _elementwise(_chi_mean, ell), shape)


def small_init_upper_bound(k, ell, m, beta):
    r"""Theorem C's upper bound on ‖Π∇N(x0)‖: β·√(5kℓ/m), with probability at least
    :math:`1 - e^{-\ell}`."""
    k, ell, m, beta, shape = _args(
        {"m": M, "k": K, "ell": ELL, "beta": BETA}, k=k, ell=ell, m=m, beta=beta
    )
    return _result(beta * np.sqrt(5 * k * ell / m), shape)


def upper_bound_failure_probability(ell):
    r"""The Laurent–Massart bound :math:`e^{-\ell}` on
    :math:`P(\chi^2_\ell > 5\ell)`."""
    ell, shape = _args({"ell": ELL}, ell=ell)
    return _result(_elementwise(lambda e: math.exp(-e), ell), shape)


def predicted_universal_size(output, k, m, d, ell, beta=None):
    """Theorem B's predicted flipping size along the universal direction:
    |N(x0)|·(m/k)·√(d/ℓ).

    For a general initialisation scale β it is |N(x0)|·m/(kβ√ℓ) (``beta=None``: β =
    1/√d). Entries with k = 0 (no active neuron, so N(x0) = 0 too) give inf; ``k`` may
    be a mean number of active neurons (any real in [0, m]).
    """
    spec = {
        "m": M,
        "d": RealArray(low=2, integral=True),
        "ell": RealArray(
            low=1, high=lambda p: p["d"] - 1, integral=True, high_name="d - 1"
        ),
        "output": RealArray(),
        "k": K_MEAN,
    }
    if beta is not None:
        spec["beta"] = BETA
    output, k, m, d, ell, beta, shape = _args(
        spec, output=output, k=k, m=m, d=d, ell=ell, beta=beta
    )
    scale = np.sqrt(d / ell) if beta is None else 1.0 / (beta * np.sqrt(ell))
    # k = 0 gives inf, not 0·inf = nan.
    size = np.where(k > 0, np.abs(output) * m / np.where(k > 0, k, 1.0), np.inf) * scale
    return _result(size, shape)


def weight_decay_factor(lr, weight_decay, t):
    """(1 − ηλ)^t: the factor by which weight decay shrinks Π w after t steps of (S)GD
    (η = ``lr``)."""
    spec = {
        "lr": RealArray(low=0.0, closed="neither"),
        "weight_decay": RealArray(low=0.0),
        "t": T,
    }
    lr, weight_decay, t, shape = _args(spec, lr=lr, weight_decay=weight_decay, t=t)
    if np.any(lr * weight_decay >= 1):
        if np.ndim(lr) == 0 and np.ndim(weight_decay) == 0:
            got = f"lr={float(lr)}, weight_decay={float(weight_decay)}"
        else:
            got = "some entries of lr * weight_decay"
        raise ValueError(f"lr * weight_decay must be < 1, got {got}")
    return _result((1.0 - lr * weight_decay) ** t, shape)


def expected_orthogonal_operator_norm(m, ell, beta):
    """β(√m + √ℓ): the typical size of ‖W⊥‖_op for an m×ℓ Gaussian matrix (Gordon's
    bound on its mean)."""
    m, ell, beta, shape = _args(
        {"m": M, "ell": ELL, "beta": BETA}, m=m, ell=ell, beta=beta
    )
    return _result(beta * (np.sqrt(m) + np.sqrt(ell)), shape)


def _self_term_agreement(ell: int, m: int) -> float:
    if m == 1:
        return 1.0
    law = stats.chi2(df=ell)
    lo, hi = law.ppf(1e-12), law.ppf(1 - 1e-12)
    value, _ = integrate.quad(
        lambda q: stats.norm.cdf(math.sqrt(q / (m - 1))) * law.pdf(q), lo, hi, limit=200
    )
    return float(value)


def self_term_agreement(ell, m):
    r"""P(u_j (Πw_j·v) > 0), v = Σ_i u_i Πw_i: the chance that neuron j moves the way
    Theorem B's self term says.

    Given Πw_j the cross term :math:`u_j \sum_{i \ne j} u_i\, \Pi w_i \cdot \Pi w_j` is
    N(0, β²(m−1)‖Πw_j‖²/m²) and the self term is ‖Πw_j‖²/m, so the probability is E
    Φ(√(Q/(m−1))) with Q ~ χ²_ℓ (exact for the Gaussian initialisation, any β): close to
    1 when ℓ ≫ m, → 1/2 when ℓ ≪ m.
    """
    ell, m, shape = _args({"ell": ELL, "m": M}, ell=ell, m=m)
    return _result(
        _elementwise(lambda e, w: _self_term_agreement(int(e), int(w)), ell, m), shape
    )


def norm_equivalence_bounds(ell, norm: str):
    """Range (low, high) of size_p / size_2 for a linear model in ℓ dimensions, from
    norm equivalence alone.

    The smallest flip of a linear model with gradient g has ℓ2 size |N|/‖g‖₂, ℓ∞ size
    |N|/‖g‖₁ and ℓ1 size |N|/‖g‖_∞, so the ratio lies in [1/√ℓ, 1] for ℓ∞ and [1, √ℓ]
    for ℓ1. Returns two floats, or two arrays of ``ell``'s shape.
    """
    ell, norm, shape = _args({"ell": ELL, "norm": NORM}, ell=ell, norm=norm)
    if norm == "linf":
        return _result(1 / np.sqrt(ell), shape), _result(1.0, shape)
    return _result(1.0, shape), _result(np.sqrt(ell), shape)


def _expected_max_abs_gaussian(ell: int) -> float:
    r"""E max_j |g_j| over ℓ iid standard Gaussians: :math:`\int_0^\infty 1 - (2\Phi(t)
    - 1)^\ell\, dt`."""
    value, _ = integrate.quad(
        lambda t: 1.0 - (2 * stats.norm.cdf(t) - 1) ** ell, 0, np.inf, limit=200
    )
    return value


def predicted_norm_ratio(ell, norm: str):
    """size_p / size_2 for a linear model whose orthogonal gradient is N(0, σ² I_ℓ)
    (Theorem A's law).

    ℓ∞: E‖g‖₂ / E‖g‖₁ = √2 Γ((ℓ+1)/2)/Γ(ℓ/2) / (ℓ √(2/π)) ≈ √(π/(2ℓ));
    ℓ1: E‖g‖₂ / E max_j |g_j| ≈ √(ℓ / (2 ln ℓ)) for large ℓ.
    The ratio of expectations stands for the typical ratio (both norms concentrate).
    Exact for the axis-aligned P, where orthogonal coordinates are coordinates of R^d.
    """
    ell, norm, shape = _args({"ell": ELL, "norm": NORM}, ell=ell, norm=norm)

    def ratio(e: float) -> float:
        other = (
            e * math.sqrt(2 / math.pi)
            if norm == "linf"
            else _expected_max_abs_gaussian(int(e))
        )
        return _chi_mean(e) / other

    return _result(_elementwise(ratio, ell), shape)


def deep_orthogonal_gradient_law(signal_norm_sq, ell, beta):
    """The exact law of ‖Π∇N(x0)‖² for a (S)GD-trained deep net at x0 ∈ P:
    β²‖δ_1(x0)‖²·χ²_ℓ.

    Π∇N(x0) = (ΠW_1(0))ᵀ δ_1(x0), and the trained δ_1(x0) never saw the Gaussian ΠW_1(0)
    (every layer's updates depend on W_1 only through W_1 x_j = (P-part) x_j). Given
    ``signal_norm_sq`` = ‖δ_1(x0)‖² (:meth:`DeepReLU.first_layer_signal`) the law is a
    scaled χ²_ℓ; for two layers ‖δ_1‖² = k/m and this is Theorem A's law. Returns a
    frozen ``scipy.stats.chi2``.
    """
    spec = {
        "signal_norm_sq": RealArray(low=0.0, closed="neither"),
        "ell": ELL,
        "beta": BETA,
    }
    s, ell, beta, shape = _args(spec, signal_norm_sq=signal_norm_sq, ell=ell, beta=beta)
    return stats.chi2(df=_result(ell, shape), scale=_result(beta**2 * s, shape))
