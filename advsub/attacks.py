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

What is here: the orthogonal gradient; the first flip along a ray (:func:`flip_along`);
Theorem B's universal direction and step; the DeepFool-then-line-search attacks in P⊥
(:func:`orthogonal_attack`, ℓ2 and ℓ∞; :func:`orthogonal_l1_attack`), in all of R^d
(:func:`unconstrained_attack`), in the span of any basis, shared or one per point
(:func:`restricted_attack`), and in the normal spaces of a curved manifold
(:func:`normal_attack`); the certificates of Theorem C, for two-layer networks
(:func:`certified_orthogonal_radius`) and deeper ones
(:func:`deep_certified_orthogonal_radius`).
"""

from __future__ import annotations

import math

import torch

from ._validation import (
    Choice,
    InstanceOf,
    Integer,
    Real,
    check_net_points,
    check_tensor,
    validate_params,
)
from .deep import DeepReLU
from .geometry import Subspace
from .manifolds import Manifold
from .network import EnsembleNet, TwoLayerReLU, check_finite

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
    "restricted_attack",
    "orthogonal_l1_attack",
    "normal_attack",
    "deep_orthogonal_lipschitz_bound",
    "deep_certified_orthogonal_radius",
    "check_net_subspace",
    "check_two_layer",
    "check_dimensions",
]

NORMS = {"l2", "linf"}
RESTRICTED_NORMS = {"l2", "l1", "linf"}


# --- the parameters, declared once (advsub._validation) -------------------------------
class FiniteNet(InstanceOf):
    """A network of the given class whose weights are all finite (a diverged one is
    refused: its attack sizes would read ``inf``, as if it were robust)."""

    def check(self, name, value, bound):
        value = super().check(name, value, bound)
        check_finite(value, name)
        return value


NET = FiniteNet(EnsembleNet, "an advsub network (TwoLayerReLU, DeepReLU, ...)")
TWO_LAYER = FiniteNet(TwoLayerReLU, "a TwoLayerReLU")
DEEP = FiniteNet(DeepReLU, "a DeepReLU")
SUBSPACE = InstanceOf(Subspace, "a Subspace")
TOL = Real(low=0.0)  # relative distance from P accepted for a point of P
RTOL = Real(low=0.0, high=0.1, closed="right")  # relative precision of a size
MAX_NORM = Real(low=0.0, closed="neither", allow_inf=True)
STEPS = Integer(low=1)
OVERSHOOT = Real(low=0.0, high=10.0)
DEEPFOOL = {"steps": STEPS, "overshoot": OVERSHOOT, "rtol": RTOL}


def check_net_subspace(net, subspace) -> None:
    """Raise unless ``net`` is an advsub network and ``subspace`` a :class:`Subspace` of
    its dimension."""
    NET.check("net", net, {})
    SUBSPACE.check("subspace", subspace, {})
    check_dimensions(net, subspace)


def check_dimensions(net, subspace) -> None:
    """Raise a ValueError unless the subspace lives in the network's input space (same
    d)."""
    if subspace.d != net.d:
        raise ValueError(f"subspace.d={subspace.d} does not match net.d={net.d}")


def check_two_layer(net, what: str) -> None:
    """Raise a TypeError unless ``net`` is a :class:`TwoLayerReLU` (``what`` names the
    caller)."""
    if not isinstance(net, TwoLayerReLU):
        raise TypeError(
            f"{what} is defined for a TwoLayerReLU only, got net of type "
            f"{type(net).__name__}"
        )


def _orth(subspace, net) -> torch.Tensor:
    return subspace.orth_basis.to(net.device, net.dtype)


def _sign(out: torch.Tensor) -> torch.Tensor:
    """sign with sign(0) = +1."""
    return torch.where(out >= 0, 1.0, -1.0).to(out.dtype)


def _expand(net, x: torch.Tensor) -> torch.Tensor:
    return x.expand(net.ensemble, -1, -1) if x.ndim == 2 else x


@validate_params({"net": NET, "subspace": SUBSPACE, "tol": TOL})
def orthogonal_gradient(
    net: EnsembleNet, x, subspace: Subspace, *, tol: float = 1e-8
) -> torch.Tensor:
    r"""Π∇ₓN(x) in P⊥ coordinates (``subspace.orth_basis``): shape (E, n, ℓ).

    ``x`` (n, d) or (E, n, d) must lie in P (relative tolerance ``tol``). By the
    invariance lemma this equals :math:`\sum_{i \in I(x)} u_i C^\top w_i(0)` (I(x) the
    neurons active at x) for (S)GD training without weight decay (C = ``orth_basis``).
    """
    check_dimensions(net, subspace)
    x = check_net_points("x", x, net, subspace=subspace, tol=tol)
    C = subspace.orth_basis.to(net.device, net.dtype)
    return net._input_gradient(x) @ C


# --- the first sign change along a ray -------------------------------------------
def _first_flip_exact(
    net: TwoLayerReLU, x, direction, max_t: float, rtol: float
) -> torch.Tensor:
    """Smallest flipping scale along x + t·direction, t ∈ (0, max_t], for a two-layer
    net: (E, n).

    g(t) = s·N(x + t v) = Σ_i s u_i σ(a_i + t b_i) + s c is piecewise linear (c the
    output bias, 0 without one: it enters the sign s and g(0), not the slopes); neuron i
    switches at τ_i = −a_i/b_i and the slope then changes by s u_i |b_i| (on: +s u_i b_i
    with b_i > 0; off: −s u_i b_i with b_i < 0). Cumulative sums over the sorted τ give
    g at every knot; the first knot with g < 0 closes the segment holding the first
    crossing t*.
    """
    x = _expand(net, x)
    a = net._preactivation(x)  # (E, n, m)
    if direction.ndim == 2:  # one direction per member
        b = torch.einsum("emd,ed->em", net.W, direction)[:, None, :].expand_as(a)
    else:
        b = torch.einsum("emd,end->enm", net.W, direction)
    out0 = net._outputs(a)  # N(x), with the output bias c when the net has one
    s = _sign(out0)
    cu = s[..., None] * net.u[:, None, :]  # signed second layer, (E, n, m)
    g0 = (cu * torch.relu(a)).sum(-1)
    if net.has_output_bias:
        g0 = g0 + s * net.c[:, None]
    active0 = (a > 0) | ((a == 0) & (b > 0))
    slope0 = (cu * b * active0).sum(-1)
    tau = torch.where(
        b != 0,
        -a / torch.where(b != 0, b, torch.ones_like(b)),
        torch.full_like(a, -1.0),
    )
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
    slopes = torch.cat(
        [slope0[..., None], slope0[..., None] + delta.cumsum(-1)], dim=-1
    )  # slope after each knot but the last
    dt = knots[..., 1:] - knots[..., :-1]
    g = torch.cat(
        [g0[..., None], g0[..., None] + (slopes * dt).cumsum(-1)], dim=-1
    )  # g at every knot
    # Rounding in the cumulative sums: a value within `eps` of 0 is 0 (N often rests at
    # exactly 0 on a stretch where every neuron is off and c = 0, and that is not a
    # flip); the scale includes |c|, which every g carries.
    eps = 1e-10 * (
        g0.abs()
        + (net.u.abs()[:, None, :] * (a.abs() + b.abs() * knots[..., -1:])).sum(-1)
    )
    if net.has_output_bias:
        eps = eps + 1e-10 * net.c.abs()[:, None]
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
        root_tail = knots[..., -1] + g_last.clamp(min=0) / (
            -torch.where(tail, slope_last, -torch.ones_like(slope_last))
        )
        out = torch.where(tail, root_tail * (1 + rtol / 2), out)
        found = found | tail
    out = torch.where(g0 == 0, torch.zeros_like(out), out)  # on the boundary already
    return torch.where(found | (g0 == 0), out, torch.full_like(out, math.inf))


def _first_flip_scan(
    net: EnsembleNet, x, direction, max_t: float, rtol: float, grid: int = 256
) -> torch.Tensor:
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
    """Smallest flipping scale along x + t·direction for t ≤ max_t (a float, possibly
    inf, or (E, n))."""
    if isinstance(net, TwoLayerReLU):
        return _first_flip_exact(net, x, direction, max_t, rtol)
    if not isinstance(max_t, torch.Tensor) and math.isinf(max_t):
        raise ValueError(
            "max_norm must be finite for a network that is not a TwoLayerReLU (it is "
            "scanned on a grid)"
        )
    return _first_flip_scan(net, x, direction, max_t, rtol)


@validate_params({"net": NET, "max_norm": MAX_NORM, "rtol": RTOL})
def flip_along(
    net: EnsembleNet, x, direction, *, max_norm: float = math.inf, rtol: float = 1e-6
):
    """Smallest step along a given direction that flips N(x): the size ‖z‖, z =
    t·direction/‖direction‖.

    Parameters
    ----------
    net : EnsembleNet
        Exact (breakpoints) for a TwoLayerReLU, grid scan + bisection otherwise
        (``max_norm`` finite).
    x : tensor (n, d) or (E, n, d)
    direction : tensor (d,), (E, d) or (E, n, d)
        One direction for all, one per member, or one per point; normalised here
        (Euclidean).
    max_norm : float > 0 or inf

    Returns
    -------
    size : (E, n), ``inf`` where no step of norm ≤ ``max_norm`` flips;  flipped : (E, n)
        bool.
    """
    x = check_net_points("x", x, net)
    direction = check_tensor(
        "direction",
        direction,
        ndim=(1, 2, 3),
        dtype=net.dtype,
        device=net.device,
        last_dim=net.d,
    )
    if direction.ndim == 1:
        direction = direction.expand(net.ensemble, -1)
    expected = (
        (net.ensemble, net.d)
        if direction.ndim == 2
        else (net.ensemble, x.shape[-2], net.d)
    )
    if tuple(direction.shape) != expected:
        raise ValueError(
            f"direction must have shape (d,), (E, d) or (E, n, d) = {expected}, got "
            f"{tuple(direction.shape)}"
        )
    norm = direction.norm(dim=-1, keepdim=True)
    if bool((norm == 0).any()):
        raise ValueError("direction must be non-zero")
    size = _first_flip(net, x, direction / norm, max_norm, rtol)
    flipped = torch.isfinite(size) & (size <= max_norm)
    return torch.where(flipped, size, torch.full_like(size, math.inf)), flipped


# --- Theorem B: one universal direction ----------------------------------------------
@validate_params({"net": TWO_LAYER, "subspace": SUBSPACE})
def universal_direction(net: TwoLayerReLU, subspace: Subspace) -> torch.Tensor:
    """The universal direction v/‖v‖, v = Σ_i u_i Π w_i, one unit vector in P⊥ per
    member: (E, d).

    With (S)GD and no weight decay Π w_i = Π w_i(0) (invariance lemma), so v does not
    depend on the input nor on the training data. Raises if v = 0.
    """
    check_dimensions(net, subspace)
    C = _orth(subspace, net)
    v = torch.einsum("em,emd->ed", net.u, net.W) @ C @ C.T  # Π Σ u_i w_i
    norm = v.norm(dim=-1, keepdim=True)
    if bool((norm == 0).any()):
        raise ValueError(
            "the universal direction Σ_i u_i Π w_i is zero for some member: it has no "
            "direction"
        )
    return v / norm


@validate_params({"net": TWO_LAYER, "subspace": SUBSPACE})
def self_term_agreement(net: TwoLayerReLU, subspace: Subspace) -> torch.Tensor:
    """Fraction of neurons j with u_j (Π w_j · v) > 0, v = Σ_i u_i Π w_i: (E,).

    Those are the neurons whose pre-activation the universal step moves in the direction
    of Theorem B's self term (compare :func:`advsub.theory.self_term_agreement`).
    """
    check_dimensions(net, subspace)
    C = _orth(subspace, net)
    Wp = net.W @ C  # (E, m, ℓ)
    v = torch.einsum("em,eml->el", net.u, Wp)
    return ((net.u * torch.einsum("eml,el->em", Wp, v)) > 0).to(net.dtype).mean(-1)


@validate_params(
    {
        "net": TWO_LAYER,
        "subspace": SUBSPACE,
        "max_norm": MAX_NORM,
        "rtol": RTOL,
        "tol": TOL,
    }
)
def universal_perturbation(
    net: TwoLayerReLU,
    x,
    subspace: Subspace,
    *,
    max_norm: float = math.inf,
    rtol: float = 1e-6,
    tol: float = 1e-8,
):
    """Smallest step along −sign(N(x))·v/‖v‖ (:func:`universal_direction`) that flips
    N(x).

    Parameters
    ----------
    net : TwoLayerReLU
    x : tensor (n, d) or (E, n, d)
        Points of P (relative tolerance ``tol``).
    subspace : Subspace
    max_norm : float > 0 or inf
        Largest step considered (Euclidean norm). With ``inf`` the exact
        piecewise-linear structure decides whether any step flips.
    rtol : float
        Relative tolerance on the size (the returned step flips).

    Returns
    -------
    size : tensor (E, n)
        ‖z‖ of the smallest flipping step z = −s·size·v/‖v‖ (``inf`` where none flips).
    flipped : tensor (E, n), bool
        Whether a step of norm ≤ ``max_norm`` flips the point.
    """
    check_dimensions(net, subspace)
    x = check_net_points("x", x, net, subspace=subspace, tol=tol)
    v = universal_direction(net, subspace)
    s = _sign(net._forward(x))
    return flip_along(
        net, x, -s[..., None] * v[:, None, :], max_norm=max_norm, rtol=rtol
    )


# --- DeepFool-style attacks --------------------------------------------------------
def _vec_norm(v: torch.Tensor, norm: str) -> torch.Tensor:
    """ℓ2, ℓ1 or ℓ∞ norm over the last axis."""
    if norm == "l2":
        return v.norm(dim=-1)
    if norm == "l1":
        return v.abs().sum(dim=-1)
    return v.abs().amax(dim=-1)


def _dual_step(grad: torch.Tensor, norm: str):
    """The unit-cost direction that raises the linearised output fastest, and the dual
    norm of grad.

    l2: grad/‖grad‖²;  linf: sign(grad)/‖grad‖₁;  l1: e_j/grad_j at j = argmax |grad_j|
    (the whole budget on the steepest coordinate). Each step moves the linearised output
    by 1.
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
    """Linearised steps on g = s·N, aiming at g = −κ (κ = overshoot·|N(x)|) until x + z
    flips.

    z = B c with c the coordinates in B: ``B`` is None (all of R^d, z = c), a shared
    basis (d, r) or one basis per point (n, d, r). Each step is the norm's dual step
    (:func:`_dual_step`) on the coordinates: for l2 the closest point of the linearised
    level set. Aiming past the boundary avoids DeepFool's creeping towards a kink of the
    boundary that it never crosses; on a flat piece (zero gradient) the last gradient is
    reused with doubling steps. Returns c (E, n, r), the map c ↦ z, and where x + z
    flips (E, n).
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
    c = torch.zeros(
        E, n, d if B is None else B.shape[-1], dtype=x.dtype, device=x.device
    )
    done = torch.zeros(E, n, dtype=torch.bool, device=x.device)
    last = torch.zeros_like(c)
    boost = torch.ones(E, n, 1, dtype=x.dtype, device=x.device)
    for _ in range(steps):
        g = s * net._forward(x + embed(c))
        done = done | (g < 0)
        if bool(done.all()):
            break
        grad = coords(s[..., None] * net._input_gradient(x + embed(c)))
        # on a flat piece (every neuron off, N = c, the output bias or 0) keep going
        # along the last gradient, with steps that double while the piece lasts
        flat = ~(grad != 0).any(-1, keepdim=True)
        last = torch.where(flat, last, grad)
        boost = torch.where(flat, 2 * boost, torch.ones_like(boost))
        step, denom = _dual_step(last, norm)
        move = (~done & (denom > 0))[..., None]
        c = torch.where(move, c - boost * (g + kappa + 1e-12)[..., None] * step, c)
    done = done | (s * net._forward(x + embed(c)) < 0)
    return c, embed, done


def _attack(net, x, B, norm, steps, overshoot, rtol, *, coordinate_norm=False):
    """DeepFool then the first flip along the found direction: unit direction (E, n, d),
    size (E, n).

    The size is the norm of z in R^d, or of its coordinates in B when
    ``coordinate_norm``.
    """
    c, embed, done = _deepfool(net, x, B, norm, steps, overshoot)
    z = embed(c)
    length = _vec_norm(c if coordinate_norm else z, norm)
    ok = done & (length > 0)
    safe_len = torch.where(ok, length, torch.ones_like(length))
    direction = z / safe_len[..., None]
    size = _first_flip(net, x, direction, safe_len, rtol)
    size = torch.where(
        ok & (size <= length * (1 + rtol)),
        size,
        torch.where(ok, length, torch.full_like(length, math.inf)),
    )
    on_boundary = net._forward(_expand(net, x)) == 0
    return direction, torch.where(on_boundary, torch.zeros_like(size), size)


def _finish(direction, size):
    found = torch.isfinite(size)
    z = direction * torch.where(found, size, torch.zeros_like(size))[..., None]
    return z, size


@validate_params(
    {"net": NET, "subspace": SUBSPACE, "norm": Choice(NORMS), **DEEPFOOL, "tol": TOL}
)
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
    """A small flipping perturbation restricted to P⊥ (DeepFool in P⊥, then a line
    search).

    DeepFool steps {cite:p}`moosavi2016deepfool` on the orthogonal coordinates c (z = C
    c, C = ``subspace.orth_basis``) until x + z flips; then the first flip along z/‖z‖
    (exact for a two-layer net, :func:`universal_perturbation`'s method). For a
    :class:`~advsub.network.TwoLayerReLU` the universal step is a second candidate and
    the smaller of the two is returned, so the size is never larger than the universal
    size.

    Parameters
    ----------
    net : EnsembleNet
    x : tensor (n, d) or (E, n, d)
        Points of P (relative tolerance ``tol``).
    subspace : Subspace
    norm : {"l2", "linf"}
        ``"l2"``: Euclidean norm of z. ``"linf"``: the ℓ∞ norm max_j |z_j| of z in R^d
        (z ∈ P⊥); the step is the sign step in the coordinates of ``orth_basis``, which
        is the exact dual-norm step when P is axis-aligned (then ‖z‖_∞ is the ℓ∞ norm of
        the ℓ orthogonal coordinates) and a heuristic otherwise.
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
    check_dimensions(net, subspace)
    x = check_net_points("x", x, net, subspace=subspace, tol=tol)
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


@validate_params({"net": NET, "norm": Choice(NORMS), **DEEPFOOL})
def unconstrained_attack(
    net: EnsembleNet,
    x,
    *,
    norm: str = "l2",
    steps: int = 50,
    overshoot: float = 0.02,
    rtol: float = 1e-6,
):
    """The same DeepFool attack in all of R^d, for comparison with
    :func:`orthogonal_attack`.

    ``x`` (n, d) or (E, n, d) may be anywhere. Returns z (E, n, d) and its norm (E, n)
    (``"l2"`` or ``"linf"``, coordinates of R^d), ``inf`` where nothing flipped.
    """
    x = check_net_points("x", x, net)
    return _finish(*_attack(net, x, None, norm, steps, overshoot, rtol))


# --- attacks restricted to any linear space, per point, and in other norms ------------
def _restricted(net, x, B, norm, steps, overshoot, rtol):
    """The book's attack (:func:`advsub.attacks.orthogonal_attack`'s DeepFool and line
    search) in the coordinates c of B (z = B c), its size measured as the norm of c: (z
    (E,n,d), size (E,n))."""
    return _finish(
        *_attack(net, x, B, norm, steps, overshoot, rtol, coordinate_norm=True)
    )


@validate_params({"net": NET, "norm": Choice(RESTRICTED_NORMS), **DEEPFOOL})
def restricted_attack(
    net: EnsembleNet,
    x,
    basis,
    *,
    norm: str = "l2",
    steps: int = 50,
    overshoot: float = 0.02,
    rtol: float = 1e-6,
):
    """A small flipping perturbation z = B c restricted to the span of ``basis``.

    DeepFool steps {cite:p}`moosavi2016deepfool` on the coordinates c, with the step
    that is optimal for the linearised network in the chosen norm of c, until x + z
    flips; then the first flip along z (exact for a two-layer net, a grid scan and
    bisection otherwise).

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
    x = check_net_points("x", x, net)
    basis = check_tensor(
        "basis", basis, ndim=(2, 3), dtype=net.dtype, device=net.device
    )
    if basis.shape[-2] != net.d:
        raise ValueError(
            f"basis must have {net.d} rows (one per input coordinate), got shape "
            f"{tuple(basis.shape)}"
        )
    if basis.ndim == 3 and basis.shape[0] != x.shape[-2]:
        raise ValueError(
            f"a per-point basis must have one entry per point ({x.shape[-2]}), got "
            f"shape {tuple(basis.shape)}"
        )
    return _restricted(net, x, basis, norm, steps, overshoot, rtol)


@validate_params({"net": NET, "subspace": SUBSPACE, **DEEPFOOL, "tol": TOL})
def orthogonal_l1_attack(
    net: EnsembleNet,
    x,
    subspace: Subspace,
    *,
    steps: int = 50,
    overshoot: float = 0.02,
    rtol: float = 1e-6,
    tol: float = 1e-8,
):
    """A small flipping perturbation in P⊥ measured in ℓ1: (z (E, n, d), size (E, n)).

    The ℓ1 step puts the whole linearised budget on the orthogonal coordinate with the
    largest gradient entry, so z is sparse. The size is the ℓ1 norm of the orthogonal
    coordinates (``subspace.orth_basis``), which is ‖z‖₁ in R^d when P is axis-aligned.
    ``x`` must lie in P.
    """
    check_dimensions(net, subspace)
    x = check_net_points("x", x, net, subspace=subspace, tol=tol)
    return _restricted(
        net,
        x,
        subspace.orth_basis.to(net.device, net.dtype),
        "l1",
        steps,
        overshoot,
        rtol,
    )


@validate_params(
    {"net": NET, "manifold": InstanceOf(Manifold, "a Manifold"), **DEEPFOOL}
)
def normal_attack(
    net: EnsembleNet,
    manifold: Manifold,
    theta,
    *,
    steps: int = 50,
    overshoot: float = 0.02,
    rtol: float = 1e-6,
):
    """The smallest ℓ2 flip found in the normal space N_x at each manifold point x =
    x(θ).

    Returns z (E, n, d) (in N_x, zero where nothing flipped) and ‖z‖ (E, n) (``inf``
    there).
    """
    if manifold.d != net.d:
        raise ValueError(f"manifold.d={manifold.d} does not match net.d={net.d}")
    x = manifold.embed(theta).to(net.device, net.dtype)
    N = manifold.normal_basis(theta).to(net.device, net.dtype)
    return _restricted(net, x, N, "l2", steps, overshoot, rtol)


# --- the certificate ---------------------------------------------------------------
@validate_params({"net": TWO_LAYER, "subspace": SUBSPACE})
def orthogonal_lipschitz_constant(
    net: TwoLayerReLU, subspace: Subspace
) -> torch.Tensor:
    """‖W⊥‖_op·‖u‖ per member, (E,): a Lipschitz constant of N along P⊥,
    W⊥ = W C (m×ℓ)."""
    check_dimensions(net, subspace)
    W_orth = net.W @ _orth(subspace, net)  # (E, m, ℓ)
    return torch.linalg.matrix_norm(W_orth, ord=2) * net.u.norm(dim=-1)


@validate_params({"net": TWO_LAYER, "subspace": SUBSPACE})
def certified_orthogonal_radius(
    net: TwoLayerReLU, x, subspace: Subspace
) -> torch.Tensor:
    """|N(x)| / (‖W⊥‖_op ‖u‖): no z ∈ P⊥ of smaller norm changes the sign of N(x): (E,
    n).

    For z ∈ P⊥, ∇N·z = Σ_i s_i u_i (Π w_i)·z with s ∈ {0,1}^m (biases included), and
    ‖Σ_i s_i u_i Π w_i‖ = ‖W⊥ᵀ(s⊙u)‖ ≤ ‖W⊥‖_op ‖u‖ (= ‖W⊥‖_op for a fixed second layer).
    ``x`` (n, d) or (E, n, d) may be any point (the argument does not use x ∈ P).
    ``inf`` where W⊥ = 0.
    """
    check_dimensions(net, subspace)
    x = check_net_points("x", x, net)
    lip = orthogonal_lipschitz_constant(net, subspace)[:, None]
    out = net._forward(x).abs()
    return torch.where(
        lip > 0,
        out / torch.where(lip > 0, lip, torch.ones_like(lip)),
        torch.full_like(out, math.inf),
    )


# --- a certificate for deeper networks ------------------------------------------------
@validate_params({"net": DEEP, "subspace": SUBSPACE})
def deep_orthogonal_lipschitz_bound(net: DeepReLU, subspace: Subspace) -> torch.Tensor:
    r"""A Lipschitz constant of N along P⊥, per member, (E,): :math:`\|W_1 C\|_{op}
    \prod_{l \ge 2} \|W_l\|_{op} \|u\|`.

    For z ∈ P⊥ the directional derivative is uᵀ D_L W_L ⋯ D_1 W_1 C c with 0/1 diagonal
    D_l, and every factor is bounded by its operator norm.
    """
    check_dimensions(net, subspace)
    C = subspace.orth_basis.to(net.device, net.dtype)
    lip = torch.linalg.matrix_norm(net.weights[0] @ C, ord=2)
    for W in net.weights[1:]:
        lip = lip * torch.linalg.matrix_norm(W, ord=2)
    return lip * net.u.norm(dim=-1)


@validate_params({"net": DEEP, "subspace": SUBSPACE})
def deep_certified_orthogonal_radius(
    net: DeepReLU, x, subspace: Subspace
) -> torch.Tensor:
    """|N(x)| / :func:`deep_orthogonal_lipschitz_bound`: no z ∈ P⊥ of smaller norm flips
    x: (E, n)."""
    lip = deep_orthogonal_lipschitz_bound(net, subspace)[:, None]
    x = check_net_points("x", x, net)
    out = net._forward(x).abs()
    return torch.where(
        lip > 0,
        out / torch.where(lip > 0, lip, torch.ones_like(lip)),
        torch.full_like(out, math.inf),
    )


# --- old names ------------------------------------------------------------------------
_MOVED = {"AttackSample", "attack_sample", "attack_experiment", "attack_sweep"}


def __getattr__(name: str):
    """``advsub.attacks.attack_sample`` and friends moved to
    :mod:`advsub.experiments.attack_samples`.

    A compatibility shim: the old names still import from here, loaded on first use.
    """
    if name in _MOVED:
        from .experiments import attack_samples

        return getattr(attack_samples, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
