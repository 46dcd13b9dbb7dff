"""Tests of advsub.beyond: restricted attacks (ℓ2, ℓ1, ℓ∞, per-point normal spaces), norm-ratio predictions, deep certificate."""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch

import advsub
from advsub import attacks, beyond
from advsub.deep import DeepReLU, train_deep
from advsub.manifolds import Manifold, make_manifold_dataset


@functools.lru_cache(maxsize=None)
def trained(axis=False, deep=False, d=40, ell=20, m=30, E=3, seed=0):
    P = advsub.Subspace.axis_aligned(d, ell) if axis else advsub.Subspace.random(d, ell, seed=seed)
    X, y = advsub.make_dataset(P, 40, seed=seed + 1)
    if deep:
        net = DeepReLU(d, [m, m], ensemble=E, seed=seed + 2)
        hist = train_deep(net, X, y, lr=0.3, max_steps=3000, progress=False)
    else:
        net = advsub.TwoLayerReLU(d, m, ensemble=E, seed=seed + 2)
        hist = advsub.train(net, X, y, lr=0.5, max_steps=3000, progress=False)
    assert hist.all_reached
    Xt, _ = advsub.make_dataset(P, 30, seed=seed + 3)
    return net, P, Xt


def flips(net, x, z):
    return bool(((net(x) * net(x + z)) < 0).all())


def linear_net(d, w):
    """N(x) = σ(w·x) − σ(−w·x) = w·x: a linear function, so every attack has a closed-form answer."""
    net = advsub.TwoLayerReLU(d, 2, seed=0)
    w = torch.as_tensor(w, dtype=torch.float64)
    net.W = torch.stack([w, -w])[None]
    net.u = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    return net


@pytest.mark.parametrize("deep", [False, True])
def test_restricted_l2_and_linf_agree_with_orthogonal_attack(deep):
    net, P, Xt = trained(axis=True, deep=deep)
    for norm in ("l2", "linf"):
        z, size = beyond.restricted_attack(net, Xt, P.orth_basis, norm=norm)
        z0, size0 = advsub.orthogonal_attack(net, Xt, P, norm=norm)
        assert flips(net, Xt, z) and float(P.project(z).abs().max()) < 1e-12
        # the same DeepFool; orthogonal_attack adds the universal candidate for two-layer nets
        assert bool((size0 <= size * (1 + 1e-5)).all())
        assert float((size / size0).median()) < 1 + 1e-5
        torch.testing.assert_close(attacks._vec_norm(z @ P.orth_basis, norm), size)


def test_linear_boundary_sizes_are_exact_in_every_norm():
    d, ell = 12, 6
    P = advsub.Subspace.axis_aligned(d, ell)
    w = torch.linspace(-1.0, 2.0, d, dtype=torch.float64)
    net = linear_net(d, w)
    x0 = torch.zeros(1, d, dtype=torch.float64)
    x0[0, 0] = -3.0  # w_0 = −1, so w·x0 = 3 > 0 and x0 ∈ P
    g = w[d - ell :]
    expect = {"l2": 3 / g.norm(), "linf": 3 / g.abs().sum(), "l1": 3 / g.abs().max()}
    for norm, value in expect.items():
        z, size = beyond.restricted_attack(net, x0, P.orth_basis, norm=norm)
        assert float(size) == pytest.approx(float(value), rel=1e-5)
        assert flips(net, x0, z)
    z, size = beyond.orthogonal_l1_attack(net, x0, P)
    assert int((z.abs() > 0).sum()) == 1  # the ℓ1 step is one pixel
    assert float(z.abs().sum()) == pytest.approx(float(expect["l1"]), rel=1e-5)


@pytest.mark.parametrize("deep", [False, True])
def test_l1_attack_flips_and_respects_norm_order(deep):
    net, P, Xt = trained(axis=True, deep=deep)
    z1, s1 = beyond.orthogonal_l1_attack(net, Xt, P)
    _, s2 = advsub.orthogonal_attack(net, Xt, P)
    assert flips(net, Xt, z1) and float(P.project(z1).abs().max()) < 1e-12
    torch.testing.assert_close(z1.abs().sum(-1), s1)
    # ‖c‖₁ ≥ ‖c‖₂, so the smallest ℓ1 flip is at least the smallest ℓ2 flip (≥ what the ℓ2 attack finds, up to its slack)
    assert bool((s1 >= 0.98 * s2).all()) and bool((s1 <= math.sqrt(P.ell) * s2 * 1.5).all())


def test_normal_attack_stays_in_normal_space_and_flips():
    M = Manifold.trigonometric(30, 1, 6, seed=0)
    X, y, theta = make_manifold_dataset(M, 40, seed=1, labels="linear")
    net = advsub.TwoLayerReLU(30, 30, ensemble=2, seed=2)
    assert advsub.train(net, X, y, lr=0.5, max_steps=3000, progress=False).all_reached
    z, size = beyond.normal_attack(net, M, theta[:15])
    x = X[:15]
    assert flips(net, x, z)
    T = M.tangent_basis(theta[:15])
    assert float(torch.einsum("ndk,end->enk", T, z).abs().max()) < 1e-10
    torch.testing.assert_close(z.norm(dim=-1), size)
    # the normal space contains the complement of the span, so the normal flip is no larger
    # than the orthogonal attack in P⊥ = span⊥ (up to the attacks' slack)
    _, s_orth = advsub.orthogonal_attack(net, x, M.span)
    assert bool((size <= s_orth * 1.02).all())


def test_circle_radial_direction_never_flips_a_bias_free_net():
    """N(λx) = λN(x) for λ > 0 without biases: along the circle's radial normal nothing flips before the origin."""
    M = Manifold.sphere(20, 1, seed=0)
    X, y, theta = make_manifold_dataset(M, 20, seed=1, labels="linear")
    net = advsub.TwoLayerReLU(20, 20, seed=2)
    advsub.train(net, X, y, lr=0.5, max_steps=2000, progress=False)
    t = torch.linspace(-0.99, 5, 200, dtype=torch.float64)
    outs = net((X[None] * (1 + t[:, None, None])).reshape(-1, 20)).reshape(200, 20)
    assert bool((outs * net(X)[0] > 0).all())


def test_bad_inputs():
    net, P, Xt = trained()
    with pytest.raises(ValueError, match="norm"):
        beyond.restricted_attack(net, Xt, P.orth_basis, norm="l3")
    with pytest.raises(ValueError, match="rows"):
        beyond.restricted_attack(net, Xt, P.orth_basis[:5])
    with pytest.raises(ValueError, match="per-point"):
        beyond.restricted_attack(net, Xt, P.orth_basis.expand(3, -1, -1))
    with pytest.raises(TypeError, match="net"):
        beyond.restricted_attack("net", Xt, P.orth_basis)
    with pytest.raises(ValueError, match="data subspace"):
        beyond.orthogonal_l1_attack(net, Xt + P.orth_basis[:, 0], P)
    with pytest.raises(TypeError, match="subspace"):
        beyond.orthogonal_l1_attack(net, Xt, "P")
    with pytest.raises(ValueError, match="steps"):
        beyond.orthogonal_l1_attack(net, Xt, P, steps=0)
    with pytest.raises(TypeError, match="manifold"):
        beyond.normal_attack(net, P, Xt)
    with pytest.raises(ValueError, match="manifold.d"):
        beyond.normal_attack(net, Manifold.sphere(10, 1, seed=0), torch.ones(2, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match="DeepReLU"):
        beyond.deep_orthogonal_lipschitz_bound(net, P)


# --- predictions for other norms ---------------------------------------------------------------
@pytest.mark.parametrize("ell", [1, 2, 10, 50, 200])
def test_predicted_norm_ratio_matches_monte_carlo(ell):
    g = torch.randn(200_000, ell, dtype=torch.float64, generator=torch.Generator().manual_seed(ell)).numpy()
    l2, l1, linf = np.linalg.norm(g, axis=1), np.abs(g).sum(1), np.abs(g).max(1)
    # ratio of means; the standard error of each mean is below 0.3% here, so 1% is > 3 standard errors
    assert beyond.predicted_norm_ratio(ell, "linf") == pytest.approx(l2.mean() / l1.mean(), rel=0.01)
    assert beyond.predicted_norm_ratio(ell, "l1") == pytest.approx(l2.mean() / linf.mean(), rel=0.01)
    lo, hi = beyond.norm_equivalence_bounds(ell, "linf")
    assert lo <= beyond.predicted_norm_ratio(ell, "linf") <= hi * (1 + 1e-12)
    lo, hi = beyond.norm_equivalence_bounds(ell, "l1")
    assert lo * (1 - 1e-12) <= beyond.predicted_norm_ratio(ell, "l1") <= hi * (1 + 1e-12)


def test_predicted_norm_ratio_limits_and_validation():
    assert beyond.predicted_norm_ratio(1, "linf") == pytest.approx(1.0)
    assert beyond.predicted_norm_ratio(10_000, "linf") * math.sqrt(10_000) == pytest.approx(math.sqrt(math.pi / 2), rel=1e-3)
    arr = beyond.predicted_norm_ratio(np.array([4, 16]), "l1")
    assert arr.shape == (2,) and arr[1] > arr[0]
    with pytest.raises(ValueError, match="ell"):
        beyond.predicted_norm_ratio(0, "l1")
    with pytest.raises(ValueError, match="ell"):
        beyond.predicted_norm_ratio(2.5, "l1")
    with pytest.raises(ValueError, match="norm"):
        beyond.predicted_norm_ratio(3, "l2")


# --- the deep certificate ------------------------------------------------------------------------
def test_deep_certificate_is_sound_and_reduces_to_two_layer_one():
    net, P, Xt = trained(deep=True)
    radius = beyond.deep_certified_orthogonal_radius(net, Xt, P)
    _, size = advsub.orthogonal_attack(net, Xt, P)
    assert bool((radius <= size).all())
    # random directions of P⊥ at 0.999 × the radius never flip
    gen = torch.Generator().manual_seed(0)
    c = torch.randn(50, net.ensemble, Xt.shape[0], P.ell, dtype=torch.float64, generator=gen)
    z = (c / c.norm(dim=-1, keepdim=True)) @ P.orth_basis.T * 0.999 * radius[..., None]
    assert bool((net(Xt + z[0]) * net(Xt) > 0).all()) and all(bool((net(Xt + zi) * net(Xt) > 0).all()) for zi in z)
    two = trained()[0]
    as_deep = DeepReLU(two.d, [two.m], ensemble=two.ensemble, seed=0)
    as_deep.weights, as_deep.u = [two.W.clone()], two.u.clone()
    torch.testing.assert_close(beyond.deep_orthogonal_lipschitz_bound(as_deep, P), advsub.orthogonal_lipschitz_constant(two, P))
