"""Tests of advsub.training: the invariance lemma, the stopping rule, the gradients, determinism.

What holds for "all members train at once": for the deterministic optimizers (gd,
momentum, adam) member e of an ensemble follows exactly the trajectory it follows
when trained alone (checked to 1e-12). For "sgd" it does not: the minibatches of all
members are drawn from one generator, as a (E, n) block per step, so member e's
batches depend on E. Same seed → bit-identical histories and weights for every optimizer.
"""
from __future__ import annotations

import inspect

import pytest
import torch

from advsub import Subspace, TwoLayerReLU, logistic_loss, make_dataset, train
from advsub.theory import weight_decay_factor
from advsub.training import loss_gradients


D, ELL, N, M, E = 20, 8, 20, 30, 4

# Both training loops, when train offers a choice: the default (the reduced loop in the data's
# coordinates where it is exact) and the full-space loop.
PATHS = [pytest.param({}, id="default")]
if "reduced" in inspect.signature(train).parameters:
    PATHS.append(pytest.param({"reduced": False}, id="full"))


def _problem(subspace="random", seed=0, bias=False, ensemble=E, dtype=torch.float64):
    S = Subspace.random(D, ELL, seed=seed) if subspace == "random" else Subspace.axis_aligned(D, ELL)
    X, y = make_dataset(S, N, seed=seed + 1, dtype=dtype)
    net = TwoLayerReLU(D, M, ensemble=ensemble, seed=seed + 2, bias=bias, dtype=dtype)
    return S, X, y, net


# Step sizes at which every member reaches the margin in a few dozen steps (d = 20, n = 20, m = 30).
LR = {"gd": 0.5, "sgd": 0.5, "momentum": 0.1, "adam": 0.01}


def _train(net, X, y, optimizer, **kw):
    kw.setdefault("lr", LR[optimizer])
    kw.setdefault("max_steps", 2000)
    if optimizer == "sgd":
        kw.setdefault("batch_size", 8)
        kw.setdefault("seed", 5)
    return train(net, X, y, optimizer=optimizer, progress=False, **kw)


def _orth(W, S):
    """Π W in P⊥ coordinates: (E, m, ℓ)."""
    return W @ S.orth_basis


# --- the invariance lemma ---------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum"])
@pytest.mark.parametrize("train_second_layer", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("path", PATHS)
def test_invariance_first_order(optimizer, train_second_layer, bias, path):
    S, X, y, net = _problem(bias=bias)
    u0 = net.u.clone()
    h = _train(net, X, y, optimizer, train_second_layer=train_second_layer, **path)
    assert h.all_reached
    # Training did move the weights, but not their P⊥ part.
    assert float((net.W - net.W0).norm()) > 0.1
    assert torch.allclose(_orth(net.W, S), _orth(net.W0, S), rtol=0, atol=1e-12)
    assert torch.equal(net.u, u0) != train_second_layer


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum"])
@pytest.mark.parametrize("train_second_layer", [False, True])
@pytest.mark.parametrize("path", PATHS)
def test_weight_decay_shrinks_orthogonal_part_geometrically(optimizer, train_second_layer, path):
    """Π W_e(t) = (1 − ηλ)^{t_e} Π W_e(0) with t_e = history.steps[e] (members stop at different times)."""
    S, X, y, net = _problem()
    lam = 0.02
    h = _train(net, X, y, optimizer, weight_decay=lam, train_second_layer=train_second_layer, **path)
    assert h.all_reached
    assert len(set(h.steps.tolist())) > 1, "members should stop at different times for this test to bite"
    lr = LR[optimizer]
    for e in range(E):
        t = int(h.steps[e])
        factor = (1 - lr * lam) ** t
        assert factor == pytest.approx(weight_decay_factor(lr, lam, t), rel=1e-14)
        assert factor < 0.99
        want = factor * _orth(net.W0[e], S)
        err = float((_orth(net.W[e], S) - want).abs().max()) / float(want.abs().max())
        assert err <= 1e-12, (e, err)


def test_adam_breaks_invariance_unless_axis_aligned():
    S, X, y, net = _problem("random")
    h = _train(net, X, y, "adam")
    assert h.all_reached
    moved = float((_orth(net.W, S) - _orth(net.W0, S)).norm()) / float(_orth(net.W0, S).norm())
    assert moved > 1e-2
    S, X, y, net = _problem("axis_aligned")
    h = _train(net, X, y, "adam")
    assert h.all_reached
    assert float((net.W - net.W0).norm()) > 0.1
    assert torch.allclose(_orth(net.W, S), _orth(net.W0, S), rtol=0, atol=1e-12)
    # With (decoupled, AdamW-style) weight decay the axis-aligned P⊥ part shrinks geometrically.
    S, X, y, net = _problem("axis_aligned")
    h = _train(net, X, y, "adam", weight_decay=0.5)
    for e in range(E):
        want = (1 - LR["adam"] * 0.5) ** int(h.steps[e]) * _orth(net.W0[e], S)
        assert torch.allclose(_orth(net.W[e], S), want, rtol=1e-12, atol=0)


# --- the stopping rule -----------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum", "adam"])
@pytest.mark.parametrize("path", PATHS)
def test_members_stop_at_the_margin(optimizer, path):
    if optimizer == "adam" and path.get("reduced") is False:
        pytest.skip("adam always runs the full-space loop: covered by the default case")
    S, X, y, net = _problem()
    W0 = net.W.clone()
    h = _train(net, X, y, optimizer, target_margin=0.3, **path)
    T = h.loss.shape[0]
    assert h.loss.shape == h.margin.shape == (T, E)
    assert h.steps.shape == h.reached.shape == h.final_loss.shape == h.final_margin.shape == (E,)
    assert h.steps.dtype == torch.int64 and h.reached.dtype == torch.bool
    assert h.all_reached and h.target_margin == 0.3 and h.optimizer == optimizer
    assert T == int(h.steps.max()) + 1  # the loop ends at the evaluation where the last member stops
    out = net(X)
    assert torch.equal(h.final_margin, (y * out).min(dim=1).values)
    assert torch.allclose(h.final_loss, logistic_loss(out, y), rtol=1e-14, atol=0)
    assert bool((h.final_margin >= 0.3).all())
    for e in range(E):
        s = int(h.steps[e])
        assert s >= 1
        assert bool((h.margin[:s, e] < 0.3).all())
        assert float(h.margin[s, e]) >= 0.3
        # Once stopped the member is frozen: later evaluations repeat the same value.
        assert bool((h.margin[s:, e] == h.margin[s, e]).all()) and bool((h.loss[s:, e] == h.loss[s, e]).all())
        assert float(h.margin[s, e]) == float(h.final_margin[e])
    if optimizer == "sgd":
        return  # the batch draws depend on the number of steps taken so far; the rest needs determinism per prefix
    # A member's weights do not change after it stops: a run cut at its stopping step gives the same weights.
    for e in range(E):
        s = int(h.steps[e])
        short = TwoLayerReLU(D, M, ensemble=E, seed=2)
        assert torch.equal(short.W, W0)
        _train(short, X, y, optimizer, max_steps=s, **path)
        assert torch.equal(short.W[e], net.W[e])


def test_trained_net_does_not_move_again():
    S, X, y, net = _problem()
    _train(net, X, y, "gd")
    W = net.W.clone()
    h = _train(net, X, y, "gd")
    assert h.steps.tolist() == [0] * E and h.loss.shape == (1, E) and h.all_reached
    assert torch.equal(net.W, W)


def test_max_steps_stops_unfinished_members():
    S, X, y, net = _problem()
    h = _train(net, X, y, "gd", lr=1e-3, max_steps=3)
    assert h.steps.tolist() == [3] * E and h.loss.shape == (3, E)
    assert not bool(h.reached.any()) and not h.all_reached
    assert "reached=0/4" in repr(h)


def test_gd_loss_decreases_at_small_lr():
    S, X, y, net = _problem()
    h = _train(net, X, y, "gd", lr=0.02)
    assert h.all_reached
    for e in range(E):
        s = int(h.steps[e])
        assert bool((h.loss[1 : s + 1, e] < h.loss[:s, e]).all())


# --- the closed-form gradients -------------------------------------------------------
def _autograd_gradients(net, X, y, idx, train_second_layer):
    W = net.W.clone().requires_grad_(True)
    u = net.u.clone().requires_grad_(train_second_layer)
    b = None if net.b is None else net.b.clone().requires_grad_(True)
    xb = X if idx is None else X[idx]
    yb = y if idx is None else y[idx]
    pre = torch.einsum("emd,nd->enm", W, xb) if idx is None else torch.einsum("emd,ebd->ebm", W, xb)
    if b is not None:
        pre = pre + b[:, None, :]
    out = torch.einsum("enm,em->en", torch.relu(pre), u)
    # Members are independent, so the gradient of the sum is each member's own gradient.
    loss = torch.nn.functional.softplus(-yb * out).mean(dim=-1).sum()
    loss.backward()
    grads = {"W": W.grad}
    if b is not None:
        grads["b"] = b.grad
    if train_second_layer:
        grads["u"] = u.grad
    return grads


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("train_second_layer", [False, True])
@pytest.mark.parametrize("minibatch", [False, True])
def test_closed_form_gradients_equal_autograd(bias, train_second_layer, minibatch):
    S, X, y, net = _problem(bias=bias)
    if bias:
        net.b = 0.3 * torch.randn(E, M, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    idx = torch.rand(E, N, generator=torch.Generator().manual_seed(1)).argsort(dim=1)[:, :7] if minibatch else None
    got = loss_gradients(net, X, y, idx, train_second_layer)
    ref = _autograd_gradients(net, X, y, idx, train_second_layer)
    assert set(got) == set(ref)
    for k in ref:
        assert got[k].shape == ref[k].shape
        assert torch.allclose(got[k], ref[k], rtol=0, atol=1e-12), k


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("path", PATHS)
def test_one_step_of_train_is_one_autograd_step(weight_decay, path):
    """train(max_steps=1) = (1 − ηλ)W − η∇L for gd and momentum; Adam's first step is η·g/(|g| + 1e-8)."""
    S, X, y, net = _problem(bias=True, seed=3)
    g = _autograd_gradients(net, X, y, None, True)
    for optimizer, lr in [("gd", 0.5), ("momentum", 0.5)] + ([("adam", 0.01)] if not path else []):
        n = net.clone()
        train(n, X, y, optimizer=optimizer, lr=lr, weight_decay=weight_decay, max_steps=1, train_second_layer=True, progress=False, **path)
        for k, p0 in (("W", net.W), ("u", net.u), ("b", net.b)):
            step = g[k] if optimizer != "adam" else g[k] / (g[k].abs() + 1e-8)
            assert torch.allclose(getattr(n, k), (1 - lr * weight_decay) * p0 - lr * step, rtol=0, atol=1e-12), (optimizer, k)


# --- determinism and batching ---------------------------------------------------------
def _state(net, h):
    return [net.W, net.u, h.loss, h.margin, h.steps, h.reached, h.final_loss, h.final_margin]


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum", "adam"])
@pytest.mark.parametrize("path", PATHS)
def test_same_seed_bit_identical(optimizer, path):
    if optimizer == "adam" and path:
        pytest.skip("adam always runs the full-space loop: covered by the default case")
    runs = []
    for _ in range(2):
        S, X, y, net = _problem(seed=4)
        h = _train(net, X, y, optimizer, weight_decay=0.01, train_second_layer=True, **path)
        runs.append(_state(net, h))
    for a, b in zip(*runs):
        assert torch.equal(a, b)


def test_sgd_seed_changes_the_batches():
    nets = []
    for seed in (5, 6):
        S, X, y, net = _problem()
        _train(net, X, y, "sgd", seed=seed, max_steps=5)
        nets.append(net.W)
    assert not torch.equal(*nets)
    # Without a seed SGD is still deterministic (seed 0).
    Ws = []
    for _ in range(2):
        S, X, y, net = _problem()
        train(net, X, y, optimizer="sgd", lr=0.5, batch_size=8, max_steps=5, progress=False)
        Ws.append(net.W)
    assert torch.equal(*Ws)


def test_sgd_with_full_batch_is_gd():
    S, X, y, a = _problem()
    b = a.clone()
    ha = _train(a, X, y, "gd")
    hb = _train(b, X, y, "sgd", batch_size=N)
    assert torch.equal(a.W, b.W) and torch.equal(ha.steps, hb.steps)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
@pytest.mark.parametrize("path", PATHS)
def test_ensemble_equals_members_trained_alone(optimizer, path):
    if optimizer == "adam" and path:
        pytest.skip("adam always runs the full-space loop: covered by the default case")
    S, X, y, net = _problem(bias=True)
    alone = [net.member(e) for e in range(E)]
    h = _train(net, X, y, optimizer, weight_decay=0.01, train_second_layer=True, **path)
    for e, one in enumerate(alone):
        h1 = _train(one, X, y, optimizer, weight_decay=0.01, train_second_layer=True, **path)
        assert int(h1.steps[0]) == int(h.steps[e])
        for k in ("W", "u", "b"):
            assert torch.allclose(getattr(one, k)[0], getattr(net, k)[e], rtol=0, atol=1e-12), (e, k)
        s = int(h.steps[e])
        assert torch.allclose(h1.loss[: s + 1, 0], h.loss[: s + 1, e], rtol=0, atol=1e-12)


def test_float32_training():
    S, X, y, net = _problem(dtype=torch.float32)
    h = _train(net, X, y, "gd")
    assert h.all_reached and net.W.dtype == torch.float32 and h.loss.dtype == torch.float32
    C = S.orth_basis.float()
    assert torch.allclose(net.W @ C, net.W0 @ C, rtol=0, atol=1e-5)


def test_numpy_inputs_are_accepted():
    S, X, y, net = _problem()
    a = net.clone()
    h1 = _train(net, X, y, "gd")
    h2 = _train(a, X.numpy(), y.numpy().astype(int), "gd")
    assert torch.equal(net.W, a.W) and torch.equal(h1.steps, h2.steps)
