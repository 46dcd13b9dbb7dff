"""Beyond the paper: attacks restricted to any linear space (also per point), other norms, deep certificates.

* :func:`restricted_attack` — the book's DeepFool-then-line-search attack for perturbations
  restricted to the span of an orthonormal basis B, shared (d, r) or one per point (n, d, r),
  in the ℓ2, ℓ1 or ℓ∞ norm of the coordinates in B.
* :func:`orthogonal_l1_attack` — the ℓ1 attack in P⊥ (:mod:`advsub.attacks` has ℓ2 and ℓ∞).
* :func:`normal_attack` — the ℓ2 attack in the normal space of a curved manifold.
* :func:`predicted_norm_ratio`, :func:`norm_equivalence_bounds` — what a linear model with a
  Gaussian orthogonal gradient (Theorem A's law) and plain norm equivalence predict for the
  ratio of the ℓ∞ (or ℓ1) attack size to the ℓ2 one.
* :func:`deep_orthogonal_gradient_law` — Theorem A's exact law for deeper networks.
* :func:`deep_orthogonal_lipschitz_bound`, :func:`deep_certified_orthogonal_radius` — the
  certificate of Theorem C extended to deeper networks.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import integrate, special, stats

from ._validation import check_choice, check_float, check_int, check_net_points, check_tensor
from .attacks import _attack, _check_net_subspace, _finish
from .deep import DeepReLU
from .geometry import Subspace
from .manifolds import Manifold
from .network import EnsembleNet

__all__ = [
    "restricted_attack",
    "orthogonal_l1_attack",
    "normal_attack",
    "predicted_norm_ratio",
    "norm_equivalence_bounds",
    "deep_orthogonal_gradient_law",
    "deep_orthogonal_lipschitz_bound",
    "deep_certified_orthogonal_radius",
]

NORMS = {"l2", "l1", "linf"}


def _restricted(net, x, B, norm, steps, overshoot, rtol):
    """The book's attack (:func:`advsub.attacks.orthogonal_attack`'s DeepFool and line search)
    in the coordinates c of B (z = B c), its size measured as the norm of c: (z (E,n,d), size (E,n))."""
    return _finish(*_attack(net, x, B, norm, steps, overshoot, rtol, coordinate_norm=True))


def _check_attack_args(norm, steps, overshoot, rtol):
    return (
        check_choice("norm", norm, NORMS),
        check_int("steps", steps, low=1),
        check_float("overshoot", overshoot, low=0.0, high=10.0),
        check_float("rtol", rtol, low=0.0, high=0.1, low_inclusive=False),
    )


def restricted_attack(
    net: EnsembleNet, x, basis, *, norm: str = "l2", steps: int = 50, overshoot: float = 0.02, rtol: float = 1e-6
):
    """A small flipping perturbation z = B c restricted to the span of ``basis``.

    DeepFool steps {cite:p}`moosavi2016deepfool` on the coordinates c, with the step that is
    optimal for the linearised network in the chosen norm of c, until x + z flips; then
    the first flip along z (exact for a two-layer net, a grid scan and bisection otherwise).

    Parameters
    ----------
    net : EnsembleNet
    x : tensor (n, d) or (E, n, d)
    basis : tensor (d, r) shared by all points, or (n, d, r) one basis per point
        Orthonormal columns (not checked beyond the shapes).
    norm : {"l2", "l1", "linf"}
        Norm of the coordinates c. For an axis-aligned space (columns = coordinate axes)
        it is the norm of z in R^d.

    Returns
    -------
    z : tensor (E, n, d)
        The perturbation (zero where nothing flipped); x + z flips.
    size : tensor (E, n)
        The norm of c (``inf`` where nothing flipped).
    """
    if not isinstance(net, EnsembleNet):
        raise TypeError(f"net must be an advsub network (TwoLayerReLU, DeepReLU, ...), got {type(net).__name__}")
    norm, steps, overshoot, rtol = _check_attack_args(norm, steps, overshoot, rtol)
    x = check_net_points("x", x, net)
    basis = check_tensor("basis", basis, ndim=(2, 3), dtype=net.dtype, device=net.device)
    if basis.shape[-2] != net.d:
        raise ValueError(f"basis must have {net.d} rows (one per input coordinate), got shape {tuple(basis.shape)}")
    if basis.ndim == 3 and basis.shape[0] != x.shape[-2]:
        raise ValueError(f"a per-point basis must have one entry per point ({x.shape[-2]}), got shape {tuple(basis.shape)}")
    return _restricted(net, x, basis, norm, steps, overshoot, rtol)


def orthogonal_l1_attack(
    net: EnsembleNet, x, subspace: Subspace, *, steps: int = 50, overshoot: float = 0.02, rtol: float = 1e-6, tol: float = 1e-8
):
    """A small flipping perturbation in P⊥ measured in ℓ1: (z (E, n, d), size (E, n)).

    The ℓ1 step puts the whole linearised budget on the orthogonal coordinate with the
    largest gradient entry, so z is sparse. The size is the ℓ1 norm of the orthogonal
    coordinates (``subspace.orth_basis``), which is ‖z‖₁ in R^d when P is axis-aligned.
    ``x`` must lie in P.
    """
    _check_net_subspace(net, subspace)
    _, steps, overshoot, rtol = _check_attack_args("l1", steps, overshoot, rtol)
    x = check_net_points("x", x, net, subspace=subspace, tol=check_float("tol", tol, low=0.0))
    return _restricted(net, x, subspace.orth_basis.to(net.device, net.dtype), "l1", steps, overshoot, rtol)


def normal_attack(net: EnsembleNet, manifold: Manifold, theta, *, steps: int = 50, overshoot: float = 0.02, rtol: float = 1e-6):
    """The smallest ℓ2 flip found in the normal space N_x at each manifold point x = x(θ).

    Returns z (E, n, d) (in N_x, zero where nothing flipped) and ‖z‖ (E, n) (``inf`` there).
    """
    if not isinstance(manifold, Manifold):
        raise TypeError(f"manifold must be a Manifold, got {type(manifold).__name__}")
    if not isinstance(net, EnsembleNet):
        raise TypeError(f"net must be an advsub network (TwoLayerReLU, DeepReLU, ...), got {type(net).__name__}")
    if manifold.d != net.d:
        raise ValueError(f"manifold.d={manifold.d} does not match net.d={net.d}")
    _, steps, overshoot, rtol = _check_attack_args("l2", steps, overshoot, rtol)
    x = manifold.embed(theta).to(net.device, net.dtype)
    N = manifold.normal_basis(theta).to(net.device, net.dtype)
    return _restricted(net, x, N, "l2", steps, overshoot, rtol)


# --- what theory predicts for other norms ------------------------------------------------
def norm_equivalence_bounds(ell: int, norm: str) -> tuple[float, float]:
    """Range of size_p / size_2 for a linear model in ℓ dimensions, from norm equivalence alone.

    The smallest flip of a linear model with gradient g has ℓ2 size |N|/‖g‖₂, ℓ∞ size
    |N|/‖g‖₁ and ℓ1 size |N|/‖g‖_∞, so the ratio lies in [1/√ℓ, 1] for ℓ∞ and [1, √ℓ] for ℓ1.
    """
    ell = check_int("ell", ell, low=1)
    norm = check_choice("norm", norm, {"l1", "linf"})
    return (1 / math.sqrt(ell), 1.0) if norm == "linf" else (1.0, math.sqrt(ell))


def _expected_max_abs_gaussian(ell: int) -> float:
    """E max_{j≤ℓ} |g_j| for iid standard Gaussians: ∫_0^∞ 1 − (2Φ(t) − 1)^ℓ dt."""
    value, _ = integrate.quad(lambda t: 1.0 - (2 * stats.norm.cdf(t) - 1) ** ell, 0, np.inf, limit=200)
    return value


def predicted_norm_ratio(ell, norm: str):
    """size_p / size_2 for a linear model whose orthogonal gradient is N(0, σ² I_ℓ) (Theorem A's law).

    ℓ∞: E‖g‖₂ / E‖g‖₁ = √2 Γ((ℓ+1)/2)/Γ(ℓ/2) / (ℓ √(2/π))  ≈ √(π/(2ℓ));
    ℓ1: E‖g‖₂ / E max_j |g_j|  ≈ √(ℓ / (2 ln ℓ)) for large ℓ.
    The ratio of expectations stands for the typical ratio (both norms concentrate).
    Exact for the axis-aligned P, where orthogonal coordinates are coordinates of R^d.
    ``ell`` may be an int or an array of ints.
    """
    norm = check_choice("norm", norm, {"l1", "linf"})
    ells = np.atleast_1d(np.asarray(ell))
    if ells.size == 0 or not np.issubdtype(ells.dtype, np.integer) or np.any(ells < 1):
        raise ValueError(f"ell must be a positive integer or an array of them, got ell={ell!r}")
    out = []
    for e in ells.tolist():
        l2 = math.sqrt(2) * math.exp(special.gammaln((e + 1) / 2) - special.gammaln(e / 2))
        other = e * math.sqrt(2 / math.pi) if norm == "linf" else _expected_max_abs_gaussian(e)
        out.append(l2 / other)
    out = np.asarray(out)
    return float(out[0]) if np.ndim(ell) == 0 else out


# --- deeper networks -------------------------------------------------------------------------
def deep_orthogonal_gradient_law(signal_norm_sq: float, ell: int, beta: float):
    """The exact law of ‖Π∇N(x0)‖² for a (S)GD-trained deep net at x0 ∈ P: β²‖δ_1(x0)‖²·χ²_ℓ.

    Π∇N(x0) = (ΠW_1(0))ᵀ δ_1(x0), and the trained δ_1(x0) never saw the Gaussian ΠW_1(0)
    (every layer's updates depend on W_1 only through W_1 x_j = (P-part) x_j). Given
    ``signal_norm_sq`` = ‖δ_1(x0)‖² (:meth:`DeepReLU.first_layer_signal`) the law is a
    scaled χ²_ℓ; for two layers ‖δ_1‖² = k/m and this is Theorem A's law. Returns a frozen
    ``scipy.stats.chi2``.
    """
    signal_norm_sq = check_float("signal_norm_sq", signal_norm_sq, low=0.0, low_inclusive=False)
    ell = check_int("ell", ell, low=1)
    beta = check_float("beta", beta, low=0.0, low_inclusive=False)
    return stats.chi2(df=ell, scale=beta**2 * signal_norm_sq)


# --- a certificate for deeper networks ------------------------------------------------------
def deep_orthogonal_lipschitz_bound(net: DeepReLU, subspace: Subspace) -> torch.Tensor:
    """‖W_1 C‖_op · Π_{l≥2} ‖W_l‖_op · ‖u‖ per member, (E,): a Lipschitz constant of N along P⊥.

    For z ∈ P⊥ the directional derivative is uᵀ D_L W_L ⋯ D_1 W_1 C c with 0/1 diagonal D_l,
    and every factor is bounded by its operator norm.
    """
    if not isinstance(net, DeepReLU):
        raise TypeError(f"net must be a DeepReLU, got {type(net).__name__}")
    _check_net_subspace(net, subspace)
    C = subspace.orth_basis.to(net.device, net.dtype)
    lip = torch.linalg.matrix_norm(net.weights[0] @ C, ord=2)
    for W in net.weights[1:]:
        lip = lip * torch.linalg.matrix_norm(W, ord=2)
    return lip * net.u.norm(dim=-1)


def deep_certified_orthogonal_radius(net: DeepReLU, x, subspace: Subspace) -> torch.Tensor:
    """|N(x)| / :func:`deep_orthogonal_lipschitz_bound`: no z ∈ P⊥ of smaller norm flips x: (E, n)."""
    lip = deep_orthogonal_lipschitz_bound(net, subspace)[:, None]
    x = check_net_points("x", x, net)
    out = net._forward(x).abs()
    return torch.where(lip > 0, out / torch.where(lip > 0, lip, torch.ones_like(lip)), torch.full_like(out, math.inf))
