"""Exact distances to the decision boundary along lines, crossings and angles (advsub.boundary)."""
from __future__ import annotations

import math

import pytest
import torch

import advsub
from advsub.boundary import boundary_angle, boundary_distance, crossing_angles, line_zeros
from advsub.toydata import toy_network

torch.set_num_threads(1)


def _net():
    net = toy_network(3, 30, ensemble=2, seed=1)
    net.b = torch.randn(2, 30, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    return net


def test_distance_matches_a_fine_scan():
    net = _net()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(20, 3, generator=g, dtype=torch.float64)
    v = torch.randn(20, 3, generator=g, dtype=torch.float64)
    v = v / v.norm(dim=1, keepdim=True)
    got = boundary_distance(net, x, v, max_dist=4.0, both_ways=False)
    ts = torch.linspace(0, 4, 40001, dtype=torch.float64)
    vals = net((x[:, None, :] + ts[None, :, None] * v[:, None, :]).reshape(-1, 3)).reshape(2, 20, -1)
    flips = torch.sign(vals[..., :1]) * vals < 0
    want = torch.where(flips.any(-1), ts[flips.to(torch.int8).argmax(-1)], torch.full((2, 20), math.inf, dtype=torch.float64))
    assert torch.equal(torch.isinf(got), torch.isinf(want))
    fin = torch.isfinite(got)
    assert bool(((want[fin] - got[fin]) >= -1e-9).all()) and bool(((want[fin] - got[fin]) <= 1e-4 + 1e-9).all())


def test_both_ways_is_the_nearer_side_and_scale_free():
    net = _net()
    x = torch.randn(10, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    v = torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64)
    both = boundary_distance(net, x, v)
    plus = boundary_distance(net, x, v, both_ways=False)
    minus = boundary_distance(net, x, -v, both_ways=False)
    assert torch.equal(both, torch.minimum(plus, minus))
    assert torch.equal(plus, boundary_distance(net, x, v / 2, both_ways=False))


def test_line_zeros_and_angles():
    X, y, P = advsub.toydata.line_dataset()
    net, _, _, _ = advsub.toydata.train_picture("line", ensemble=2, seed=0)
    end = torch.tensor([1.2, 1.2], dtype=torch.float64)
    z = line_zeros(net, -end, end, member=1)
    assert len(z) >= 6  # alternating labels: at least one crossing between neighbours
    assert float(net.member(1)(z).abs().max()) < 1e-9
    assert bool(P.contains(z, tol=1e-12).all())
    ang = crossing_angles(net, -end, end, P)
    assert len(ang) == 2 and bool(((ang[1] >= 0) & (ang[1] <= 90)).all())
    assert torch.allclose(ang[1], boundary_angle(net.member(1), z, P)[0])


def test_angle_is_90_for_a_boundary_orthogonal_to_the_data():
    P = advsub.Subspace.axis_aligned(2, 1)  # data on the x-axis, P⊥ = y-axis
    net = advsub.TwoLayerReLU(2, 1, seed=0, bias=True)
    net.W = torch.tensor([[[1.0, 0.0]]], dtype=torch.float64)
    net.u = torch.ones(1, 1, dtype=torch.float64)
    net.b = torch.full((1, 1), -0.5, dtype=torch.float64)
    x = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    assert float(boundary_angle(net, x, P)) == 90.0
    # N(x) = σ(x1 + x2 + 10) − σ(10.5) = x1 + x2 − 0.5 near the data: boundary at 45° to the x-axis
    net = advsub.TwoLayerReLU(2, 2, seed=0, bias=True)
    net.W = torch.tensor([[[1.0, 1.0], [0.0, 0.0]]], dtype=torch.float64)
    net.u = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    net.b = torch.tensor([[10.0, 10.5]], dtype=torch.float64)
    assert abs(float(boundary_angle(net, x, P)) - 45.0) < 1e-12
    assert math.isinf(float(boundary_distance(net, x, [1.0, 0.0], both_ways=False)))
    assert abs(float(boundary_distance(net, x, [0.0, 1.0])) - 0.5) < 1e-9
    assert abs(float(boundary_distance(net, x, [1.0, 0.0])) - 0.5) < 1e-9  # backwards along the data
    assert abs(float(boundary_distance(net, x, [1.0, 1.0])) - 0.5 * math.sqrt(0.5)) < 1e-9
    assert math.isinf(float(boundary_distance(net, x, [1.0, -1.0])))  # parallel to the boundary


@pytest.mark.parametrize("kwargs, exc, word", [
    (dict(direction=[0.0, 0.0, 0.0]), ValueError, "direction"),
    (dict(direction=[1.0, 0.0]), ValueError, "direction"),
    (dict(direction=[1.0, 0.0, 0.0], max_dist=-1.0), ValueError, "max_dist"),
    (dict(direction=[1.0, 0.0, 0.0], both_ways=1), TypeError, "both_ways"),
])
def test_bad_input(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        boundary_distance(_net(), torch.zeros(2, 3, dtype=torch.float64), **kwargs)
