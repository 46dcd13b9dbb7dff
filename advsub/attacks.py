"""Orthogonal gradients, attacks and certificates in P⊥.

Conventions shared by every function here:

* A point x with output N(x) has sign s = sign N(x), with s = +1 when N(x) = 0.
  A perturbation z *flips* x when s·N(x + z) < 0 (strictly).
* Sizes are the norm of the smallest flipping step found along a ray, located to
  relative tolerance ``rtol``: the returned scale t satisfies t* ≤ t ≤ t*(1 + rtol),
  t* the infimum of the flipping scales on that ray, and x + t·direction flips.
  ``inf`` marks points that nothing flipped. A point with N(x) = 0 lies on the
  decision boundary already: its size is 0 and its perturbation z = 0.
* Two-layer networks (:class:`~advsub.network.TwoLayerReLU`) are piecewise linear
  along a ray with at most m breakpoints t_i = −(w_i·x + b_i)/(w_i·v), so the first
  sign change is found *exactly* from the sorted breakpoints. Other
  :class:`~advsub.network.EnsembleNet` s are scanned on a grid, then bisected.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from . import theory
from ._validation import check_choice, check_float, check_int, check_labels, check_net_points, check_tensor
from .geometry import Subspace, make_dataset
from .network import EnsembleNet, TwoLayerReLU

__all__ = [
    "orthogonal_gradient",
    "flip_along",
    "universal_direction",
    "universal_perturbation",
    "self_term_agreement",
    "orthogonal_attack",
    "unconstrained_attack",
    "orthogonal_lipschitz_constant",
    "certified_orthogonal_radius",
    "AttackSample",
    "attack_sample",
    "attack_experiment",
    "attack_sweep",
]

NORMS = {"l2", "linf"}


def _check_net_subspace(net, subspace):
    if not isinstance(net, EnsembleNet):
        raise TypeError(f"net must be an advsub network (TwoLayerReLU, ...), got {type(net).__name__}")
    if not isinstance(subspace, Subspace):
        raise TypeError(f"subspace must be a Subspace, got {type(subspace).__name__}")
    if subspace.d != net.d:
        raise ValueError(f"subspace.d={subspace.d} does not match net.d={net.d}")


def _check_two_layer(net, what):
    if not isinstance(net, TwoLayerReLU):
        raise TypeError(f"{what} is defined for a TwoLayerReLU only, got net of type {type(net).__name__}")


def _check_max_norm(max_norm) -> float:
    if isinstance(max_norm, (int, float)) and not isinstance(max_norm, bool) and max_norm == math.inf:
        return math.inf
    return check_float("max_norm", max_norm, low=0.0, low_inclusive=False)


def _orth(subspace, net) -> torch.Tensor:
    return subspace.orth_basis.to(net.device, net.dtype)


def _sign(out: torch.Tensor) -> torch.Tensor:
    """sign with sign(0) = +1."""
    return torch.where(out >= 0, 1.0, -1.0).to(out.dtype)


def _expand(net, x: torch.Tensor) -> torch.Tensor:
    return x.expand(net.ensemble, -1, -1) if x.ndim == 2 else x


def orthogonal_gradient(net: EnsembleNet, x, subspace: Subspace, *, tol: float = 1e-8) -> torch.Tensor:
    """Π∇ₓN(x) in P⊥ coordinates (``subspace.orth_basis``): shape (E, n, ℓ).

    ``x`` (n, d) or (E, n, d) must lie in P (relative tolerance ``tol``). By the
    invariance lemma this equals Σ_{i active at x} u_i C^T w_i(0) for (S)GD training
    without weight decay (C = ``orth_basis``).
    """
    _check_net_subspace(net, subspace)
    x = check_net_points("x", x, net, subspace=subspace, tol=tol)
    C = subspace.orth_basis.to(net.device, net.dtype)
    return net._input_gradient(x) @ C


# --- the first sign change along a ray -------------------------------------------
def _first_flip_exact(net: TwoLayerReLU, x, direction, max_t: float, rtol: float) -> torch.Tensor:
    """Smallest flipping scale along x + t·direction, t ∈ (0, max_t], for a two-layer net: (E, n).

    g(t) = s·N(x + t v) = Σ_i s u_i σ(a_i + t b_i) is piecewise linear; neuron i switches
    at τ_i = −a_i/b_i and the slope then changes by s u_i |b_i| (on: +s u_i b_i with b_i > 0;
    off: −s u_i b_i with b_i < 0). Cumulative sums over the sorted τ give g at every knot;
    the first knot with g < 0 closes the segment holding the first crossing t*.
    """
    x = _expand(net, x)
    a = net._preactivation(x)  # (E, n, m)
    if direction.ndim == 2:  # one direction per member
        b = torch.einsum("emd,ed->em", net.W, direction)[:, None, :].expand_as(a)
    else:
        b = torch.einsum("emd,end->enm", net.W, direction)
    s = _sign(torch.einsum("enm,em->en", torch.relu(a), net.u))
    cu = s[..., None] * net.u[:, None, :]  # signed second layer, (E, n, m)
    g0 = (cu * torch.relu(a)).sum(-1)
    active0 = (a > 0) | ((a == 0) & (b > 0))
    slope0 = (cu * b * active0).sum(-1)
    tau = torch.where(b != 0, -a / torch.where(b != 0, b, torch.ones_like(b)), torch.full_like(a, -1.0))
    valid = (tau > 0) & (b != 0)
    tau = torch.where(valid, tau, torch.full_like(a, math.inf))
    unbounded = not isinstance(max_t, torch.Tensor) and math.isinf(max_t)
    if unbounded:  # knots up to the last breakpoint, then the last piece to infinity
        cap = torch.where(valid, tau, torch.zeros_like(tau)).amax(-1, keepdim=True)
    elif isinstance(max_t, torch.Tensor):
        cap = max_t[..., None].to(a.dtype)
    else:
        cap = torch.full_like(a[..., :1], max_t)
    delta = torch.where(valid & (tau <= cap), cu * b.abs(), torch.zeros_like(a))
    tau = torch.minimum(tau, cap)
    tau, order = tau.sort(dim=-1)
    delta = delta.gather(-1, order)
    knots = torch.cat([torch.zeros_like(cap), tau, cap], dim=-1)  # (E, n, m + 2)
    slopes = torch.cat([slope0[..., None], slope0[..., None] + delta.cumsum(-1)], dim=-1)  # slope after each knot but the last
    dt = knots[..., 1:] - knots[..., :-1]
    g = torch.cat([g0[..., None], g0[..., None] + (slopes * dt).cumsum(-1)], dim=-1)  # g at every knot
    # Rounding in the cumulative sums: a value within `eps` of 0 is 0 (N often rests at exactly 0
    # on a stretch where every neuron is off, and that is not a flip).
    eps = 1e-10 * (g0.abs() + (net.u.abs()[:, None, :] * (a.abs() + b.abs() * knots[..., -1:])).sum(-1))
    neg = g < -eps[..., None]
    neg[..., 0] = False
    found = neg.any(-1)
    first = neg.to(torch.int64).argmax(-1)  # index of the first knot with g < 0
    k = torch.where(found, first, torch.ones_like(first))[..., None]
    t_lo, t_hi = knots.gather(-1, k - 1)[..., 0], knots.gather(-1, k)[..., 0]
    g_lo, g_hi = g.gather(-1, k - 1)[..., 0], g.gather(-1, k)[..., 0]
    root = t_lo + g_lo.clamp(min=0) / (g_lo.clamp(min=0) - g_hi) * (t_hi - t_lo)
    out = torch.minimum(root * (1 + rtol / 2), t_hi)
    if unbounded:  # the last linear piece extends to infinity
        g_last, slope_last = g[..., -1], slopes[..., -1]
        tail = (~found) & (slope_last < 0)
        root_tail = knots[..., -1] + g_last.clamp(min=0) / (-torch.where(tail, slope_last, -torch.ones_like(slope_last)))
        out = torch.where(tail, root_tail * (1 + rtol / 2), out)
        found = found | tail
    out = torch.where(g0 == 0, torch.zeros_like(out), out)  # on the boundary already
    return torch.where(found | (g0 == 0), out, torch.full_like(out, math.inf))


def _first_flip_scan(net: EnsembleNet, x, direction, max_t: float, rtol: float, grid: int = 256) -> torch.Tensor:
    """Grid scan of t ∈ (0, max_t] then bisection, for any network: (E, n).

    Can miss a sign change that starts and ends between two grid points.
    """
    x = _expand(net, x)
    if direction.ndim == 2:
        direction = direction[:, None, :].expand_as(x)
    s = _sign(net._forward(x))
    lo = torch.zeros_like(s)
    hi = torch.full_like(lo, math.inf)
    max_t = max_t if isinstance(max_t, torch.Tensor) else torch.full_like(lo, max_t)
    for j in range(1, grid + 1):
        t = max_t * (j / grid)
        todo = torch.isinf(hi)
        if not bool(todo.any()):
            break
        flips = (s * net._forward(x + t[..., None] * direction) < 0) & todo
        hi = torch.where(flips, t, hi)
        lo = torch.where(todo & ~flips, t, lo)
    found = torch.isfinite(hi)
    hi_f = torch.where(found, hi, torch.zeros_like(hi))
    for _ in range(200):
        if bool(((hi_f - lo) <= rtol * hi_f).all()):
            break
        mid = (lo + hi_f) / 2
        flips = s * net._forward(x + mid[..., None] * direction) < 0
        hi_f = torch.where(found & flips, mid, hi_f)
        lo = torch.where(found & ~flips, mid, lo)
    return torch.where(found, hi_f, hi)


def _first_flip(net, x, direction, max_t, rtol):
    """Smallest flipping scale along x + t·direction for t ≤ max_t (a float, possibly inf, or (E, n))."""
    if isinstance(net, TwoLayerReLU):
        return _first_flip_exact(net, x, direction, max_t, rtol)
    if not isinstance(max_t, torch.Tensor) and math.isinf(max_t):
        raise ValueError("max_norm must be finite for a network that is not a TwoLayerReLU (it is scanned on a grid)")
    return _first_flip_scan(net, x, direction, max_t, rtol)


def flip_along(net: EnsembleNet, x, direction, *, max_norm: float = math.inf, rtol: float = 1e-6):
    """Smallest step along a given direction that flips N(x): the size ‖z‖, z = t·direction/‖direction‖.

    Parameters
    ----------
    net : EnsembleNet
        Exact (breakpoints) for a TwoLayerReLU, grid scan + bisection otherwise (``max_norm`` finite).
    x : tensor (n, d) or (E, n, d)
    direction : tensor (d,), (E, d) or (E, n, d)
        One direction for all, one per member, or one per point; normalised here (Euclidean).
    max_norm : float > 0 or inf

    Returns
    -------
    size : (E, n), ``inf`` where no step of norm ≤ ``max_norm`` flips;  flipped : (E, n) bool.
    """
    if not isinstance(net, EnsembleNet):
        raise TypeError(f"net must be an advsub network (TwoLayerReLU, ...), got {type(net).__name__}")
    max_norm = _check_max_norm(max_norm)
    rtol = check_float("rtol", rtol, low=0.0, high=0.1, low_inclusive=False)
    x = check_net_points("x", x, net)
    direction = check_tensor("direction", direction, ndim=(1, 2, 3), dtype=net.dtype, device=net.device, last_dim=net.d)
    if direction.ndim == 1:
        direction = direction.expand(net.ensemble, -1)
    expected = (net.ensemble, net.d) if direction.ndim == 2 else (net.ensemble, x.shape[-2], net.d)
    if tuple(direction.shape) != expected:
        raise ValueError(f"direction must have shape (d,), (E, d) or (E, n, d) = {expected}, got {tuple(direction.shape)}")
    norm = direction.norm(dim=-1, keepdim=True)
    if bool((norm == 0).any()):
        raise ValueError("direction must be non-zero")
    size = _first_flip(net, x, direction / norm, max_norm, rtol)
    flipped = torch.isfinite(size) & (size <= max_norm)
    return torch.where(flipped, size, torch.full_like(size, math.inf)), flipped


# --- Theorem B: one universal direction ----------------------------------------------
def universal_direction(net: TwoLayerReLU, subspace: Subspace) -> torch.Tensor:
    """The universal direction v/‖v‖, v = Σ_i u_i Π w_i, one unit vector in P⊥ per member: (E, d).

    With (S)GD and no weight decay Π w_i = Π w_i(0) (invariance lemma), so v does not
    depend on the input nor on the training data. Raises if v = 0.
    """
    _check_net_subspace(net, subspace)
    _check_two_layer(net, "universal_direction")
    C = _orth(subspace, net)
    v = torch.einsum("em,emd->ed", net.u, net.W) @ C @ C.T  # Π Σ u_i w_i
    norm = v.norm(dim=-1, keepdim=True)
    if bool((norm == 0).any()):
        raise ValueError("the universal direction Σ_i u_i Π w_i is zero for some member: it has no direction")
    return v / norm


def self_term_agreement(net: TwoLayerReLU, subspace: Subspace) -> torch.Tensor:
    """Fraction of neurons j with u_j (Π w_j · v) > 0, v = Σ_i u_i Π w_i: (E,).

    Those are the neurons whose pre-activation the universal step moves in the direction
    of Theorem B's self term (compare :func:`advsub.theory.self_term_agreement`).
    """
    _check_net_subspace(net, subspace)
    _check_two_layer(net, "self_term_agreement")
    C = _orth(subspace, net)
    Wp = net.W @ C  # (E, m, ℓ)
    v = torch.einsum("em,eml->el", net.u, Wp)
    return ((net.u * torch.einsum("eml,el->em", Wp, v)) > 0).to(net.dtype).mean(-1)


def universal_perturbation(
    net: TwoLayerReLU,
    x,
    subspace: Subspace,
    *,
    max_norm: float = math.inf,
    rtol: float = 1e-6,
    tol: float = 1e-8,
):
    """Smallest step along −sign(N(x))·v/‖v‖ (:func:`universal_direction`) that flips N(x).

    Parameters
    ----------
    net : TwoLayerReLU
    x : tensor (n, d) or (E, n, d)
        Points of P (relative tolerance ``tol``).
    subspace : Subspace
    max_norm : float > 0 or inf
        Largest step considered (Euclidean norm). With ``inf`` the exact piecewise-linear
        structure decides whether any step flips.
    rtol : float
        Relative tolerance on the size (the returned step flips).

    Returns
    -------
    size : tensor (E, n)
        ‖z‖ of the smallest flipping step z = −s·size·v/‖v‖ (``inf`` where none flips).
    flipped : tensor (E, n), bool
        Whether a step of norm ≤ ``max_norm`` flips the point.
    """
    _check_net_subspace(net, subspace)
    _check_two_layer(net, "universal_perturbation")
    max_norm = _check_max_norm(max_norm)
    rtol = check_float("rtol", rtol, low=0.0, high=0.1, low_inclusive=False)
    x = check_net_points("x", x, net, subspace=subspace, tol=check_float("tol", tol, low=0.0))
    v = universal_direction(net, subspace)
    s = _sign(net._forward(x))
    return flip_along(net, x, -s[..., None] * v[:, None, :], max_norm=max_norm, rtol=rtol)


# --- DeepFool-style attacks --------------------------------------------------------
def _vec_norm(v: torch.Tensor, norm: str) -> torch.Tensor:
    """ℓ2, ℓ1 or ℓ∞ norm over the last axis."""
    if norm == "l2":
        return v.norm(dim=-1)
    if norm == "l1":
        return v.abs().sum(dim=-1)
    return v.abs().amax(dim=-1)


def _dual_step(grad: torch.Tensor, norm: str):
    """The unit-cost direction that raises the linearised output fastest, and the dual norm of grad.

    l2: grad/‖grad‖²;  linf: sign(grad)/‖grad‖₁;  l1: e_j/grad_j at j = argmax |grad_j|
    (the whole budget on the steepest coordinate). Each step moves the linearised output by 1.
    """
    if norm == "l2":
        denom = (grad * grad).sum(-1)
        step = grad
    elif norm == "linf":
        denom = grad.abs().sum(-1)
        step = grad.sign()
    else:
        j = grad.abs().argmax(-1, keepdim=True)
        gj = grad.gather(-1, j)
        step = torch.zeros_like(grad).scatter_(-1, j, gj.sign())
        denom = gj.abs()[..., 0]
    safe = torch.where(denom > 0, denom, torch.ones_like(denom))
    return step / safe[..., None], denom


def _deepfool(net, x, B, norm, steps, overshoot):
    """Linearised steps on g = s·N, aiming at g = −κ (κ = overshoot·|N(x)|) until x + z flips.

    z = B c with c the coordinates in B: ``B`` is None (all of R^d, z = c), a shared basis
    (d, r) or one basis per point (n, d, r). Each step is the norm's dual step
    (:func:`_dual_step`) on the coordinates: for l2 the closest point of the linearised
    level set. Aiming past the boundary avoids DeepFool's creeping towards a kink of the
    boundary that it never crosses; on a flat piece (zero gradient) the last gradient is
    reused with doubling steps. Returns c (E, n, r), the map c ↦ z, and where x + z flips (E, n).
    """
    x = _expand(net, x)
    out = net._forward(x)
    s, kappa = _sign(out), overshoot * out.abs()
    E, n, d = x.shape
    if B is None:
        embed = coords = lambda v: v  # noqa: E731
    elif B.ndim == 2:
        embed, coords = (lambda c: c @ B.T), (lambda v: v @ B)
    else:
        embed = lambda c: torch.einsum("ndr,enr->end", B, c)  # noqa: E731
        coords = lambda v: torch.einsum("ndr,end->enr", B, v)  # noqa: E731
    c = torch.zeros(E, n, d if B is None else B.shape[-1], dtype=x.dtype, device=x.device)
    done = torch.zeros(E, n, dtype=torch.bool, device=x.device)
    last = torch.zeros_like(c)
    boost = torch.ones(E, n, 1, dtype=x.dtype, device=x.device)
    for _ in range(steps):
        g = s * net._forward(x + embed(c))
        done = done | (g < 0)
        if bool(done.all()):
            break
        grad = coords(s[..., None] * net._input_gradient(x + embed(c)))
        # on a flat piece (every neuron off, N = 0) keep going along the last gradient,
        # with steps that double while the piece lasts
        flat = ~(grad != 0).any(-1, keepdim=True)
        last = torch.where(flat, last, grad)
        boost = torch.where(flat, 2 * boost, torch.ones_like(boost))
        step, denom = _dual_step(last, norm)
        move = (~done & (denom > 0))[..., None]
        c = torch.where(move, c - boost * (g + kappa + 1e-12)[..., None] * step, c)
    done = done | (s * net._forward(x + embed(c)) < 0)
    return c, embed, done


def _attack(net, x, B, norm, steps, overshoot, rtol, *, coordinate_norm=False):
    """DeepFool then the first flip along the found direction: unit direction (E, n, d), size (E, n).

    The size is the norm of z in R^d, or of its coordinates in B when ``coordinate_norm``.
    """
    c, embed, done = _deepfool(net, x, B, norm, steps, overshoot)
    z = embed(c)
    length = _vec_norm(c if coordinate_norm else z, norm)
    ok = done & (length > 0)
    safe_len = torch.where(ok, length, torch.ones_like(length))
    direction = z / safe_len[..., None]
    size = _first_flip(net, x, direction, safe_len, rtol)
    size = torch.where(ok & (size <= length * (1 + rtol)), size, torch.where(ok, length, torch.full_like(length, math.inf)))
    on_boundary = net._forward(_expand(net, x)) == 0
    return direction, torch.where(on_boundary, torch.zeros_like(size), size)


def _finish(direction, size):
    found = torch.isfinite(size)
    z = direction * torch.where(found, size, torch.zeros_like(size))[..., None]
    return z, size


def orthogonal_attack(
    net: EnsembleNet,
    x,
    subspace: Subspace,
    *,
    norm: str = "l2",
    steps: int = 50,
    overshoot: float = 0.02,
    rtol: float = 1e-6,
    tol: float = 1e-8,
):
    """A small flipping perturbation restricted to P⊥ (DeepFool in P⊥, then a line search).

    DeepFool steps {cite:p}`moosavi2016deepfool` on the orthogonal coordinates c (z = C c,
    C = ``subspace.orth_basis``) until x + z flips; then the first flip along z/‖z‖
    (exact for a two-layer net, :func:`universal_perturbation`'s method). For a
    :class:`~advsub.network.TwoLayerReLU` the universal step is a second candidate and the
    smaller of the two is returned, so the size is never larger than the universal size.

    Parameters
    ----------
    net : EnsembleNet
    x : tensor (n, d) or (E, n, d)
        Points of P (relative tolerance ``tol``).
    subspace : Subspace
    norm : {"l2", "linf"}
        ``"l2"``: Euclidean norm of z. ``"linf"``: the ℓ∞ norm max_j |z_j| of z in R^d (z ∈ P⊥);
        the step is the sign step in the coordinates of ``orth_basis``, which is the exact
        dual-norm step when P is axis-aligned (then ‖z‖_∞ is the ℓ∞ norm of the ℓ orthogonal
        coordinates) and a heuristic otherwise.
    steps : int
        Maximal number of DeepFool steps.
    overshoot : float ≥ 0
        DeepFool aims at s·N = −overshoot·|N(x)|, past the boundary (the line search
        then moves back to the first flip).

    Returns
    -------
    z : tensor (E, n, d)
        The perturbation, in P⊥; x + z flips (zero where nothing flipped).
    size : tensor (E, n)
        ‖z‖ in the chosen norm (``inf`` where nothing flipped).
    """
    _check_net_subspace(net, subspace)
    norm = check_choice("norm", norm, NORMS)
    steps = check_int("steps", steps, low=1)
    overshoot = check_float("overshoot", overshoot, low=0.0, high=10.0)
    rtol = check_float("rtol", rtol, low=0.0, high=0.1, low_inclusive=False)
    x = check_net_points("x", x, net, subspace=subspace, tol=check_float("tol", tol, low=0.0))
    C = _orth(subspace, net)
    direction, size = _attack(net, x, C, norm, steps, overshoot, rtol)
    if isinstance(net, TwoLayerReLU):
        v = universal_direction(net, subspace)
        s = _sign(net._forward(x))
        u_dir = -s[..., None] * v[:, None, :]
        u_dir = u_dir / _vec_norm(u_dir, norm)[..., None]
        u_size = _first_flip_exact(net, x, u_dir, math.inf, rtol)
        better = u_size < size
        size = torch.where(better, u_size, size)
        direction = torch.where(better[..., None], u_dir, direction)
    return _finish(direction, size)


def unconstrained_attack(
    net: EnsembleNet,
    x,
    *,
    norm: str = "l2",
    steps: int = 50,
    overshoot: float = 0.02,
    rtol: float = 1e-6,
):
    """The same DeepFool attack in all of R^d, for comparison with :func:`orthogonal_attack`.

    ``x`` (n, d) or (E, n, d) may be anywhere. Returns z (E, n, d) and its norm (E, n)
    (``"l2"`` or ``"linf"``, coordinates of R^d), ``inf`` where nothing flipped.
    """
    if not isinstance(net, EnsembleNet):
        raise TypeError(f"net must be an advsub network (TwoLayerReLU, ...), got {type(net).__name__}")
    norm = check_choice("norm", norm, NORMS)
    steps = check_int("steps", steps, low=1)
    overshoot = check_float("overshoot", overshoot, low=0.0, high=10.0)
    rtol = check_float("rtol", rtol, low=0.0, high=0.1, low_inclusive=False)
    x = check_net_points("x", x, net)
    return _finish(*_attack(net, x, None, norm, steps, overshoot, rtol))


# --- the certificate ---------------------------------------------------------------
def orthogonal_lipschitz_constant(net: TwoLayerReLU, subspace: Subspace) -> torch.Tensor:
    """‖W⊥‖_op·‖u‖ per member, (E,): a Lipschitz constant of N along P⊥, W⊥ = W C (m×ℓ)."""
    _check_net_subspace(net, subspace)
    _check_two_layer(net, "orthogonal_lipschitz_constant")
    W_orth = net.W @ _orth(subspace, net)  # (E, m, ℓ)
    return torch.linalg.matrix_norm(W_orth, ord=2) * net.u.norm(dim=-1)


def certified_orthogonal_radius(net: TwoLayerReLU, x, subspace: Subspace) -> torch.Tensor:
    """|N(x)| / (‖W⊥‖_op ‖u‖): no z ∈ P⊥ of smaller norm changes the sign of N(x): (E, n).

    For z ∈ P⊥, ∇N·z = Σ_i s_i u_i (Π w_i)·z with s ∈ {0,1}^m (biases included), and
    ‖Σ_i s_i u_i Π w_i‖ = ‖W⊥ᵀ(s⊙u)‖ ≤ ‖W⊥‖_op ‖u‖ (= ‖W⊥‖_op for a fixed second layer).
    ``x`` (n, d) or (E, n, d) may be any point (the argument does not use x ∈ P).
    ``inf`` where W⊥ = 0.
    """
    _check_net_subspace(net, subspace)
    _check_two_layer(net, "certified_orthogonal_radius")
    x = check_net_points("x", x, net)
    lip = orthogonal_lipschitz_constant(net, subspace)[:, None]
    out = net._forward(x).abs()
    return torch.where(lip > 0, out / torch.where(lip > 0, lip, torch.ones_like(lip)), torch.full_like(out, math.inf))


# --- measuring all of them on a trained ensemble ---------------------------------------
@dataclass
class AttackSample:
    """Every size of the chapters' sandwich at every held-out point x0 ∈ P of every member.

    Arrays of shape (E, n) unless said otherwise (numpy, float64); an attack that was not
    run is ``None``. ``inf`` marks points that an attack did not flip.

    Attributes
    ----------
    d, ell, m : int;  beta : float
    output : N(x0).    k : number of active neurons at x0.    label : held-out label (or None).
    orth_grad : ‖Π∇N(x0)‖.
    certified : :func:`certified_orthogonal_radius`.
    universal, flipped : :func:`universal_perturbation` (size, bool).
    orthogonal : l2 size of :func:`orthogonal_attack`.   unconstrained : of :func:`unconstrained_attack`.
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
        """Theorem B's size |N(x0)|·m/(kβ√ℓ) (:func:`advsub.theory.predicted_universal_size`)."""
        return theory.predicted_universal_size(self.output, self.k, self.m, self.d, self.ell, beta=self.beta)

    @property
    def accuracy(self) -> np.ndarray:
        """(E,) held-out accuracy sign N(x0) = y0 (points with N(x0) = 0 count as errors)."""
        if self.label is None:
            raise ValueError("this sample has no held-out labels (labels=None)")
        return (np.sign(self.output) == self.label).mean(axis=1)

    def flip_rate(self, budget: float = math.inf) -> float:
        """Fraction of points flipped by a universal step of norm ≤ ``budget``."""
        return float((self.flipped & (self.universal <= budget)).mean())

    def __repr__(self) -> str:
        return (f"AttackSample(d={self.d}, ell={self.ell}, m={self.m}, beta={self.beta:.3g}, "
                f"points={self.output.shape}, flip rate={self.flip_rate():.3f})")


def attack_sample(net: TwoLayerReLU, x, subspace: Subspace, *, y=None, attack: bool = True,
                  unconstrained: bool = False, steps: int = 50) -> AttackSample:
    """Measure N, k, ‖Π∇N‖, the certificate, the universal step and (optionally) the attacks at x.

    ``x`` (n, d) or (E, n, d) points of P, ``y`` (n,) their labels or None. ``attack``: run
    :func:`orthogonal_attack` (l2); ``unconstrained``: run :func:`unconstrained_attack` too.
    """
    _check_net_subspace(net, subspace)
    _check_two_layer(net, "attack_sample")
    x = check_net_points("x", x, net, subspace=subspace)
    if y is not None:
        y = check_labels("y", y, x.shape[-2], dtype=net.dtype, device=net.device)
    np_ = lambda t: t.detach().cpu().numpy().astype(np.float64)  # noqa: E731
    size, flipped = universal_perturbation(net, x, subspace)
    return AttackSample(
        d=net.d, ell=subspace.ell, m=net.m, beta=net.beta,
        output=np_(net._forward(x)),
        k=np_(net._preactivation(x) > 0).sum(-1),
        label=None if y is None else np_(y),
        orth_grad=np_((net._input_gradient(x) @ _orth(subspace, net)).norm(dim=-1)),
        certified=np_(certified_orthogonal_radius(net, x, subspace)),
        universal=np_(size), flipped=flipped.cpu().numpy(),
        orthogonal=np_(orthogonal_attack(net, x, subspace, steps=steps)[1]) if attack else None,
        unconstrained=np_(unconstrained_attack(net, x, steps=steps)[1]) if unconstrained else None,
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
    """Train an ensemble on n points of a random P and measure :func:`attack_sample` on n_test held-out points.

    The n + n_test points come from one draw of :func:`advsub.make_dataset` (so with
    ``labels="linear"`` the held-out labels follow the same halfspace). Seeds: subspace
    ``seed``, data ``seed + 1``, networks ``seed + 2``.
    """
    from .training import train

    task, finish = _attack_task(d, ell, m, ensemble=ensemble, n=n, n_test=n_test, init_scale=init_scale,
                                labels=labels, optimizer=optimizer, lr=lr, max_steps=max_steps,
                                weight_decay=weight_decay, attack=attack, unconstrained=unconstrained, seed=seed)
    net, X, y, kw = task
    return finish(train(net, X, y, progress=False, **kw))


def _attack_task(d, ell, m, *, ensemble, n, n_test, init_scale, labels, optimizer, lr, max_steps, weight_decay,
                 attack, unconstrained, seed):
    """The set-up of :func:`attack_experiment`: ((net, X, y, train kwargs), history ↦ AttackSample)."""
    ensemble = check_int("ensemble", ensemble, low=1)
    n = check_int("n", n, low=1)
    n_test = check_int("n_test", n_test, low=1)
    P = Subspace.random(d, ell, seed=seed)
    X, y = make_dataset(P, n + n_test, seed=seed + 1, labels=labels)
    net = TwoLayerReLU(d, m, ensemble=ensemble, init_scale=init_scale, seed=seed + 2)

    def finish(hist):
        sample = attack_sample(net, X[n:], P, y=y[n:], attack=attack, unconstrained=unconstrained)
        sample.reached, sample.steps = hist.reached.cpu().numpy(), hist.steps.cpu().numpy()
        sample.train_margin = hist.final_margin.cpu().numpy()
        return sample

    kw = dict(optimizer=optimizer, lr=lr, max_steps=max_steps, weight_decay=weight_decay)
    return (net, X[:n], y[:n], kw), finish


_ATTACK_DEFAULTS = dict(n=100, n_test=100, init_scale="standard", labels="random", optimizer="gd", lr=0.5,
                        max_steps=2000, weight_decay=0.0, attack=True, unconstrained=False, seed=0)


def attack_sweep(configs, *, progress: bool = True, **common) -> list[AttackSample]:
    """:func:`attack_experiment` for many configurations, trained together by :func:`advsub.train_sweep`.

    ``configs`` is a sequence of dicts of :func:`attack_experiment`'s arguments (``d``,
    ``ell``, ``m`` and ``ensemble`` required, either there or in ``common``, which holds
    the settings shared by all). Configurations of equal shape share one batched
    training loop; each result equals that of its own :func:`attack_experiment` call (GD
    or momentum, to rounding). Returns one :class:`AttackSample` per config, in order.
    """
    from .training import train_sweep

    tasks, finishers = [], []
    for i, cfg in enumerate(configs):
        kw = {**_ATTACK_DEFAULTS, **common, **cfg}
        missing = {"d", "ell", "m", "ensemble"} - set(kw)
        if missing:
            raise ValueError(f"configs[{i}] needs {sorted(missing)} (in the config or as common arguments)")
        unknown = set(kw) - set(_ATTACK_DEFAULTS) - {"d", "ell", "m", "ensemble"}
        if unknown:
            raise TypeError(f"configs[{i}]: unknown attack_experiment arguments {sorted(unknown)}")
        d, ell, m = kw.pop("d"), kw.pop("ell"), kw.pop("m")
        (net, X, y, train_kw), finish = _attack_task(d, ell, m, **kw)
        tasks.append((net, X, y, train_kw))
        finishers.append(finish)
    histories = train_sweep(tasks, progress=progress, desc="attack sweep")
    return [finish(h) for finish, h in zip(finishers, histories)]
