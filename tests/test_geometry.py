"""Tests of advsub.geometry: the data subspace P, its complement P⊥, and data on P."""
from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from advsub import Subspace, make_dataset


TOL = 1e-12


@st.composite
def dims(draw, max_d=24):
    d = draw(st.integers(2, max_d))
    ell = draw(st.integers(1, d - 1))
    return d, ell


def _subspaces(d, ell, seed):
    """One subspace of each constructor, all of dimension d − ℓ."""
    g = torch.Generator().manual_seed(seed)
    raw = torch.randn(d, d - ell, generator=g, dtype=torch.float64)
    return {
        "random": Subspace.random(d, ell, seed=seed),
        "axis_aligned": Subspace.axis_aligned(d, ell),
        "from_basis": Subspace.from_basis(raw),
    }


def _check_structure(S: Subspace, d: int, ell: int):
    B, C = S.basis, S.orth_basis
    assert (S.d, S.ell) == (d, ell)
    assert B.shape == (d, d - ell) and C.shape == (d, ell)
    assert B.dtype == C.dtype == torch.float64
    eye = torch.eye
    assert torch.allclose(B.T @ B, eye(d - ell, dtype=torch.float64), atol=TOL, rtol=0)
    assert torch.allclose(C.T @ C, eye(ell, dtype=torch.float64), atol=TOL, rtol=0)
    assert torch.allclose(B.T @ C, torch.zeros(d - ell, ell, dtype=torch.float64), atol=TOL, rtol=0)
    # Together they span R^d: B Bᵀ + C Cᵀ = I.
    assert torch.allclose(B @ B.T + C @ C.T, eye(d, dtype=torch.float64), atol=TOL, rtol=0)


# --- structure ---------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(dims(), st.integers(0, 2**32))
def test_bases_are_orthonormal_and_complementary(de, seed):
    d, ell = de
    for S in _subspaces(d, ell, seed).values():
        _check_structure(S, d, ell)


@settings(max_examples=40, deadline=None)
@given(dims(), st.integers(0, 2**32))
def test_projections_split_identity_and_are_idempotent(de, seed):
    d, ell = de
    x = torch.randn(7, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    for S in _subspaces(d, ell, seed).values():
        p, q = S.project(x), S.project_orth(x)
        assert torch.allclose(p + q, x, atol=TOL, rtol=0)
        assert torch.allclose(S.project(p), p, atol=TOL, rtol=0)
        assert torch.allclose(S.project_orth(q), q, atol=TOL, rtol=0)
        assert torch.allclose(S.project(q), torch.zeros_like(q), atol=TOL, rtol=0)
        assert torch.allclose(S.project_orth(p), torch.zeros_like(p), atol=TOL, rtol=0)
        # Coordinates reproduce the projections.
        assert S.coords(x).shape == (7, d - ell) and S.orth_coords(x).shape == (7, ell)
        assert torch.allclose(S.coords(x) @ S.basis.T, p, atol=TOL, rtol=0)
        assert torch.allclose(S.orth_coords(x) @ S.orth_basis.T, q, atol=TOL, rtol=0)
        # Pythagoras.
        assert torch.allclose(p.norm(dim=1) ** 2 + q.norm(dim=1) ** 2, x.norm(dim=1) ** 2, rtol=1e-12, atol=0)


@settings(max_examples=30, deadline=None)
@given(dims(), st.integers(0, 2**32))
def test_from_basis_spans_the_same_space(de, seed):
    """A non-orthonormal full-rank basis gives the projection B (BᵀB)⁻¹ Bᵀ onto its span."""
    d, ell = de
    g = torch.Generator().manual_seed(seed)
    raw = torch.randn(d, d - ell, generator=g, dtype=torch.float64)
    mix = torch.eye(d - ell, dtype=torch.float64) + torch.triu(torch.rand(d - ell, d - ell, generator=g, dtype=torch.float64), 1)
    raw = 3.0 * raw @ mix  # skewed, rescaled columns: far from orthonormal, still full rank
    S = Subspace.from_basis(raw)
    _check_structure(S, d, ell)
    proj = raw @ torch.linalg.solve(raw.T @ raw, raw.T)
    assert torch.allclose(S.basis @ S.basis.T, proj, atol=1e-9, rtol=0)
    assert bool(S.contains(raw.T, tol=1e-10).all())


def test_from_basis_accepts_numpy_and_keeps_orthonormal_input():
    S0 = Subspace.random(6, 2, seed=3)
    S1 = Subspace.from_basis(S0.basis.numpy())
    assert torch.allclose(S1.basis @ S1.basis.T, S0.basis @ S0.basis.T, atol=TOL, rtol=0)
    assert torch.allclose(S1.orth_basis @ S1.orth_basis.T, S0.orth_basis @ S0.orth_basis.T, atol=TOL, rtol=0)


def test_axis_aligned_is_the_coordinate_split():
    S = Subspace.axis_aligned(5, 2)
    eye = torch.eye(5, dtype=torch.float64)
    assert torch.equal(S.basis, eye[:, :3])
    assert torch.equal(S.orth_basis, eye[:, 3:])
    assert repr(S) == "Subspace(d=5, ell=2)"


def test_contains_with_tolerance():
    S = Subspace.random(8, 3, seed=0)
    x = S.basis @ torch.tensor([3.0, -1.0, 2.0, 0.5, 1.0], dtype=torch.float64)  # ‖x‖ > 1
    e = S.orth_basis[:, 0]
    r = float(x.norm())
    assert bool(S.contains(x))
    # Relative tolerance: distance ≤ tol·max(1, ‖x‖).
    xs = torch.stack([x + 0.9e-6 * r * e, x + 1.1e-6 * r * e])
    assert S.contains(xs, tol=1e-6).tolist() == [True, False]
    # Near the origin the tolerance is absolute.
    small = torch.stack([0.9e-6 * e, 1.1e-6 * e])
    assert S.contains(small, tol=1e-6).tolist() == [True, False]
    assert S.contains(torch.zeros(8, dtype=torch.float64))
    assert not S.contains(e, tol=0.99)
    assert S.contains(e, tol=1.0 + 1e-9)
    # Batched shapes (..., d) → (...).
    assert S.contains(torch.zeros(2, 3, 8, dtype=torch.float64)).shape == (2, 3)


def test_random_subspace_is_rotation_invariant_in_distribution():
    """Haar check: E[Π] = (ℓ/d) I. Averaging over 400 seeds the entries of the mean
    projection have standard error ≤ 0.5/√400 (each entry lies in [−1, 1])."""
    d, ell, reps = 5, 2, 400
    mean = sum(S.orth_basis @ S.orth_basis.T for S in (Subspace.random(d, ell, seed=s) for s in range(reps))) / reps
    assert torch.allclose(mean, (ell / d) * torch.eye(d, dtype=torch.float64), atol=6 * 0.5 / math.sqrt(reps), rtol=0)


def test_random_subspace_determinism():
    a, b = Subspace.random(10, 4, seed=7), Subspace.random(10, 4, seed=7)
    assert torch.equal(a.basis, b.basis) and torch.equal(a.orth_basis, b.orth_basis)
    c = Subspace.random(10, 4, seed=8)
    assert not torch.equal(a.basis, c.basis)


# --- make_dataset ---------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(dims(max_d=16), st.integers(1, 40), st.integers(0, 2**32), st.sampled_from(["random", "linear"]))
def test_make_dataset_shapes_norms_labels(de, n, seed, labels):
    d, ell = de
    S = Subspace.random(d, ell, seed=seed)
    X, y = make_dataset(S, n, seed=seed, labels=labels)
    assert X.shape == (n, d) and y.shape == (n,)
    assert X.dtype == y.dtype == torch.float64
    assert bool(S.contains(X, tol=1e-12).all())
    assert float(S.project_orth(X).norm(dim=1).max()) <= 1e-12 * math.sqrt(d)
    assert torch.allclose(X.norm(dim=1), torch.full((n,), math.sqrt(d), dtype=torch.float64), rtol=1e-12, atol=0)
    assert set(y.tolist()) <= {-1.0, 1.0}


def test_make_dataset_norm_argument():
    S = Subspace.random(9, 3, seed=1)
    X, _ = make_dataset(S, 20, seed=0, norm=2.5)
    assert torch.allclose(X.norm(dim=1), torch.full((20,), 2.5, dtype=torch.float64), rtol=1e-12, atol=0)


def _separable_in_P(X, y, S) -> bool:
    """Is there a direction w = B a ∈ P with y_j (w·x_j) ≥ 1 for all j? (an LP feasibility problem)."""
    A = -(y[:, None] * (X @ S.basis)).numpy()
    k = S.basis.shape[1]
    res = linprog(np.zeros(k), A_ub=A, b_ub=-np.ones(len(y)), bounds=[(None, None)] * k, method="highs")
    return res.status == 0


def test_linear_labels_are_separable_by_a_direction_in_P():
    S = Subspace.random(12, 7, seed=2)  # P has dimension 5
    X, y = make_dataset(S, 200, seed=4, labels="linear")
    assert _separable_in_P(X, y, S)
    assert 0 < int((y > 0).sum()) < 200
    # Power check: random labels on 200 points in 5 dimensions are not separable
    # (Cover: the probability is 2^{-199} Σ_{k<5} C(199, k) < 1e-50).
    Xr, yr = make_dataset(S, 200, seed=4, labels="random")
    assert not _separable_in_P(Xr, yr, S)


def test_random_labels_are_fair_coins():
    """n = 2000 fair ±1 labels: the count of +1 is Binomial(2000, 1/2); accept the central 1 − 1e-6."""
    from scipy import stats

    S = Subspace.random(6, 2, seed=0)
    _, y = make_dataset(S, 2000, seed=11)
    lo, hi = stats.binom(2000, 0.5).ppf([0.5e-6, 1 - 0.5e-6])
    assert lo <= int((y > 0).sum()) <= hi


def test_points_are_uniform_on_the_sphere_of_P():
    """Coordinates in the basis of P: the mean of the unit vectors is 0 with per-coordinate std 1/√(k n)."""
    S = Subspace.random(8, 3, seed=0)
    n, k = 4000, 5
    X, _ = make_dataset(S, n, seed=5)
    z = S.coords(X) / math.sqrt(8)
    assert float(z.mean(dim=0).abs().max()) < 5 / math.sqrt(k * n)


def test_make_dataset_determinism():
    S = Subspace.random(10, 4, seed=0)
    for labels in ("random", "linear"):
        X1, y1 = make_dataset(S, 30, seed=3, labels=labels)
        X2, y2 = make_dataset(S, 30, seed=3, labels=labels)
        assert torch.equal(X1, X2) and torch.equal(y1, y2)
        X3, y3 = make_dataset(S, 30, seed=4, labels=labels)
        assert not torch.equal(X1, X3) and not torch.equal(y1, y3)


def test_make_dataset_float32():
    S = Subspace.random(10, 4, seed=0)
    X64, y64 = make_dataset(S, 30, seed=3)
    X32, y32 = make_dataset(S, 30, seed=3, dtype=torch.float32)
    assert X32.dtype == y32.dtype == torch.float32
    assert torch.equal(X32, X64.float()) and torch.equal(y32, y64.float())
