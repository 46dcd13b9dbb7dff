"""Exactness of the reduced training path (issue 3).

``train(..., reduced=True)`` trains in the data's own coordinates (Gram matrix or a rank-r
factor of it) and maps W back to R^d at the end; ``reduced=False`` is the full-space loop.
From the same initialisation and the same number of steps both must agree to ≤ 1e-9
relative in float64: weights, outputs, margins, the whole history and the stopping steps.
"""
from __future__ import annotations

import pytest
import torch

from advsub import Subspace, TwoLayerReLU, make_dataset, train
from advsub.training import data_coordinates

REL = 1e-9


def _rel(a, b):
    return float((a - b).abs().max()) / max(float(b.abs().max()), 1e-300)


def _pair(d, ell, n, m, E=3, bias=False, seed=0, dtype=torch.float64):
    S = Subspace.random(d, ell, seed=seed)
    X, y = make_dataset(S, n, seed=seed + 1, dtype=dtype)
    net = TwoLayerReLU(d, m, ensemble=E, seed=seed + 2, bias=bias, dtype=dtype)
    if bias:  # non-zero biases, so that they matter from the first step
        net.b = 0.1 * torch.randn(E, m, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)
    return S, X, y, net, net.clone()


def _check_same(S, X, y, fast, full, hf, hF, rel=REL):
    assert torch.equal(hf.steps, hF.steps)
    assert hf.loss.shape == hF.loss.shape
    assert _rel(fast.W, full.W) <= rel
    assert _rel(fast.u, full.u) <= rel
    if full.b is not None:
        assert _rel(fast.b, full.b) <= rel
    Xt, _ = make_dataset(S, 50, seed=99, dtype=X.dtype)  # held-out points of P
    for pts in (X, Xt, torch.randn(20, X.shape[1], dtype=X.dtype, generator=torch.Generator().manual_seed(3)).to(X.dtype)):
        assert _rel(fast(pts), full(pts)) <= rel
    assert _rel(hf.margin, hF.margin) <= rel and _rel(hf.loss, hF.loss) <= rel
    assert _rel(hf.final_margin, hF.final_margin) <= rel
    # The P⊥ part of W is untouched by the reduced loop (up to the decay factor).
    C = S.orth_basis.to(X.dtype)
    assert _rel(fast.W @ C, full.W @ C) <= rel


# (d, ell, n): Gram mode (n ≤ 2r), coordinate mode with n ≤ d (2r < n), coordinate mode with d < n.
SHAPES = {"gram": (40, 10, 24), "coords": (40, 30, 40), "coords_d_lt_n": (16, 10, 40)}


def test_data_coordinates_modes():
    for name, (d, ell, n) in SHAPES.items():
        S = Subspace.random(d, ell, seed=1)
        X, _ = make_dataset(S, n, seed=2)
        mode, K, r = data_coordinates(X)
        assert mode == name.split("_")[0], name
        G = X @ X.T
        if mode == "gram":
            assert r == n and torch.allclose(K, G, rtol=0, atol=1e-12)
        else:
            assert r == d - ell and K.shape == (n, r)
            assert _rel(K @ K.T, G) <= 1e-12
    # Full-rank data (not on any subspace) with n < d: the Gram form is exact for any data.
    X = torch.randn(30, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert data_coordinates(X)[0] == "gram"


# Every optimizer in every mode, with and without weight decay and a trained second layer.
CASES = [(0.0, False), (0.02, True), (0.0, True), (0.02, False)]


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum"])
@pytest.mark.parametrize("case", [0, 1])
def test_reduced_equals_full(shape, optimizer, case):
    weight_decay, train_second_layer = CASES[(case + 2 * list(SHAPES).index(shape)) % 4]
    d, ell, n = SHAPES[shape]
    S, X, y, fast, full = _pair(d, ell, n, m=25, bias=(optimizer == "momentum"))
    kw = dict(optimizer=optimizer, lr=0.1 if optimizer == "momentum" else 0.5, weight_decay=weight_decay,
              max_steps=60, train_second_layer=train_second_layer, progress=False, seed=7)
    if optimizer == "sgd":
        kw["batch_size"] = 8
    hf = train(fast, X, y, reduced=True, **kw)
    hF = train(full, X, y, reduced=False, **kw)
    assert float((fast.W - fast.W0).norm()) > 0.1  # training did something
    _check_same(S, X, y, fast, full, hf, hF)


def test_reduced_equals_full_fixed_steps_and_stopping():
    """500 steps without stopping (a margin never reached), then the stopping rule on a sweep-sized problem."""
    S, X, y, fast, full = _pair(60, 20, 50, m=30, E=4)
    kw = dict(lr=0.5, max_steps=500, target_margin=1e6, weight_decay=1e-3, progress=False)  # noqa: E501
    hf, hF = train(fast, X, y, reduced=True, **kw), train(full, X, y, reduced=False, **kw)
    assert hf.loss.shape == (500, 4) and not hf.reached.any()
    _check_same(S, X, y, fast, full, hf, hF)
    S, X, y, fast, full = _pair(60, 20, 50, m=30, E=6, seed=4)
    hf, hF = train(fast, X, y, lr=0.5, max_steps=2000, progress=False), train(full, X, y, lr=0.5, max_steps=2000, reduced=False, progress=False)
    assert hf.all_reached and len(set(hf.steps.tolist())) > 1  # members stop at different times
    _check_same(S, X, y, fast, full, hf, hF)


def test_default_is_reduced_except_adam():
    S, X, y, a, b = _pair(30, 10, 20, m=10)
    train(a, X, y, lr=0.5, max_steps=20, progress=False)
    train(b, X, y, lr=0.5, max_steps=20, reduced=True, progress=False)
    assert torch.equal(a.W, b.W)
    with pytest.raises(ValueError, match="reduced=True"):
        train(a, X, y, optimizer="adam", lr=0.01, max_steps=2, reduced=True, progress=False)
    with pytest.raises(TypeError, match="reduced"):
        train(a, X, y, lr=0.5, max_steps=2, reduced="yes", progress=False)
    with pytest.raises(ValueError, match="memory_budget"):
        train(a, X, y, lr=0.5, max_steps=2, memory_budget=0, progress=False)


@pytest.mark.parametrize("reduced", [True, False])
@pytest.mark.parametrize("optimizer", ["gd", "sgd"])
def test_chunks_under_a_memory_budget_change_nothing(reduced, optimizer):
    """A budget that fits one member at a time gives the same result as one batch."""
    S, X, y, a, b = _pair(30, 10, 20, m=10, E=5)
    kw = dict(optimizer=optimizer, lr=0.5, max_steps=100, progress=False, reduced=reduced, seed=3)
    ha = train(a, X, y, **kw)
    hb = train(b, X, y, memory_budget=1, **kw)
    assert torch.equal(ha.steps, hb.steps) and ha.loss.shape == hb.loss.shape
    assert torch.allclose(a.W, b.W, rtol=0, atol=1e-12)
    assert torch.allclose(ha.margin, hb.margin, rtol=0, atol=1e-12)


def test_float32_reduced_close_to_full():
    S, X, y, fast, full = _pair(40, 10, 24, m=20, dtype=torch.float32)
    kw = dict(lr=0.5, max_steps=100, target_margin=1e6, progress=False)
    train(fast, X, y, **kw)
    train(full, X, y, reduced=False, **kw)
    assert fast.W.dtype == torch.float32
    assert _rel(fast.W, full.W) <= 1e-4
    assert _rel(fast(X), full(X)) <= 1e-4


def test_train_sweep_matches_separate_calls():
    """Grouped tasks (same shapes, different data: Gram and coordinate modes) and ungrouped
    ones (SGD, Adam) give what train() gives for each task alone."""
    from advsub import train_sweep

    S = Subspace.random(30, 10, seed=0)
    X, y = make_dataset(S, 20, seed=1)
    S2 = Subspace.random(30, 25, seed=2)  # rank 5 < n/2: coordinate mode
    X2, y2 = make_dataset(S2, 20, seed=3)
    nets = [TwoLayerReLU(30, 10, ensemble=E, seed=s, init_scale=beta, bias=True)
            for E, s, beta in ((3, 4, "standard"), (2, 5, "small"), (4, 6, "standard"), (2, 7, "standard"), (2, 8, "standard"))]
    refs = [net.clone() for net in nets]
    tasks = [(nets[0], X, y), (nets[1], X, y), (nets[2], X2, y2), (nets[3], X, y, {"optimizer": "sgd", "seed": 1}),
             (nets[4], X2, y2, {"optimizer": "adam", "lr": 0.05})]
    common = dict(lr=0.5, max_steps=1000, weight_decay=1e-3, train_second_layer=True)
    hs = train_sweep(tasks, progress=False, **common)
    assert len(hs) == 5
    for (net, Xt, yt, *extra), ref, h in zip(tasks, refs, hs):
        h1 = train(ref, Xt, yt, progress=False, **{**common, **(extra[0] if extra else {})})
        assert torch.equal(h.steps, h1.steps) and torch.equal(h.reached, h1.reached) and h.loss.shape == h1.loss.shape
        for name in ("W", "u", "b"):
            assert _rel(getattr(net, name), getattr(ref, name)) <= 1e-12
        assert torch.allclose(h.margin, h1.margin, rtol=0, atol=1e-12)
    assert len(set(hs[0].steps.tolist() + hs[2].steps.tolist())) > 1  # members stopped at different times
    with pytest.raises(TypeError, match="tasks"):
        train_sweep([(nets[0], X)], lr=0.5, max_steps=2)


def test_train_sweep_splits_large_groups(monkeypatch):
    """A group larger than the cache-sized cap is trained in several batched runs: same result."""
    import advsub.training.sweep as sweep

    tasks, refs = [], []
    for k, ell in enumerate((5, 10, 15)):
        X, y = make_dataset(Subspace.random(20, ell, seed=k), 12, seed=k + 1)
        net = TwoLayerReLU(20, 8, ensemble=2, seed=k + 2)
        refs.append((net.clone(), X, y))
        tasks.append((net, X, y))
    monkeypatch.setattr(sweep, "SWEEP_GROUP_ELEMENTS", 2 * 8 * 12 * 2)  # two tasks per run
    hs = sweep.train_sweep(tasks, lr=0.5, max_steps=500, progress=False)
    for (net, _, _), (ref, X, y), h in zip(tasks, refs, hs):
        h1 = train(ref, X, y, lr=0.5, max_steps=500, progress=False)
        assert torch.equal(h.steps, h1.steps) and _rel(net.W, ref.W) <= 1e-12
