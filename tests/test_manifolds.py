"""Tests of advsub.manifolds: embeddings, tangent and normal spaces, data."""
from __future__ import annotations

import math

import pytest
import torch

from advsub.manifolds import Manifold, make_manifold_dataset

MANIFOLDS = [
    ("sphere", dict(d=10, dim=1, seed=0)),
    ("sphere", dict(d=12, dim=3, radius=2.0, seed=1)),
    ("trigonometric", dict(d=20, dim=1, n_frequencies=5, seed=0)),
    ("trigonometric", dict(d=30, dim=2, n_frequencies=7, seed=3)),
]


def build(kind, kw):
    return getattr(Manifold, kind)(**kw)


@pytest.mark.parametrize("kind, kw", MANIFOLDS)
def test_points_tangents_and_normals(kind, kw):
    M = build(kind, kw)
    X, y, theta = make_manifold_dataset(M, 9, seed=2)
    assert X.shape == (9, M.d) and X.dtype == torch.float64
    torch.testing.assert_close(X.norm(dim=1), torch.full((9,), M.radius, dtype=torch.float64))
    assert bool(M.span.contains(X).all())
    T, Nb = M.tangent_basis(theta), M.normal_basis(theta)
    assert T.shape == (9, M.d, M.dim) and Nb.shape == (9, M.d, M.d - M.dim)
    full = torch.cat([T, Nb], dim=2)
    torch.testing.assert_close(full.transpose(1, 2) @ full, torch.eye(M.d, dtype=torch.float64).expand(9, -1, -1), atol=1e-12, rtol=0)
    # finite differences along the manifold stay in the tangent space (to O(h²))
    h = 1e-5
    if kind == "sphere":
        v = torch.randn(theta.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        v = v - (v * theta).sum(1, keepdim=True) * theta
        ends = [(theta + s * h * v) / (theta + s * h * v).norm(dim=1, keepdim=True) for s in (1, -1)]
    else:
        e = torch.zeros_like(theta)
        e[:, -1] = h
        ends = [theta + e, theta - e]
        fd = (M.embed(ends[0]) - M.embed(ends[1])) / (2 * h)
        torch.testing.assert_close(fd, M.jacobian(theta)[:, :, -1], atol=1e-7, rtol=0)
    fd = (M.embed(ends[0]) - M.embed(ends[1])) / (2 * h)
    assert float(M.project_normal(theta, fd).norm(dim=1).max()) < 1e-6 * float(fd.norm(dim=1).max())
    # the normal projection is idempotent and kills the tangent space
    v = torch.randn(3, 9, M.d, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    pv = M.project_normal(theta, v)
    torch.testing.assert_close(M.project_normal(theta, pv), pv)
    assert float(torch.einsum("ndk,end->enk", T, pv).abs().max()) < 1e-12


def test_sphere_normal_space_is_complement_plus_radial():
    M = Manifold.sphere(8, 2, seed=0)
    X, _, theta = make_manifold_dataset(M, 5, seed=1)
    torch.testing.assert_close(M.project_normal(theta, X), X)  # the radial direction is normal
    C = M.span.orth_basis  # V⊥ is normal everywhere
    torch.testing.assert_close(M.project_normal(theta, C.T.expand(5, -1, -1).transpose(0, 1)), C.T.expand(5, -1, -1).transpose(0, 1))


def test_sampling_is_deterministic_and_labels():
    M = Manifold.trigonometric(20, 1, 4, seed=0)
    a, b = make_manifold_dataset(M, 30, seed=5), make_manifold_dataset(M, 30, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    X, y, _ = make_manifold_dataset(M, 30, seed=5, labels="linear")
    assert set(y.tolist()) <= {-1.0, 1.0}
    assert sorted(M.frequencies[:, 0].tolist()) == [1.0, 2.0, 3.0, 4.0]  # a curve uses the frequencies 1..F
    assert math.isclose(M.radius, math.sqrt(20))


def test_validation():
    with pytest.raises(ValueError, match="dim"):
        Manifold.sphere(5, 4, seed=0)
    with pytest.raises(ValueError, match="n_frequencies"):
        Manifold.trigonometric(10, 1, 5, seed=0)
    with pytest.raises(ValueError, match="n_frequencies"):
        Manifold.trigonometric(40, 1, 5, max_frequency=3, seed=0)
    with pytest.raises(ValueError, match="radius"):
        Manifold.sphere(5, 1, radius=-1.0, seed=0)
    M = Manifold.sphere(6, 1, seed=0)
    with pytest.raises(ValueError, match="theta"):
        M.embed(torch.zeros(3, 5, dtype=torch.float64))
    with pytest.raises(TypeError, match="manifold"):
        make_manifold_dataset("circle", 5, seed=0)
    with pytest.raises(ValueError, match="labels"):
        make_manifold_dataset(M, 5, seed=0, labels="xor")
