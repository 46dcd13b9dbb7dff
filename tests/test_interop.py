"""Output bias and PyTorch interop (issue 10 §4): from_module / to_module, and train =
torch.optim.SGD.

The paper's code trains ``nn.Linear(d, m) → ReLU → nn.Linear(m, 1)`` with sigmoid +
``nn.BCELoss`` and full-batch ``torch.optim.SGD(lr, weight_decay)``. BCE of the sigmoid
with labels t = (y + 1)/2 is the logistic loss softplus(−y N), both averaged over the n
points, and SGD's weight decay p ← p − η(∇ + λp) is train's p ← (1 − ηλ)p − η∇: the two
runs make the same steps, so they agree to rounding (float64: 1e-9 relative after
hundreds of steps).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advsub import Subspace, TwoLayerReLU, make_dataset, train
from advsub.training import loss_gradients

D, ELL, N, M = 30, 10, 40, 25


def _data(seed=0):
    return make_dataset(Subspace.random(D, ELL, seed=seed), N, seed=seed + 1)


def _rel(a, b):
    return float((a - b).abs().max()) / max(float(b.abs().max()), 1e-300)


# --- the output bias
# ---------------------------------------------------------------------------
def test_output_bias_is_zero_at_init_and_adds_to_every_output():
    net = TwoLayerReLU(D, M, ensemble=3, seed=1, bias=True, output_bias=True)
    ref = TwoLayerReLU(D, M, ensemble=3, seed=1, bias=True)
    assert torch.equal(net.c, torch.zeros(3, dtype=torch.float64)) and torch.equal(
        net.W, ref.W
    )
    X, _ = _data()
    assert torch.equal(net(X), ref(X))
    net.c = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    assert torch.allclose(net(X), ref(X) + net.c[:, None], rtol=0, atol=1e-15)
    assert torch.equal(
        net.input_gradient(X), ref.input_gradient(X)
    )  # c does not touch ∇ₓN
    assert net.member(2).c.tolist() == [2.0] and net.clone().c is not net.c
    assert "output_bias=True" in repr(net) and "output_bias" not in repr(ref)
    with pytest.raises(TypeError, match="output_bias must be True or False"):
        TwoLayerReLU(D, M, seed=0, output_bias=1)


def test_output_bias_gradient_is_autograd():
    X, y = _data()
    net = TwoLayerReLU(D, M, ensemble=2, seed=2, bias=True, output_bias=True)
    net.c = torch.tensor([0.3, -0.2], dtype=torch.float64)
    params = {
        k: getattr(net, k).clone().requires_grad_(True) for k in ("W", "u", "b", "c")
    }
    pre = torch.einsum("emd,nd->enm", params["W"], X) + params["b"][:, None, :]
    out = (
        torch.einsum("enm,em->en", torch.relu(pre), params["u"]) + params["c"][:, None]
    )
    torch.nn.functional.softplus(-y * out).mean(dim=1).sum().backward()
    got = loss_gradients(net, X, y, None, True)
    for k in ("W", "u", "b", "c"):
        assert torch.allclose(got[k], params[k].grad, rtol=0, atol=1e-14), k


@pytest.mark.parametrize("optimizer", ["gd", "momentum"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_output_bias_reduced_equals_full(optimizer, weight_decay):
    X, y = _data(3)
    a = TwoLayerReLU(D, M, ensemble=3, seed=4, bias=True, output_bias=True)
    b = a.clone()
    kw = dict(
        optimizer=optimizer,
        lr=0.2,
        weight_decay=weight_decay,
        max_steps=2000,
        train_second_layer=True,
        progress=False,
    )
    ha, hb = train(a, X, y, reduced=True, **kw), train(b, X, y, reduced=False, **kw)
    assert ha.all_reached and torch.equal(ha.steps, hb.steps)
    assert float(a.c.abs().min()) > 1e-4  # the output bias did move
    for k in ("W", "u", "b", "c"):
        assert _rel(getattr(a, k), getattr(b, k)) <= 1e-9, k
    assert _rel(ha.loss, hb.loss) <= 1e-9


def test_output_bias_is_frozen_without_train_second_layer():
    X, y = _data()
    net = TwoLayerReLU(D, M, ensemble=2, seed=2, output_bias=True)
    net.c = torch.tensor([0.1, -0.1], dtype=torch.float64)
    train(net, X, y, lr=0.5, max_steps=50, progress=False)
    assert net.c.tolist() == [0.1, -0.1]


# --- from_module / to_module
# ------------------------------------------------------------------
def _paper_module(d=D, m=M, seed=0, bias=(True, True), dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(d, m, bias=bias[0]), nn.ReLU(), nn.Linear(m, 1, bias=bias[1])
    ).to(dtype)


@pytest.mark.parametrize(
    "bias", [(True, True), (False, True), (True, False), (False, False)]
)
def test_from_module_round_trip(bias):
    module = _paper_module(bias=bias)
    net = TwoLayerReLU.from_module(module)
    assert (net.d, net.m, net.ensemble) == (D, M, 1)
    assert net.has_bias == bias[0] and net.has_output_bias == bias[1]
    X, _ = _data()
    with torch.no_grad():
        want = module(X)[:, 0]
    assert torch.allclose(net(X)[0], want, rtol=0, atol=1e-14)
    back = net.to_module()
    assert [type(layer) for layer in back] == [nn.Linear, nn.ReLU, nn.Linear]
    with torch.no_grad():
        assert torch.equal(back(X)[:, 0], module(X)[:, 0])
    # independent copies both ways
    with torch.no_grad():
        module[0].weight.zero_()
    assert float(net.W.abs().sum()) > 0
    assert back[0].weight.data_ptr() != net.W.data_ptr()


def test_from_module_float32_and_custom_module():
    class Paper(nn.Module):  # a module with named layers, as a reader would write it
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(D, M)
            self.act = nn.ReLU()
            self.out = nn.Linear(M, 1)

        def forward(self, x):
            return self.out(self.act(self.hidden(x)))

    torch.manual_seed(1)
    module = Paper()  # float32
    net = TwoLayerReLU.from_module(module)
    assert net.dtype == torch.float64 and torch.equal(
        net.W[0], module.hidden.weight.double()
    )
    net32 = TwoLayerReLU.from_module(module, dtype=torch.float32)
    assert net32.dtype == torch.float32
    m2 = net.member(0).to_module(member=0)
    assert m2[0].weight.dtype == torch.float64


@pytest.mark.parametrize(
    "module, match",
    [
        (nn.Sequential(nn.Linear(D, M), nn.ReLU(), nn.Linear(M, 2)), "1 output"),
        (
            nn.Sequential(nn.Linear(D, M), nn.Tanh(), nn.Linear(M, 1)),
            "exactly nn.Linear",
        ),
        (
            nn.Sequential(
                nn.Linear(D, M), nn.ReLU(), nn.Linear(M, M), nn.ReLU(), nn.Linear(M, 1)
            ),
            "exactly nn.Linear",
        ),
        (
            nn.Sequential(nn.Linear(D, M), nn.ReLU(), nn.Linear(M, 1), nn.Sigmoid()),
            "exactly nn.Linear",
        ),
        (nn.Sequential(nn.Linear(D, M), nn.Linear(M, 1)), "exactly nn.Linear"),
    ],
)
def test_from_module_rejects_other_layouts(module, match):
    with pytest.raises(ValueError, match=match):
        TwoLayerReLU.from_module(module.double())


def test_from_module_rejects_a_forward_that_is_not_linear_relu_linear():
    class Doubled(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.r, self.b = nn.Linear(D, M), nn.ReLU(), nn.Linear(M, 1)

        def forward(self, x):
            return 2 * self.b(self.r(self.a(x)))

    with pytest.raises(ValueError, match="forward computes something else"):
        TwoLayerReLU.from_module(Doubled())
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        TwoLayerReLU.from_module("not a module")
    with pytest.raises(ValueError, match="member must be <= 0"):
        TwoLayerReLU(D, M, seed=0).to_module(member=1)


# --- train = torch.optim.SGD + BCELoss
# ---------------------------------------------------------
@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
@pytest.mark.parametrize("train_second_layer", [True, False])
def test_train_matches_torch_sgd_with_bce(weight_decay, train_second_layer):
    """300 full-batch steps of torch.optim.SGD on sigmoid + BCELoss =
    advsub.train(optimizer="gd")."""
    X, y = _data(5)
    module = _paper_module(seed=7)
    net = TwoLayerReLU.from_module(module)
    lr, steps = 0.05, 300
    if not train_second_layer:
        module[2].requires_grad_(False)
    opt = torch.optim.SGD(
        [p for p in module.parameters() if p.requires_grad],
        lr=lr,
        weight_decay=weight_decay,
    )
    t = (y + 1) / 2  # labels {-1, 1} -> {0, 1}
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.BCELoss()(torch.sigmoid(module(X)[:, 0]), t)
        loss.backward()
        opt.step()
    h = train(
        net,
        X,
        y,
        optimizer="gd",
        lr=lr,
        weight_decay=weight_decay,
        max_steps=steps,
        target_margin=1e30,
        train_second_layer=train_second_layer,
        progress=False,
    )
    assert h.steps.tolist() == [steps]
    ref = TwoLayerReLU.from_module(module)
    for k in ("W", "b", "u", "c"):
        assert _rel(getattr(net, k), getattr(ref, k)) <= 1e-9, k
    moved = TwoLayerReLU.from_module(_paper_module(seed=7))
    assert _rel(net.W, moved.W) > 1e-3  # the run did train
    assert (_rel(net.c, moved.c) > 1e-3) == train_second_layer
