"""The output bias c (N(x) = Σ u_i σ(w_i·x + b_i) + c) in the attacks, the exact
first-flip search and the boundary measurements.

Every size is checked against a brute-force scan of ``net(x)`` (the forward pass, which
includes c) along the same ray or segment; the certificate against random P⊥
perturbations; and a network with c = 0 gives bit-identical results to the same
network without an output bias.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch

import advsub
from advsub import attacks, boundary
from advsub.experiments import toydata
from advsub.experiments.toydata import line_dataset
from advsub.network import TwoLayerReLU

torch.set_num_threads(1)

D, ELL, M, E, N = 6, 3, 40, 3, 12
GRID = 4001  # brute-force scan points per ray
RTOL = 1e-9  # precision asked of the exact search
BACK = 1e-7  # t·(1 − BACK) < t* whenever t ≤ t*(1 + RTOL): must not flip yet


def _random_c_net(seed=0, c_scale=0.3):
    """Hidden biases and an output bias drawn away from 0 (so c moves the boundary)."""
    net = TwoLayerReLU(D, M, ensemble=E, seed=seed, bias=True, output_bias=True)
    g = torch.Generator().manual_seed(seed + 100)
    net.b = 0.3 * torch.randn(E, M, generator=g, dtype=torch.float64)
    net.c = c_scale * torch.randn(E, generator=g, dtype=torch.float64)
    return net


@functools.lru_cache(maxsize=1)
def _module_net_cached():
    """The paper's line net as a PyTorch module, output bias 0.2 at the start, trained
    a little by torch.optim.SGD on the line data (alternating labels), then copied."""
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(2, 100), torch.nn.ReLU(), torch.nn.Linear(100, 1)
    ).double()
    with torch.no_grad():
        module[2].bias.fill_(0.2)
    X, y, _ = line_dataset(7)
    opt = torch.optim.SGD(module.parameters(), lr=0.5)
    for _ in range(200):
        opt.zero_grad()
        torch.nn.functional.softplus(-y * module(X)[:, 0]).mean().backward()
        opt.step()
    net = TwoLayerReLU.from_module(module)
    assert net.has_output_bias and abs(float(net.c[0])) > 0.1  # c matters
    return net


def _module_net():
    return _module_net_cached().clone()


def _points(net, n=N, seed=1, subspace=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, net.d, generator=g, dtype=torch.float64)
    return x if subspace is None else subspace.project(x)


def _directions(net, n=N, seed=2):
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(net.ensemble, n, net.d, generator=g, dtype=torch.float64)
    return v / v.norm(dim=-1, keepdim=True)


def _scan_first_flip(net, x, v, t_max):
    """First grid scale t_j ∈ (0, t_max] where sign N(x + t_j v) ≠ sign N(x), by
    ``net(x)``; inf if none. x (E, n, d) or (n, d), v (E, n, d) unit rows."""
    x = x.expand(net.ensemble, -1, -1) if x.ndim == 2 else x
    s = torch.where(net(x) >= 0, 1.0, -1.0).double()
    ts = torch.linspace(0, t_max, GRID, dtype=torch.float64)[1:]
    pts = x[:, :, None, :] + ts[None, None, :, None] * v[:, :, None, :]
    out = net(pts.reshape(net.ensemble, -1, net.d)).reshape(pts.shape[:3])
    flips = s[..., None] * out < 0
    first = torch.where(flips, ts, torch.full_like(ts, math.inf)).amin(-1)
    return first, ts[1] - ts[0]


def _assert_first_flip(net, x, v, size, t_max, *, rtol=RTOL, only_finite=False):
    """``size`` (E, n) is the first flip of N along x + t v: it flips, nothing before
    it does (on the grid and just before it), and it is no later than the scan's first
    flip; inf exactly where the scan finds none (``only_finite``: check only the
    finite sizes, for attacks whose direction means nothing where they failed)."""
    x = x.expand(net.ensemble, -1, -1) if x.ndim == 2 else x
    scan, _ = _scan_first_flip(net, x, v, t_max)
    s = torch.where(net(x) >= 0, 1.0, -1.0).double()
    finite = torch.isfinite(size)
    if only_finite:
        scan = torch.where(finite, scan, torch.full_like(scan, math.inf))
    # the exact infimum is ≤ every flipping grid point, so it is finite where the scan
    # finds a flip (a sign change that the grid misses can only make it smaller)
    assert bool((~finite <= torch.isinf(scan)).all()), (size, scan)
    assert bool((size <= scan * (1 + rtol)).all()), (size, scan)
    t = torch.where(finite, size, torch.zeros_like(size))
    at = net(x + t[..., None] * v)
    before = net(x + (t * (1 - BACK))[..., None] * v)
    assert bool((s * at < 0)[finite].all()), "the returned step does not flip"
    assert bool((s * before >= 0)[finite].all()), "something flips before the step"
    # no grid point before the step flips either (no sign change the search skipped)
    ts = torch.linspace(0, t_max, GRID, dtype=torch.float64)[1:]
    early = ts[None, None, :] < (t * (1 - BACK))[..., None]
    pts = x[:, :, None, :] + ts[None, None, :, None] * v[:, :, None, :]
    out = net(pts.reshape(net.ensemble, -1, net.d)).reshape(pts.shape[:3])
    bad = (s[..., None] * out < 0) & early & finite[..., None]
    assert not bool(bad.any()), "a grid point before the returned step flips"


NETS = {"random_c": _random_c_net, "from_module": _module_net}


@pytest.fixture(params=sorted(NETS))
def net(request):
    return NETS[request.param]()


# --- the exact first flip and what uses it ----------------------------------------
def test_flip_along_matches_a_scan_of_the_forward_pass(net):
    x, v = _points(net), _directions(net)
    t_max = 4.0
    size, flipped = advsub.flip_along(net, x, v, max_norm=t_max, rtol=RTOL)
    assert bool(flipped.any()) and not bool(flipped.all())  # both cases exercised
    _assert_first_flip(net, x, v, size, t_max)
    # unbounded search: a flip found within t_max is the same flip (both sizes lie in
    # [t*, t*(1 + RTOL)])
    size_inf, _ = advsub.flip_along(net, x, v, rtol=RTOL)
    torch.testing.assert_close(size_inf[flipped], size[flipped], rtol=RTOL, atol=0)


def test_exact_search_against_the_scan_on_many_rays():
    """Many rays of one net with random c (the case of the bug report)."""
    net = _random_c_net(seed=5, c_scale=0.5)
    x, v = _points(net, n=60, seed=6), _directions(net, n=60, seed=7)
    size, _ = advsub.flip_along(net, x, v, max_norm=6.0, rtol=RTOL)
    _assert_first_flip(net, x, v, size, 6.0)


def test_boundary_distance_matches_the_scan(net):
    x = _points(net, seed=3)
    v = _directions(net, seed=4)[0]  # (n, d), one direction per point
    t_max = 3.0
    dist = boundary.boundary_distance(net, x, v, max_dist=t_max, both_ways=False)
    _assert_first_flip(net, x, v.expand(net.ensemble, -1, -1), dist, t_max, rtol=1e-12)
    both = boundary.boundary_distance(net, x, v, max_dist=t_max)
    back = boundary.boundary_distance(net, x, -v, max_dist=t_max, both_ways=False)
    assert torch.equal(both, torch.minimum(dist, back))


def _scan_sign_changes(net, p, q, e):
    """Bisected sign changes of member e along [p, q] (the forward pass): (r, d)."""
    ts = torch.linspace(0, 1, GRID, dtype=torch.float64)
    one = net.member(e)
    f = lambda t: one(p + t[:, None] * (q - p))[0]  # noqa: E731
    s = torch.where(f(ts) >= 0, 1.0, -1.0)
    idx = torch.nonzero(s[1:] != s[:-1]).flatten()
    lo, hi = ts[idx], ts[idx + 1]
    s_lo = s[idx]
    for _ in range(60):
        mid = (lo + hi) / 2
        same = torch.where(f(mid) >= 0, 1.0, -1.0) == s_lo
        lo, hi = torch.where(same, mid, lo), torch.where(same, hi, mid)
    return p + hi[:, None] * (q - p)


def _segments(net):
    if net.d == 2:  # the paper's line: the data segment reach·[−1, 1]·(1, 1)
        one = torch.ones(2, dtype=torch.float64)
        return [(-1.2 * one, 1.2 * one)]
    g = torch.Generator().manual_seed(8)
    return [
        tuple(3 * torch.randn(2, net.d, generator=g, dtype=torch.float64))
        for _ in range(4)
    ]


def test_line_zeros_and_crossing_angles_match_the_scan(net):
    total = 0
    for p, q in _segments(net):
        P = advsub.Subspace.from_basis(((q - p) / (q - p).norm())[:, None])
        angles = boundary.crossing_angles(net, p, q, P)
        for e in range(net.ensemble):
            want = _scan_sign_changes(net, p, q, e)
            got = boundary.line_zeros(net, p, q, member=e)
            assert got.shape == want.shape, (e, got, want)
            total += len(got)
            if len(got):
                torch.testing.assert_close(got, want, rtol=0, atol=1e-9)
                # the angle is the gradient's, constant near a generic crossing
                ref = boundary.boundary_angle(net.member(e), want, P)[0]
                torch.testing.assert_close(angles[e], ref, rtol=0, atol=1e-9)
    assert total > 0  # some crossing exercised


# --- attacks in P⊥ ----------------------------------------------------------------
def _subspace(net):
    if net.d == 2:
        return advsub.Subspace.from_basis(
            torch.tensor([[1.0], [1.0]], dtype=torch.float64) / math.sqrt(2)
        )
    return advsub.Subspace.random(net.d, ELL, seed=9)


def test_universal_perturbation_matches_the_scan(net):
    P = _subspace(net)
    x = _points(net, seed=10, subspace=P)
    t_max = 6.0
    size, flipped = advsub.universal_perturbation(net, x, P, max_norm=t_max, rtol=RTOL)
    assert bool(flipped.any())
    v = advsub.universal_direction(net, P)
    s = torch.where(net(x) >= 0, 1.0, -1.0).double()
    direction = -s[..., None] * v[:, None, :]
    _assert_first_flip(net, x, direction, size, t_max)


@pytest.mark.parametrize(
    "name", ["orthogonal", "orthogonal_linf", "unconstrained", "restricted", "l1"]
)
def test_attacks_flip_at_the_first_sign_change_along_their_step(net, name):
    """x + z flips, and no smaller multiple of z does (the line search used N with c)."""
    P = _subspace(net)
    x = _points(net, seed=11, subspace=P).expand(net.ensemble, -1, -1)
    kw = {"rtol": RTOL}
    if name == "orthogonal":
        z, size = advsub.orthogonal_attack(net, x, P, **kw)
    elif name == "orthogonal_linf":
        z, size = advsub.orthogonal_attack(net, x, P, norm="linf", **kw)
    elif name == "unconstrained":
        z, size = advsub.unconstrained_attack(net, x, **kw)
    elif name == "restricted":
        z, size = attacks.restricted_attack(net, x, P.orth_basis, **kw)
    else:
        z, size = attacks.orthogonal_l1_attack(net, x, P, **kw)
    finite = torch.isfinite(size)
    assert bool(finite.any())
    length = z.norm(dim=-1)
    v = z / torch.where(finite, length, torch.ones_like(length))[..., None]
    v = torch.where(finite[..., None], v, torch.ones_like(v) / math.sqrt(net.d))
    t = torch.where(finite, length, torch.full_like(length, math.inf))
    t_max = float(length[finite].max()) * 1.01
    _assert_first_flip(net, x, v, t, t_max, only_finite=True)
    if name in ("orthogonal", "orthogonal_linf", "restricted", "l1"):
        torch.testing.assert_close(
            P.project(z), torch.zeros_like(z), atol=1e-12, rtol=0
        )


def test_orthogonal_attack_is_never_worse_than_the_universal_step(net):
    P = _subspace(net)
    x = _points(net, seed=12, subspace=P)
    _, size = advsub.orthogonal_attack(net, x, P, rtol=RTOL)
    u_size, _ = advsub.universal_perturbation(net, x, P, rtol=RTOL)
    assert bool((size <= u_size).all())


def test_certified_radius_uses_the_output_with_c_and_is_never_crossed(net):
    P = _subspace(net)
    x = _points(net, n=8, seed=13, subspace=P)
    radius = advsub.certified_orthogonal_radius(net, x, P)
    lip = advsub.orthogonal_lipschitz_constant(net, P)[:, None]
    torch.testing.assert_close(radius, net(x).abs() / lip, rtol=1e-14, atol=0)
    # 200 random P⊥ directions per point, at 0.999 of the radius: none flips
    g = torch.Generator().manual_seed(14)
    r = torch.randn(200, net.d, generator=g, dtype=torch.float64)
    z = P.project_orth(r)
    z = z / z.norm(dim=-1, keepdim=True)
    xe = x.expand(net.ensemble, -1, -1)
    s = torch.where(net(xe) >= 0, 1.0, -1.0).double()
    pts = xe[:, :, None, :] + (0.999 * radius)[..., None, None] * z[None, None]
    out = net(pts.reshape(net.ensemble, -1, net.d)).reshape(pts.shape[:3])
    assert bool((s[..., None] * out > 0).all())
    # and the exact search along each of them finds no flip inside the radius
    size, _ = advsub.flip_along(
        net,
        xe.repeat_interleave(5, 1),
        z[:5].repeat(x.shape[0], 1).expand(net.ensemble, -1, -1),
        rtol=RTOL,
    )
    assert bool((size >= radius.repeat_interleave(5, 1)).all())


def test_self_term_agreement_does_not_depend_on_c(net):
    P = _subspace(net)
    ref = net.clone()
    ref.c = None
    assert torch.equal(
        advsub.self_term_agreement(net, P), advsub.self_term_agreement(ref, P)
    )


# --- c = 0 changes nothing --------------------------------------------------------
def test_zero_output_bias_gives_bit_identical_results():
    with_c = _random_c_net(seed=20)
    with_c.c = torch.zeros(E, dtype=torch.float64)
    without = with_c.clone()
    without.c = None
    P = advsub.Subspace.random(D, ELL, seed=21)
    x = _points(with_c, seed=22, subspace=P)
    v = _directions(with_c, seed=23)
    p, q = _segments(with_c)[1]

    def results(net):
        return [
            *advsub.flip_along(net, x, v, rtol=RTOL),
            *advsub.flip_along(net, x, v, max_norm=2.0),
            boundary.boundary_distance(net, x, v[0]),
            *boundary.crossing_angles(net, p, q, P),
            *advsub.universal_perturbation(net, x, P),
            *advsub.orthogonal_attack(net, x, P),
            *advsub.orthogonal_attack(net, x, P, norm="linf"),
            *advsub.unconstrained_attack(net, x),
            *attacks.orthogonal_l1_attack(net, x, P),
            advsub.certified_orthogonal_radius(net, x, P),
        ] + [boundary.line_zeros(net, p, q, member=e) for e in range(E)]

    for a, b in zip(results(with_c), results(without), strict=True):
        assert torch.equal(a, b)


def test_exact_search_is_the_internal_one(net):
    """The attacks' exact search agrees with the public flip_along (one root finder)."""
    x, v = _points(net, seed=30), _directions(net, seed=31)
    got = attacks._first_flip_exact(net, x, v, math.inf, RTOL)
    want = advsub.flip_along(net, x, v, rtol=RTOL)[0]  # v renormalised there
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)


def test_plane_normal_derivative_split_holds_with_an_output_bias():
    """The trained + frozen split of ∂N/∂z (chapter 05) uses N − c, the homogeneous
    part: their sum is the gradient's z entry whatever c."""
    net = toydata.toy_network(3, 20, ensemble=3, seed=3)
    net.c = torch.tensor([0.7, -0.4, 0.0], dtype=torch.float64)
    g = torch.Generator().manual_seed(4)
    h = 0.5
    X = torch.cat(
        [
            torch.randn(15, 2, generator=g, dtype=torch.float64),
            torch.full((15, 1), h, dtype=torch.float64),
        ],
        dim=1,
    )
    trained, frozen = toydata.plane_normal_derivative(net, X, height=h)
    torch.testing.assert_close(
        trained + frozen, net.input_gradient(X)[..., 2], rtol=0, atol=1e-12
    )
