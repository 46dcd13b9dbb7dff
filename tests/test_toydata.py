"""The paper's toy data, the pictures' training recipe and the affine-plane identity (advsub.toydata)."""
from __future__ import annotations

import math

import pytest
import torch

import advsub
from advsub import toydata

torch.set_num_threads(1)


def test_line_dataset():
    X, y, P = toydata.line_dataset()
    assert X.shape == (7, 2) and y.shape == (7,) and X.dtype == torch.float64
    assert torch.allclose(X[:, 0], torch.tensor([i / 3 - 1 for i in range(7)], dtype=torch.float64))
    assert torch.equal(X[:, 0], X[:, 1])
    assert y.tolist() == [-1, 1, -1, 1, -1, 1, -1]
    assert P.d == 2 and P.ell == 1 and bool(P.contains(X).all())
    assert torch.allclose(P.orth_basis[:, 0].abs(), torch.full((2,), 1 / math.sqrt(2), dtype=torch.float64))
    X5, y5, _ = toydata.line_dataset(5, dtype=torch.float32)
    assert X5.shape == (5, 2) and X5.dtype == torch.float32 and y5.tolist() == [-1, 1, -1, 1, -1]


def test_grid_plane_dataset():
    X, y = toydata.grid_plane_dataset()
    assert X.shape == (25, 3) and y.shape == (25,)
    assert bool((X[:, 2] == 0.5).all())
    assert sorted(set(X[:, 0].tolist())) == [0.0, 0.25, 0.5, 0.75, 1.0]
    i, j = (X[:, 0] * 4).round().long(), (X[:, 1] * 4).round().long()
    assert torch.equal(y, torch.where((i + j) % 2 == 0, 1.0, -1.0).double())
    assert int((y == 1).sum()) == 13
    X0, _ = toydata.grid_plane_dataset(3, height=0.0)
    assert X0.shape == (9, 3) and bool((X0[:, 2] == 0).all())


@pytest.mark.parametrize("call, exc, word", [
    (lambda: toydata.line_dataset(1), ValueError, "n"),
    (lambda: toydata.line_dataset(2.5), TypeError, "n"),
    (lambda: toydata.grid_plane_dataset(1), ValueError, "k"),
    (lambda: toydata.grid_plane_dataset(height=float("nan")), ValueError, "height"),
    (lambda: toydata.grid_plane_dataset(height="a"), TypeError, "height"),
    (lambda: toydata.train_picture("circle"), ValueError, "name"),
    (lambda: toydata.train_picture("line", init_factor=0.5), ValueError, "init_factor"),
])
def test_bad_input(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


def test_toy_network_biases_and_reproducibility():
    a = toydata.toy_network(3, 20, ensemble=2, seed=4)
    b = toydata.toy_network(3, 20, ensemble=2, seed=4)
    plain = advsub.TwoLayerReLU(3, 20, ensemble=2, seed=4, bias=True)
    assert torch.equal(a.W, plain.W) and torch.equal(a.u, plain.u) and torch.equal(a.b, b.b)
    assert float(a.b.abs().max()) <= a.beta and float(a.b.abs().max()) > 0.5 * a.beta
    small = toydata.toy_network(3, 20, ensemble=2, seed=4, init_scale=0.01)
    assert float(small.b.abs().max()) <= 0.01


def test_train_picture_reaches_margin_and_is_deterministic():
    net, hist, X, y = toydata.train_picture("line", ensemble=3, seed=0)
    net2, hist2, _, _ = toydata.train_picture("line", ensemble=3, seed=0)
    assert hist.all_reached and torch.equal(net.W, net2.W) and torch.equal(hist.steps, hist2.steps)
    assert bool((y * net(X) >= 0.3).all())


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_affine_plane_drift_and_identity(weight_decay):
    """prop-05-affine: r = w_z − h b decays by (1 − ηλ)^t, Δw_z = hΔb without decay, and the ∂N/∂z split."""
    h = 0.5
    net, hist, X, y = toydata.train_picture("plane", width=40, ensemble=2, seed=1, weight_decay=weight_decay,
                                            max_steps=300)
    start = toydata.toy_network(3, 40, ensemble=2, seed=1)
    factor = torch.as_tensor(advsub.theory.weight_decay_factor(1.0, weight_decay, hist.steps.numpy()))[:, None]
    r, r0 = net.W[..., 2] - h * net.b, start.W[..., 2] - h * start.b
    assert torch.allclose(r, factor * r0, rtol=1e-12, atol=1e-13)
    if weight_decay == 0:
        assert torch.allclose(net.W[..., 2] - start.W[..., 2], h * (net.b - start.b), atol=1e-12)
    trained, frozen = toydata.plane_normal_derivative(net, X, height=h)
    assert torch.allclose(trained + frozen, net.input_gradient(X)[..., 2], atol=1e-12)


def test_plane_normal_derivative_linear_plane_and_errors():
    net, _, X, _ = toydata.train_picture("plane", width=30, seed=2, height=0.0, max_steps=200)
    trained, frozen = toydata.plane_normal_derivative(net, X, height=0.0)
    assert bool((trained == 0).all())
    assert torch.allclose(frozen, net.input_gradient(X)[..., 2], atol=1e-13)
    with pytest.raises(ValueError, match="height"):
        toydata.plane_normal_derivative(net, X, height=0.5)
    with pytest.raises(TypeError, match="bias"):
        toydata.plane_normal_derivative(advsub.TwoLayerReLU(3, 5, seed=0), X, height=0.0)
