"""Tests of advsub.deep: DeepReLU (weights, maps, gradients) and train_deep (the same training as train)."""
from __future__ import annotations

import pytest
import torch
from scipy import stats

import advsub
from advsub import beyond
from advsub.deep import DeepReLU, train_deep
from advsub.theory import weight_decay_factor

D, ELL, N, M = 20, 8, 20, 24


def _problem(subspace="random", seed=0):
    S = advsub.Subspace.random(D, ELL, seed=seed) if subspace == "random" else advsub.Subspace.axis_aligned(D, ELL)
    X, y = advsub.make_dataset(S, N, seed=seed + 1)
    return S, X, y


# --- construction and validation ---------------------------------------------------------
def test_shapes_init_scales_and_determinism():
    net = DeepReLU(D, [M, 10, 7], ensemble=3, seed=4)
    assert [tuple(w.shape) for w in net.weights] == [(3, M, D), (3, 10, M), (3, 7, 10)]
    assert net.u.shape == (3, 7) and net.depth == 4 and net.W is net.weights[0]
    assert torch.allclose(net.u.abs(), torch.full_like(net.u, 7**-0.5))
    big = DeepReLU(400, [300, 300], seed=1)
    assert abs(float(big.W.std()) * 400**0.5 - 1) < 0.01  # β = 1/√d
    assert abs(float(big.weights[1].std()) * (300 / 2) ** 0.5 - 1) < 0.01  # He: 2/fan_in
    assert DeepReLU(D, [M], init_scale="small", seed=0).beta == pytest.approx(1 / D)
    again = DeepReLU(D, [M, 10, 7], ensemble=3, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(net.weights, again.weights))
    assert net.weights[0].dtype == torch.float64
    assert DeepReLU(D, [M, M], dtype=torch.float32, seed=4).weights[1].dtype == torch.float32


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(widths=5), TypeError, "widths"),
        (dict(widths=[]), TypeError, "widths"),
        (dict(widths=[4, 0]), ValueError, r"widths\[1\]"),
        (dict(widths=[4, 2.5]), TypeError, r"widths\[1\]"),
        (dict(widths=[4], ensemble=0), ValueError, "ensemble"),
        (dict(widths=[4], init_scale="huge"), ValueError, "init_scale"),
        (dict(widths=[4], dtype=torch.int64), TypeError, "dtype"),
        (dict(widths=[4], device="nowhere"), ValueError, "device"),
    ],
)
def test_bad_construction(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        DeepReLU(D, seed=0, **kwargs)


def test_two_layer_case_is_two_layer_relu():
    S, X, y = _problem()
    a = advsub.TwoLayerReLU(D, M, ensemble=3, seed=5)
    b = DeepReLU(D, [M], ensemble=3, seed=5)
    assert torch.equal(a.W, b.W) and torch.equal(a.u, b.u)
    torch.testing.assert_close(a(X), b(X), rtol=0, atol=1e-14)
    torch.testing.assert_close(a.input_gradient(X), b.input_gradient(X), rtol=0, atol=1e-14)
    assert torch.equal(a.active(X), b.active(X)[0])
    signal = b.first_layer_signal(X)
    torch.testing.assert_close(signal.pow(2).sum(-1), a.active(X).sum(-1).double() / M)  # ‖δ_1‖² = k/m


@pytest.mark.parametrize("widths", [[M, 10], [M, 10, 7]])
def test_input_gradient_matches_autograd(widths):
    S, X, y = _problem()
    net = DeepReLU(D, widths, ensemble=2, seed=3)
    for x in (X[:6], torch.randn(2, 6, D, dtype=torch.float64, generator=torch.Generator().manual_seed(0))):
        xr = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(net._forward(xr).sum(), xr)
        grad = net.input_gradient(x)
        torch.testing.assert_close(grad.sum(0) if x.ndim == 2 else grad, g, rtol=1e-10, atol=1e-12)
    assert [a.shape for a in net.active(X)] == [(2, N, w) for w in widths]
    with pytest.raises(ValueError, match="last dimension"):
        net(X[:, :3])
    with pytest.raises(TypeError, match="dtype"):
        net(X.float())


def test_clone_and_member_are_copies():
    net = DeepReLU(D, [M, 6], ensemble=3, seed=1)
    c, m1 = net.clone(), net.member(1)
    c.weights[1].add_(1.0)
    assert not torch.equal(c.weights[1], net.weights[1])
    S, X, y = _problem()
    torch.testing.assert_close(m1(X)[0], net(X)[1])
    with pytest.raises(ValueError, match="e must be <= 2"):
        net.member(3)


# --- training -------------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam", "sgd"])
def test_train_deep_matches_train_for_two_layers(optimizer):
    S, X, y = _problem()
    a = advsub.TwoLayerReLU(D, M, ensemble=3, seed=5)
    b = DeepReLU(D, [M], ensemble=3, seed=5)
    kw = dict(optimizer=optimizer, lr=0.01 if optimizer == "adam" else 0.2, weight_decay=1e-3, max_steps=200,
              progress=False, seed=3, train_second_layer=optimizer == "gd")
    h1, h2 = advsub.training.train(a, X, y, **kw), train_deep(b, X, y, **kw)
    assert torch.equal(h1.steps, h2.steps) and torch.equal(h1.reached, h2.reached)
    torch.testing.assert_close(a.W, b.W, rtol=0, atol=1e-12)
    torch.testing.assert_close(a.u, b.u, rtol=0, atol=1e-12)
    torch.testing.assert_close(h1.loss, h2.loss, rtol=0, atol=1e-12)


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum"])
def test_first_layer_orthogonal_part_is_invariant(optimizer):
    S, X, y = _problem()
    net = DeepReLU(D, [M, M], ensemble=3, seed=2)
    hist = train_deep(net, X, y, optimizer=optimizer, lr=0.1, max_steps=300, progress=False, seed=0)
    assert int(hist.steps.min()) > 0
    assert float((S.project_orth(net.W) - S.project_orth(net.W0)).abs().max()) < 1e-13
    assert float((S.project(net.W) - S.project(net.W0)).abs().max()) > 1e-3  # the P-part did train
    assert float((net.weights[1] - net.weights0[1]).abs().max()) > 1e-3  # and so did layer 2


def test_weight_decay_shrinks_orthogonal_part_geometrically_and_adam_breaks_invariance():
    S, X, y = _problem()
    net = DeepReLU(D, [M, M], ensemble=2, seed=2)
    hist = train_deep(net, X, y, lr=0.1, weight_decay=0.5, max_steps=40, target_margin=1e6, progress=False)
    factor = weight_decay_factor(0.1, 0.5, 40)
    assert int(hist.steps.min()) == 40
    torch.testing.assert_close(S.project_orth(net.W), factor * S.project_orth(net.W0), rtol=1e-10, atol=1e-14)
    adam = DeepReLU(D, [M, M], ensemble=2, seed=2)
    train_deep(adam, X, y, optimizer="adam", lr=0.01, max_steps=50, progress=False)
    assert float((S.project_orth(adam.W) - S.project_orth(adam.W0)).abs().max()) > 1e-3


def test_train_deep_reaches_margin_is_deterministic_and_validates():
    S, X, y = _problem()
    nets = [DeepReLU(D, [M, M, M], ensemble=2, seed=7) for _ in range(2)]
    h = [train_deep(n, X, y, lr=0.3, max_steps=3000, progress=False) for n in nets]
    assert h[0].all_reached and bool((h[0].final_margin >= 0.3).all())
    assert all(torch.equal(a, b) for a, b in zip(nets[0].weights, nets[1].weights))
    net = nets[0]
    with pytest.raises(TypeError, match="DeepReLU"):
        train_deep(advsub.TwoLayerReLU(D, M, seed=0), X, y, lr=0.1, max_steps=1)
    with pytest.raises(ValueError, match="optimizer"):
        train_deep(net, X, y, optimizer="lbfgs", lr=0.1, max_steps=1)
    with pytest.raises(ValueError, match="lr"):
        train_deep(net, X, y, lr=0.0, max_steps=1)
    with pytest.raises(ValueError, match="lr \\* weight_decay"):
        train_deep(net, X, y, lr=1.0, weight_decay=1.0, max_steps=1)
    with pytest.raises(ValueError, match="y must contain only"):
        train_deep(net, X, y * 2, lr=0.1, max_steps=1)
    with pytest.raises(ValueError, match="batch_size"):
        train_deep(net, X, y, lr=0.1, max_steps=1, batch_size=5)


def test_train_dispatches_deep_networks():
    S, X, y = _problem()
    a, b = DeepReLU(D, [M, M], ensemble=2, seed=3), DeepReLU(D, [M, M], ensemble=2, seed=3)
    h1 = advsub.train(a, X, y, lr=0.3, max_steps=500, progress=False)
    h2 = train_deep(b, X, y, lr=0.3, max_steps=500, progress=False)
    assert torch.equal(h1.steps, h2.steps)
    assert all(torch.equal(p, q) for p, q in zip(a.weights, b.weights))


# --- Theorem A for deeper networks ---------------------------------------------------------
def test_deep_orthogonal_gradient_law_ks():
    """‖Π∇N(x0)‖² / (β²‖δ_1(x0)‖²) ~ χ²_ℓ exactly: one fresh network per sample, one x0 each.

    200 independent members; the KS test at level 0.001 (a correct law fails it once in 1000 seeds).
    """
    d, ell, E = 20, 10, 200
    S = advsub.Subspace.random(d, ell, seed=0)
    X, y = advsub.make_dataset(S, 20, seed=1)
    net = DeepReLU(d, [16, 16], ensemble=E, seed=2)
    train_deep(net, X, y, lr=0.3, max_steps=400, progress=False)
    x0, _ = advsub.make_dataset(S, 1, seed=3)
    g2 = advsub.orthogonal_gradient(net, x0, S)[:, 0].norm(dim=-1) ** 2
    s2 = net.first_layer_signal(x0)[:, 0].pow(2).sum(-1)
    keep = s2 > 0
    u = [beyond.deep_orthogonal_gradient_law(float(s), ell, net.beta).cdf(float(g)) for s, g in zip(s2[keep], g2[keep])]
    assert int(keep.sum()) > 150
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    with pytest.raises(ValueError, match="signal_norm_sq"):
        beyond.deep_orthogonal_gradient_law(0.0, ell, 0.1)


def test_train_rejects_reduced_for_deep_networks_and_validates_like_train():
    P = advsub.Subspace.random(12, 6, seed=0)
    X, y = advsub.make_dataset(P, 8, seed=1)
    net = DeepReLU(12, [8, 8], seed=2)
    with pytest.raises(ValueError, match="reduced"):
        advsub.train(net, X, y, lr=0.1, max_steps=2, reduced=True, progress=False)
    with pytest.raises(ValueError, match="lr"):
        advsub.train(net, X, y, lr=-1.0, max_steps=2, progress=False)
    with pytest.raises(ValueError, match="y"):
        advsub.train(net, X, 2 * y, lr=0.1, max_steps=2, progress=False)
    DeepReLU(12, [8], seed=2**64 - 1)  # the whole seed range, like TwoLayerReLU
