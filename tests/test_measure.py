"""Tests of advsub.measure: one orthogonal gradient per network, the invariance deviation, E‖Π∇N‖."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import advsub
from advsub import theory
from advsub.measure import GradientSample


@pytest.fixture(scope="module")
def trained():
    P = advsub.Subspace.random(16, 6, seed=0)
    X, y = advsub.make_dataset(P, 12, seed=1)
    net = advsub.TwoLayerReLU(16, 20, ensemble=5, seed=2)
    h = advsub.train(net, X, y, lr=0.5, max_steps=500, progress=False)
    x0, _ = advsub.make_dataset(P, 5, seed=3)
    return P, net, h, x0


def test_sample_matches_the_formula_from_the_initial_weights(trained):
    P, net, h, x0 = trained
    s = advsub.orthogonal_gradient_sample(net, P, x0, reached=h.reached.numpy())
    assert len(s) == 5 and s.sq_norm.shape == (5,) and s.k.shape == (5,)
    assert (s.d, s.ell, s.m, s.beta) == (16, 6, 20, net.beta)
    for e in range(5):
        act = net.W[e] @ x0[e] > 0
        v = (net.u[e][act, None] * net.W0[e][act]).sum(0) @ P.orth_basis  # Σ_{i∈I} u_i Cᵀ w_i(0)
        assert s.k[e] == int(act.sum())
        assert s.sq_norm[e] == pytest.approx(float(v @ v), rel=1e-10)
    np.testing.assert_allclose(s.statistic, s.sq_norm * 20 / (s.k * net.beta**2))
    np.testing.assert_allclose(s.norm, np.sqrt(s.sq_norm))


def test_lower_bound_uses_theory(trained):
    P, net, _, x0 = trained
    s = advsub.orthogonal_gradient_sample(net, P, x0)
    want = [theory.gradient_lower_bound(int(k), 6, 20, 16, net.beta) for k in s.k]
    np.testing.assert_allclose(s.lower_bound(), want)
    np.testing.assert_array_equal(s.lower_bound_holds(), s.norm >= np.array(want))
    assert s.reached.all() and "GradientSample" in repr(s)


def test_k_zero_members_are_excluded():
    s = GradientSample(sq_norm=np.array([0.0, 2.0]), k=np.array([0, 3]), d=10, ell=4, m=6, beta=0.5,
                       reached=np.ones(2, bool))
    np.testing.assert_array_equal(s.valid, [False, True])
    np.testing.assert_allclose(s.statistic, [2.0 * 6 / (3 * 0.25)])
    assert s.lower_bound().shape == (1,)


def test_sample_validation(trained):
    P, net, _, x0 = trained
    with pytest.raises(ValueError, match="one row per ensemble member"):
        advsub.orthogonal_gradient_sample(net, P, x0[:3])
    with pytest.raises(ValueError, match="x must lie in the data subspace"):
        advsub.orthogonal_gradient_sample(net, P, x0 + P.orth_basis[:, 0])
    with pytest.raises(ValueError, match="reached"):
        advsub.orthogonal_gradient_sample(net, P, x0, reached=[True])
    with pytest.raises(TypeError, match="subspace must be a Subspace"):
        advsub.orthogonal_gradient_sample(net, "P", x0)
    with pytest.raises(ValueError, match="subspace must be one of"):
        advsub.gradient_law_experiment(10, 3, 5, ensemble=2, subspace="diagonal")


def test_experiment_is_reproducible_and_seed_dependent():
    a = advsub.gradient_law_experiment(12, 4, 10, ensemble=6, n=8, seed=3)
    b = advsub.gradient_law_experiment(12, 4, 10, ensemble=6, n=8, seed=3)
    c = advsub.gradient_law_experiment(12, 4, 10, ensemble=6, n=8, seed=4)
    np.testing.assert_array_equal(a.sq_norm, b.sq_norm)
    np.testing.assert_array_equal(a.k, b.k)
    assert not np.array_equal(a.sq_norm, c.sq_norm)
    assert a.reached.dtype == bool and a.reached.shape == (6,)


@pytest.mark.parametrize(
    "kw",
    [dict(optimizer="gd", lr=0.5), dict(optimizer="sgd", lr=0.5, batch_size=3), dict(optimizer="momentum", lr=0.1),
     dict(optimizer="gd", lr=0.5, train_second_layer=True)],
)
def test_invariance_deviation_is_rounding_for_first_order_methods(kw):
    P = advsub.Subspace.random(12, 5, seed=1)
    X, y = advsub.make_dataset(P, 10, seed=2)
    net = advsub.TwoLayerReLU(12, 15, ensemble=3, seed=3)
    advsub.train(net, X, y, max_steps=300, progress=False, seed=4, **kw)
    assert advsub.invariance_deviation(net, P) < 1e-13
    assert not torch.equal(net.W, net.W0)  # training did move the P-part


def test_invariance_deviation_with_weight_decay_factor():
    P = advsub.Subspace.random(12, 5, seed=1)
    X, y = advsub.make_dataset(P, 10, seed=2)
    net = advsub.TwoLayerReLU(12, 15, ensemble=3, seed=3)
    h = advsub.train(net, X, y, lr=0.5, weight_decay=0.1, max_steps=300, progress=False)
    f = theory.weight_decay_factor(0.5, 0.1, h.steps.numpy())
    assert advsub.invariance_deviation(net, P, f) < 1e-13
    assert advsub.invariance_deviation(net, P) > 1e-3  # without the factor the prediction is wrong
    with pytest.raises(ValueError, match="factor"):
        advsub.invariance_deviation(net, P, np.ones(2))


def test_adam_keeps_axis_aligned_invariance_exactly_but_not_random():
    for sub, exact in ((advsub.Subspace.axis_aligned(12, 5), True), (advsub.Subspace.random(12, 5, seed=1), False)):
        X, y = advsub.make_dataset(sub, 10, seed=2)
        net = advsub.TwoLayerReLU(12, 15, ensemble=3, seed=3)
        advsub.train(net, X, y, optimizer="adam", lr=0.05, max_steps=300, progress=False)
        dev = advsub.invariance_deviation(net, sub)
        assert (dev == 0.0) if exact else (dev > 1e-3), (sub, dev)


@settings(max_examples=30, deadline=None)
@given(ell=st.integers(1, 200), m=st.integers(1, 50), beta=st.floats(1e-3, 2.0), frac=st.floats(0, 1))
def test_expected_norm_is_the_chi_mean(ell, m, beta, frac):
    k = round(frac * m)
    got = advsub.expected_orthogonal_gradient_norm(k, ell, m, beta)
    want = beta * math.sqrt(k / m) * stats.chi(ell).mean()
    assert got == pytest.approx(want, rel=1e-9, abs=1e-300)
    # Jensen: E‖·‖ ≤ √E‖·‖², with the squared mean of theory.expected_orthogonal_gradient_sq
    assert got <= math.sqrt(theory.expected_orthogonal_gradient_sq(k, ell, m, beta)) * (1 + 1e-12)


def test_expected_norm_vectorised_and_validated():
    out = advsub.expected_orthogonal_gradient_norm(np.array([1, 4, 9]), 3, 9, 1.0)
    assert out.shape == (3,)
    np.testing.assert_allclose(out / out[0], [1, 2, 3])
    with pytest.raises(ValueError, match=r"k must be <= 9.0, got k=10.0"):
        advsub.expected_orthogonal_gradient_norm(10, 3, 9, 1.0)
    with pytest.raises(ValueError, match="beta"):
        advsub.expected_orthogonal_gradient_norm(1, 3, 9, 0.0)


def test_gradient_law_sweep_equals_one_experiment_per_config():
    configs = [dict(d=30, ell=10, m=20, seed=1), dict(d=30, ell=20, m=20, seed=2), dict(d=40, ell=10, m=30, seed=3)]
    swept = advsub.gradient_law_sweep(configs, ensemble=6, n=10, max_steps=300, progress=False)
    for cfg, s in zip(configs, swept):
        one = advsub.gradient_law_experiment(cfg["d"], cfg["ell"], cfg["m"], ensemble=6, n=10, max_steps=300, seed=cfg["seed"])
        np.testing.assert_allclose(s.norm, one.norm, rtol=1e-9)
        np.testing.assert_array_equal(s.k, one.k)
    with pytest.raises(ValueError, match="seed"):
        advsub.gradient_law_sweep([dict(d=30, ell=10, m=20)], ensemble=2)
