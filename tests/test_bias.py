"""Hidden-layer biases leave the invariance lemma and Theorem A unchanged (chapter 05, prop-05-bias)."""
from __future__ import annotations

import pytest
import torch
from scipy import stats

import advsub
from advsub import theory
from advsub.toydata import toy_network

torch.set_num_threads(1)


def _random_bias_net(d, m, *, ensemble, seed, init_scale="standard"):
    """A biased network whose biases start away from 0 (so they matter from the first step)."""
    net = advsub.TwoLayerReLU(d, m, ensemble=ensemble, init_scale=init_scale, seed=seed, bias=True)
    g = torch.Generator().manual_seed(seed + 100)
    net.b = 0.5 * torch.randn(ensemble, m, generator=g, dtype=torch.float64)
    return net


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum"])
@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
@pytest.mark.parametrize("second", [False, True])
def test_orthogonal_weights_decay_exactly_with_biases(optimizer, weight_decay, second):
    P = advsub.Subspace.random(12, 5, seed=1)
    X, y = advsub.make_dataset(P, 20, seed=2)
    net = _random_bias_net(12, 16, ensemble=3, seed=3)
    b0 = net.b.clone()
    hist = advsub.train(net, X, y, optimizer=optimizer, lr=0.3, weight_decay=weight_decay, max_steps=150,
                        batch_size=8 if optimizer == "sgd" else None, train_second_layer=second, progress=False, seed=4)
    assert not torch.equal(net.b, b0)  # the biases did train
    C = P.orth_basis
    factor = torch.as_tensor(theory.weight_decay_factor(0.3, weight_decay, hist.steps.numpy()))[:, None, None]
    want = factor * (net.W0 @ C)
    assert torch.allclose(net.W @ C, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("zero_bias", [True, False])
def test_theorem_a_formula_with_biases(zero_bias):
    P = advsub.Subspace.random(10, 4, seed=5)
    X, y = advsub.make_dataset(P, 15, seed=6)
    net = (advsub.TwoLayerReLU(10, 25, ensemble=4, seed=7, bias=True) if zero_bias
           else _random_bias_net(10, 25, ensemble=4, seed=7))
    advsub.train(net, X, y, lr=0.5, max_steps=300, progress=False)
    x0, _ = advsub.make_dataset(P, 9, seed=8)
    active = (torch.einsum("emd,nd->enm", net.W, x0) + net.b[:, None, :]) > 0
    assert torch.equal(active, net.active(x0))
    want = torch.einsum("enm,em,eml->enl", active.double(), net.u, net.W0 @ P.orth_basis)
    got = advsub.orthogonal_gradient(net, x0, P)
    assert torch.allclose(got, want, atol=1e-12)


def test_chi2_law_with_biases():
    """‖Π∇N(x0)‖²·m/(kβ²) ~ χ²_ℓ exactly, one held-out point per network (KS test at level 1e-3)."""
    d, ell, m, E = 16, 6, 12, 600
    P = advsub.Subspace.random(d, ell, seed=9)
    X, y = advsub.make_dataset(P, 10, seed=10)
    net = advsub.TwoLayerReLU(d, m, ensemble=E, seed=11, bias=True)
    advsub.train(net, X, y, lr=0.5, max_steps=200, progress=False)
    x0, _ = advsub.make_dataset(P, 1, seed=12)
    k = net.active(x0)[:, 0, :].sum(-1).double()
    g2 = advsub.orthogonal_gradient(net, x0, P)[:, 0, :].pow(2).sum(-1)
    keep = k > 0
    stat = (g2[keep] * m / (k[keep] * net.beta**2)).numpy()
    assert keep.sum() > 0.9 * E
    assert stats.kstest(stat, stats.chi2(df=ell).cdf).pvalue > 1e-3


def test_bias_free_network_is_zero_at_origin():
    """Why the pictures need biases: without them N(0) = 0 whatever the weights."""
    net = advsub.TwoLayerReLU(2, 30, ensemble=3, seed=0)
    assert torch.equal(net(torch.zeros(1, 2, dtype=torch.float64)), torch.zeros(3, 1, dtype=torch.float64))
    biased = toy_network(2, 30, ensemble=3, seed=0)
    assert bool((biased(torch.zeros(1, 2, dtype=torch.float64)) != 0).all())
