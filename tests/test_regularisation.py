"""Theorem D measured: Π W(t) = (1 − ηλ)^t Π W(0) along training, and the sweep helpers (advsub.regularisation)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import advsub
from advsub import theory
from advsub.regularisation import orthogonal_decay_curve, orthogonal_weight_ratio, weight_decay_sweep

torch.set_num_threads(1)


def _problem(seed=0, d=30, ell=12, n=20):
    P = advsub.Subspace.random(d, ell, seed=seed)
    X, y = advsub.make_dataset(P, n, seed=seed + 1, labels="linear")
    return P, X, y


@pytest.mark.parametrize("lam", [1e-3, 1e-2, 5e-2])
def test_decay_curve_matches_the_factor_per_member(lam):
    """Relative error ≤ 1e-12 at every checkpoint whose factor is above the rounding floor (≥ 1e-6)."""
    P, X, y = _problem()
    net = advsub.TwoLayerReLU(30, 20, ensemble=3, seed=2)
    st, r = orthogonal_decay_curve(net, X, y, P, lr=0.5, weight_decay=lam, checkpoints=[10, 50, 200, 400])
    assert st.shape == r.shape == (4, 3)
    assert (st == np.array([10, 50, 200, 400])[:, None]).all()
    f = theory.weight_decay_factor(0.5, lam, st)
    ok = f >= 1e-6
    assert ok[0].all()
    assert np.abs(r[ok] / f[ok] - 1).max() <= 1e-12


@pytest.mark.parametrize("optimizer, reduced", [("gd", False), ("sgd", None), ("momentum", None), ("momentum", False)])
def test_factor_for_every_first_order_method(optimizer, reduced):
    P, X, y = _problem(seed=3)
    net = advsub.TwoLayerReLU(30, 20, ensemble=2, seed=4)
    hist = advsub.train(net, X, y, optimizer=optimizer, lr=0.3, weight_decay=2e-2, target_margin=1e9, max_steps=300,
                        batch_size=8 if optimizer == "sgd" else None, reduced=reduced, progress=False, seed=5)
    f = theory.weight_decay_factor(0.3, 2e-2, hist.steps.numpy())
    assert np.allclose(orthogonal_weight_ratio(net, P).numpy(), f, rtol=1e-12, atol=0)


def test_chunked_training_is_one_trajectory():
    P, X, y = _problem(seed=6)
    a = advsub.TwoLayerReLU(30, 20, ensemble=2, seed=7)
    b = a.clone()
    orthogonal_decay_curve(a, X, y, P, lr=0.5, weight_decay=1e-2, checkpoints=[40, 100, 250])
    advsub.train(b, X, y, lr=0.5, weight_decay=1e-2, target_margin=1e9, max_steps=250, progress=False)
    assert torch.allclose(a.W, b.W, rtol=1e-10, atol=1e-12)


def test_fitted_slope_is_log_one_minus_eta_lambda():
    P, X, y = _problem(seed=8)
    net = advsub.TwoLayerReLU(30, 20, ensemble=2, seed=9)
    st, r = orthogonal_decay_curve(net, X, y, P, lr=0.5, weight_decay=1e-2, checkpoints=range(100, 1001, 100))
    slope = np.polyfit(st.ravel(), np.log(r).ravel(), 1)[0]
    assert abs(slope / np.log1p(-0.5e-2) - 1) < 1e-10
    assert abs(slope / -0.5e-2 - 1) > 1e-3  # not the gradient-flow rate


def test_sweep_certificate_is_theorem_d_and_sweep_is_deterministic():
    a = weight_decay_sweep([0.0, 3e-3], d=30, ell=12, m=20, ensemble=2, n=20, n_test=10, max_steps=400, attack=False)
    b = weight_decay_sweep([0.0, 3e-3], d=30, ell=12, m=20, ensemble=2, n=20, n_test=10, max_steps=400, attack=False)
    for p, q in zip(a, b):
        assert np.array_equal(p.sample.certified, q.sample.certified)
        assert np.allclose(p.sample.certified, p.predicted_certified, rtol=1e-9)
    assert a[0].factor.tolist() == [1.0, 1.0] and (a[1].steps == 400).all()


@pytest.mark.parametrize("call, exc, word", [
    (lambda P, X, y, net: orthogonal_decay_curve(net, X, y, P, lr=0.5, weight_decay=0.0, checkpoints=[]), ValueError, "checkpoints"),
    (lambda P, X, y, net: orthogonal_decay_curve(net, X, y, P, lr=0.5, weight_decay=0.0, checkpoints=[5, 5]), ValueError, "checkpoints"),
    (lambda P, X, y, net: orthogonal_decay_curve(net, X, y, P, lr=0.5, weight_decay=0.0, checkpoints=[0]), ValueError, "checkpoints"),
    (lambda P, X, y, net: orthogonal_weight_ratio("net", P), TypeError, "net"),
    (lambda P, X, y, net: orthogonal_weight_ratio(net, advsub.Subspace.random(5, 2, seed=0)), ValueError, "subspace"),
    (lambda P, X, y, net: weight_decay_sweep([-1.0], d=30, ell=12, m=5, ensemble=1), ValueError, "weight_decays"),
    (lambda P, X, y, net: weight_decay_sweep([0.0], d=30, ell=12, m=5, ensemble=0), ValueError, "ensemble"),
])
def test_bad_input(call, exc, word):
    P, X, y = _problem()
    with pytest.raises(exc, match=word):
        call(P, X, y, advsub.TwoLayerReLU(30, 5, seed=0))
