"""Tests of advsub.network: the ensemble of two-layer ReLU networks.

Determinism (what holds, checked below): the same (d, m, ensemble, init_scale, seed)
gives bit-identical W, u; the float32 network is the float64 one rounded to float32
(weights are drawn in float64 on the CPU, then cast). Members are *not* the same
across ensemble sizes: W (E, m, d) is drawn in one call and the signs of u after it,
so member 0 of an ensemble of 2 differs from the network with ensemble=1 and the same
seed. Use ``net.member(e)`` to get one member alone.
"""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from advsub import Subspace, TwoLayerReLU, init_beta, make_dataset


def _points(n, d, seed, dtype=torch.float64):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _with_random_bias(net, seed=0):
    net.b = torch.randn(net.ensemble, net.m, generator=torch.Generator().manual_seed(seed), dtype=net.dtype)
    return net


# --- construction -------------------------------------------------------------------
def test_shapes_and_attributes():
    net = TwoLayerReLU(7, 5, ensemble=3, seed=0)
    assert net.W.shape == (3, 5, 7) and net.u.shape == (3, 5)
    assert net.W.dtype == net.u.dtype == torch.float64 and net.W.device == torch.device("cpu")
    assert net.b is None and not net.has_bias
    assert torch.equal(net.W0, net.W) and net.W0 is not net.W
    assert (net.d, net.m, net.ensemble) == (7, 5, 3)
    netb = TwoLayerReLU(7, 5, ensemble=3, seed=0, bias=True)
    assert netb.has_bias and torch.equal(netb.b, torch.zeros(3, 5, dtype=torch.float64))
    assert torch.equal(netb.W, net.W)  # the bias does not change the draw
    x = _points(4, 7, 1)
    assert net(x).shape == (3, 4)
    assert net(x.expand(3, 4, 7)).shape == (3, 4)
    assert net.input_gradient(x).shape == (3, 4, 7)
    assert net.active(x).shape == (3, 4, 5) and net.active(x).dtype == torch.bool
    assert net.preactivation(x).shape == (3, 4, 5)
    assert "TwoLayerReLU(d=7, m=5, ensemble=3" in repr(net)


@pytest.mark.parametrize(
    "init_scale, beta",
    [("standard", 1 / math.sqrt(400)), ("small", 1 / 400), (0.05, 0.05), (2, 2.0)],
)
def test_init_statistics(init_scale, beta):
    """W entries are N(0, β²) and u = ±1/√m with fair signs.

    Σ w² / β² over the N = E·m·d entries is χ²_N exactly, so we accept the sample
    variance s² = Σw²/N when N s²/β² lies between the 1e-6 and 1 − 1e-6 quantiles
    of χ²_N (for N = 80000 that is s/β ∈ [0.983, 1.017] roughly). The mean is
    N(0, β²/N): accept |mean| ≤ 5 β/√N (two-sided level 6e-7). The number of
    positive signs is Binomial(E·m, 1/2): central 1 − 1e-6 interval.
    """
    d, m, E = 400, 50, 4
    net = TwoLayerReLU(d, m, ensemble=E, init_scale=init_scale, seed=123)
    assert net.beta == pytest.approx(beta, rel=1e-15)
    assert init_beta(init_scale, d) == pytest.approx(beta, rel=1e-15)
    W = net.W.flatten()
    N = W.numel()
    q = float((W**2).sum()) / beta**2
    lo, hi = stats.chi2(N).ppf([1e-6, 1 - 1e-6])
    assert lo <= q <= hi, (q / N, lo / N, hi / N)
    assert abs(float(W.mean())) <= 5 * beta / math.sqrt(N)
    # Second layer: exactly ±1/√m.
    assert torch.equal(net.u.abs(), torch.full((E, m), 1 / math.sqrt(m), dtype=torch.float64))
    lo, hi = stats.binom(E * m, 0.5).ppf([0.5e-6, 1 - 0.5e-6])
    assert lo <= int((net.u > 0).sum()) <= hi


def test_init_is_gaussian_ks():
    """Kolmogorov–Smirnov of W/β against N(0, 1); reject at level 1e-4 only."""
    net = TwoLayerReLU(100, 40, ensemble=2, seed=5)
    w = (net.W.flatten() / net.beta).numpy()
    assert stats.kstest(w, "norm").pvalue > 1e-4


# --- the maps ----------------------------------------------------------------------
def _naive_forward(W, u, b, x):
    """One member, loop over neurons: Σ_i u_i max(0, w_i·x + b_i)."""
    out = torch.zeros(x.shape[0], dtype=x.dtype)
    for i in range(W.shape[0]):
        pre = x @ W[i] + (0.0 if b is None else b[i])
        out = out + u[i] * torch.clamp(pre, min=0)
    return out


@pytest.mark.parametrize("bias", [False, True])
def test_forward_matches_naive_loop(bias):
    net = TwoLayerReLU(6, 9, ensemble=3, seed=2, bias=bias)
    if bias:
        _with_random_bias(net)
    x = _points(11, 6, 3)
    out = net(x)
    for e in range(3):
        ref = _naive_forward(net.W[e], net.u[e], None if net.b is None else net.b[e], x)
        assert torch.allclose(out[e], ref, rtol=1e-13, atol=1e-14)
    # (E, n, d): member e evaluated on its own points.
    xs = torch.stack([_points(11, 6, 10 + e) for e in range(3)])
    out3 = net(xs)
    for e in range(3):
        assert torch.allclose(out3[e], net(xs[e])[e], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("batched", [False, True])
def test_input_gradient_equals_autograd(bias, batched):
    E, n, d = 3, 8, 6
    net = TwoLayerReLU(d, 10, ensemble=E, seed=4, bias=bias)
    if bias:
        _with_random_bias(net, seed=1)
    x = torch.stack([_points(n, d, 20 + e) for e in range(E)]) if batched else _points(n, d, 20)
    grad = net.input_gradient(x)
    assert grad.shape == (E, n, d) and grad.dtype == torch.float64
    if batched:
        xr = x.clone().requires_grad_(True)
        net(xr).sum().backward()
        ref = xr.grad
    else:
        # x shared by all members: differentiate member by member.
        ref = torch.empty(E, n, d, dtype=torch.float64)
        for e in range(E):
            xr = x.clone().requires_grad_(True)
            net(xr)[e].sum().backward()
            ref[e] = xr.grad
    assert torch.allclose(grad, ref, rtol=0, atol=1e-12)


def test_active_matches_preactivation():
    net = _with_random_bias(TwoLayerReLU(5, 12, ensemble=2, seed=0, bias=True), seed=3)
    x = _points(9, 5, 1)
    pre = net.preactivation(x)
    ref = torch.einsum("emd,nd->enm", net.W, x) + net.b[:, None, :]
    assert torch.allclose(pre, ref, rtol=0, atol=1e-14)
    assert torch.equal(net.active(x), pre > 0)
    # The gradient is the sum of the active rows: Σ_i u_i 1[active] w_i.
    g = torch.einsum("enm,em,emd->end", net.active(x).double(), net.u, net.W)
    assert torch.allclose(net.input_gradient(x), g, rtol=0, atol=1e-14)


def test_kink_convention_relu_prime_zero():
    """At a pre-activation exactly 0 the neuron counts as inactive (σ'(0) = 0, like torch)."""
    net = TwoLayerReLU(2, 1, seed=0)
    net.W = torch.tensor([[[1.0, 0.0]]], dtype=torch.float64)
    x = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    assert not bool(net.active(x).any())
    assert torch.equal(net.input_gradient(x), torch.zeros(1, 1, 2, dtype=torch.float64))
    xr = x.clone().requires_grad_(True)
    net(xr).sum().backward()
    assert torch.equal(xr.grad, net.input_gradient(x)[0])


def test_float32_works_and_matches_float64():
    d, m = 10, 16
    n64 = TwoLayerReLU(d, m, ensemble=2, seed=9)
    n32 = TwoLayerReLU(d, m, ensemble=2, seed=9, dtype=torch.float32)
    assert n32.W.dtype == n32.u.dtype == torch.float32
    assert torch.equal(n32.W, n64.W.float()) and torch.equal(n32.u, n64.u.float())
    x = _points(5, d, 0)
    out32 = n32(x.float())
    assert out32.dtype == torch.float32
    assert torch.allclose(out32.double(), n64(x), rtol=1e-5, atol=1e-5)
    g32 = n32.input_gradient(x.float())
    assert g32.dtype == torch.float32
    assert torch.allclose(g32.double(), n64.input_gradient(x), rtol=1e-5, atol=1e-6)
    # NumPy input is converted to the network's dtype.
    assert n32(x.numpy()).dtype == torch.float32


def test_outputs_on_data_in_P_have_the_expected_scale():
    """At init, N(x) for ‖x‖ = √d has mean 0 and variance β²‖x‖²·E[σ(g)²] = 1/2 (standard init).

    A smoke check of units over E = 400 independent members at one point. N is a sum
    of m = 200 i.i.d. terms, so nearly Gaussian: we accept |mean| ≤ 5·√(0.5/E) and
    (E − 1)s²/0.5 between the 1e-6 and 1 − 1e-6 quantiles of χ²_{E−1}.
    """
    S = Subspace.random(50, 10, seed=0)
    X, _ = make_dataset(S, 1, seed=0)
    E = 400
    out = TwoLayerReLU(50, 200, ensemble=E, seed=1)(X)[:, 0]
    assert abs(float(out.mean())) < 5 * math.sqrt(0.5 / E)
    lo, hi = stats.chi2(E - 1).ppf([1e-6, 1 - 1e-6])
    assert lo <= (E - 1) * float(out.var()) / 0.5 <= hi


# --- determinism -----------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 4), st.integers(0, 2**40))
def test_same_seed_bit_identical(d, m, E, seed):
    a = TwoLayerReLU(d, m, ensemble=E, seed=seed)
    b = TwoLayerReLU(d, m, ensemble=E, seed=seed)
    assert torch.equal(a.W, b.W) and torch.equal(a.u, b.u) and torch.equal(a.W0, b.W0)


def test_different_seed_differs_and_ensemble_size_matters():
    a = TwoLayerReLU(20, 10, ensemble=2, seed=0)
    assert not torch.equal(a.W, TwoLayerReLU(20, 10, ensemble=2, seed=1).W)
    assert not torch.equal(a.W[0], a.W[1])
    single = TwoLayerReLU(20, 10, ensemble=1, seed=0)
    # Documented: members depend on the ensemble size (the signs of u are drawn after all of W).
    assert not (torch.equal(single.W[0], a.W[0]) and torch.equal(single.u[0], a.u[0]))


# --- clone and member ----------------------------------------------------------------
@pytest.mark.parametrize("bias", [False, True])
def test_clone_is_independent(bias):
    net = TwoLayerReLU(5, 4, ensemble=2, seed=0, bias=bias)
    c = net.clone()
    assert type(c) is TwoLayerReLU
    for name in ("W", "u", "W0") + (("b",) if bias else ()):
        assert torch.equal(getattr(c, name), getattr(net, name))
        assert getattr(c, name).data_ptr() != getattr(net, name).data_ptr()
    W, u = net.W.clone(), net.u.clone()
    c.W += 1.0
    c.u *= -1
    c.W0 += 1.0
    if bias:
        c.b += 1.0
        assert torch.equal(net.b, torch.zeros(2, 4, dtype=torch.float64))
    assert torch.equal(net.W, W) and torch.equal(net.u, u) and torch.equal(net.W0, W)
    assert (c.d, c.m, c.ensemble, c.beta, c.dtype) == (net.d, net.m, net.ensemble, net.beta, net.dtype)


@pytest.mark.parametrize("bias", [False, True])
def test_member_is_an_independent_ensemble_of_one(bias):
    net = TwoLayerReLU(5, 4, ensemble=3, seed=0, bias=bias)
    if bias:
        _with_random_bias(net)
    x = _points(6, 5, 2)
    for e in range(3):
        one = net.member(e)
        assert one.ensemble == 1 and one.W.shape == (1, 4, 5) and one.u.shape == (1, 4)
        assert torch.equal(one.W[0], net.W[e]) and torch.equal(one.u[0], net.u[e]) and torch.equal(one.W0[0], net.W0[e])
        if bias:
            assert torch.equal(one.b[0], net.b[e])
        assert torch.allclose(one(x)[0], net(x)[e], rtol=1e-14, atol=1e-15)
        assert torch.allclose(one.input_gradient(x)[0], net.input_gradient(x)[e], rtol=0, atol=1e-15)
    before = net.W.clone()
    one = net.member(1)
    one.W.zero_()
    one.u.zero_()
    assert torch.equal(net.W, before) and bool((net.u != 0).all())
    # A member accepts (1, n, d) batched points and rejects other leading sizes.
    assert one(x[None]).shape == (1, 6)
    with pytest.raises(ValueError, match=r"x .*ensemble=1"):
        one(x.expand(3, 6, 5))
