"""The decision boundary {N = 0} seen along straight lines, exactly.

Along a line x + t·v a two-layer ReLU network is piecewise linear in t::

    N(x + t v) = Σ_i u_i σ(a_i + t r_i) + c,   a_i = w_i·x + b_i,  r_i = w_i·v,

(c the output bias, 0 without one) with a kink where neuron i switches
(t_i = −a_i/r_i). Sorting the kinks and
accumulating the active set gives the first sign change in closed form, with
no step size and no bisection tolerance. The pictures chapter uses it to measure
how far the boundary is from a data point along the data and orthogonally to it,
and at which angle the boundary crosses the data.
"""

from __future__ import annotations

import math

import torch

from ._validation import (
    Boolean,
    InstanceOf,
    Real,
    check_net_points,
    check_tensor,
    validate_params,
)
from .geometry import Subspace
from .attacks import flip_along
from .network import TwoLayerReLU

_RTOL = 1e-12

__all__ = ["boundary_distance", "line_zeros", "boundary_angle", "crossing_angles"]


NET = InstanceOf(TwoLayerReLU, "a TwoLayerReLU")


def _first_crossing(
    net: TwoLayerReLU, x: torch.Tensor, v: torch.Tensor, t_max: float
) -> torch.Tensor:
    """Smallest t in (0, t_max] where N(x + t v) has the sign opposite to N(x): (E, n);
    inf if none.

    :func:`advsub.attacks.flip_along` (exact for a two-layer network: one root finder in
    the package) to relative precision 1e-12. x (n, d) and v (n, d), unit rows.
    """
    return flip_along(
        net, x, v.expand(net.ensemble, -1, -1), max_norm=t_max, rtol=_RTOL
    )[0]


@validate_params(
    {
        "net": NET,
        "max_dist": Real(low=0.0, closed="neither", allow_inf=True),
        "both_ways": Boolean(),
    }
)
def boundary_distance(
    net: TwoLayerReLU,
    x,
    direction,
    *,
    max_dist: float = math.inf,
    both_ways: bool = True,
) -> torch.Tensor:
    """Distance from x to the decision boundary along a direction: (E, n).

    The smallest t ≥ 0 such that N(x + t v̂) (or N(x − t v̂) when ``both_ways``)
    has the sign opposite to N(x), v̂ = v/‖v‖ (0 if N(x) = 0); ``inf`` if there is
    none within ``max_dist``. Exact (piecewise-linear root finding, relative
    precision 1e-12), not a line search.

    Parameters
    ----------
    net : TwoLayerReLU
    x : tensor (n, d)
    direction : tensor (d,) shared by all points, or (n, d) one per point
    max_dist : float > 0
    both_ways : bool
        Search along +v̂ and −v̂ and return the nearer crossing.
    """
    x = check_net_points("x", x, net)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got shape {tuple(x.shape)}")
    v = check_tensor(
        "direction",
        direction,
        ndim=(1, 2),
        dtype=net.dtype,
        device=net.device,
        last_dim=net.d,
    )
    v = v.expand_as(x)
    norms = v.norm(dim=-1, keepdim=True)
    if bool((norms == 0).any()):
        raise ValueError("direction must be non-zero for every point")
    v = v / norms
    t = _first_crossing(net, x, v, max_dist)
    if both_ways:
        t = torch.minimum(t, _first_crossing(net, x, -v, max_dist))
    return t


@validate_params({"net": NET})
def line_zeros(net: TwoLayerReLU, start, end, *, member: int = 0) -> torch.Tensor:
    """Every point where member ``member`` changes sign on the segment [start, end]: (r,
    d).

    Walks the segment crossing after crossing with the exact first-crossing rule.
    """
    p = check_tensor(
        "start", start, ndim=1, dtype=net.dtype, device=net.device, last_dim=net.d
    )
    q = check_tensor(
        "end", end, ndim=1, dtype=net.dtype, device=net.device, last_dim=net.d
    )
    one = net.member(member)
    length = float((q - p).norm())
    if length == 0:
        raise ValueError("start and end must differ")
    v = (q - p) / length
    zeros, t0 = [], 0.0
    while t0 < length:  # each crossing lands just past the root, on the other side
        t = float(_first_crossing(one, (p + t0 * v)[None], v[None], length - t0)[0, 0])
        if not math.isfinite(t) or t == 0.0:
            break
        t0 = t0 + t
        zeros.append(p + t0 * v)
    return torch.stack(zeros) if zeros else torch.zeros(0, net.d, dtype=net.dtype)


@validate_params({"net": NET, "subspace": InstanceOf(Subspace, "a Subspace")})
def boundary_angle(net: TwoLayerReLU, x, subspace: Subspace) -> torch.Tensor:
    """Angle (degrees) between the boundary through x and the data subspace P: (E, n).

    At a point x of the boundary the boundary's normal is ∇N(x); the angle θ
    between the boundary and P satisfies tan θ = ‖P∇N(x)‖ / ‖Π∇N(x)‖. θ = 90°
    means the boundary is perpendicular to the data (moving off the data never
    flips the label); θ near 0 means it runs almost along the data.
    """
    x = check_net_points("x", x, net)
    g = net._input_gradient(x)
    par = (g @ subspace.basis.to(g)).norm(dim=-1)
    orth = (g @ subspace.orth_basis.to(g)).norm(dim=-1)
    return torch.rad2deg(torch.atan2(par, orth))


@validate_params({"net": NET, "subspace": InstanceOf(Subspace, "a Subspace")})
def crossing_angles(
    net: TwoLayerReLU, start, end, subspace: Subspace
) -> list[torch.Tensor]:
    """For every member, the angles (degrees, :func:`boundary_angle`) at which the
    boundary crosses the segment [start, end] of the data subspace: a list of E tensors
    (r_e,)."""
    out = []
    for e in range(net.ensemble):
        z = line_zeros(net, start, end, member=e)
        out.append(
            boundary_angle(net.member(e), z, subspace)[0]
            if len(z)
            else torch.zeros(0, dtype=net.dtype)
        )
    return out
