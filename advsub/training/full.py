"""The full-space loop: any optimizer, gradients in closed form (two layers) or by
autograd (deeper).

The loss of member e is the mean logistic loss L_e = (1/n) Σ_j log(1 + exp(−y_j
N_e(x_j))); for a two-layer network its gradients are, in closed form
(:func:`loss_gradients`)::

    ∂L/∂w_i = (1/n) Σ_j g_j u_i 1[w_i·x_j + b_i > 0] x_j,   g_j = −y_j σ(−y_j N(x_j)),

so every update of w_i is a combination of training points (the invariance lemma).
:class:`FullSpaceState` runs the loop on any parameters with any gradient function:
:func:`~advsub.training.train` gives it the closed form,
:func:`~advsub.training.train_deep` autograd.
"""

from __future__ import annotations

import math

import torch

from .history import logistic_loss
from .optim import OptimizerState, full_space_words

__all__ = ["loss_gradients", "two_layer_parameters", "FullSpaceState", "full_words"]


def two_layer_parameters(net, train_second_layer: bool) -> dict:
    """The trained tensors of a TwoLayerReLU by name: W, b (if any), and u, c (if any)
    when asked."""
    names = ["W"] + (["b"] if net.b is not None else [])
    if train_second_layer:
        names += ["u"] + (["c"] if net.c is not None else [])
    return {k: getattr(net, k) for k in names}


def loss_gradients(net, X, y, idx, train_second_layer):
    """Closed-form gradients of the mean logistic loss on the points X[idx] (idx (E, b)
    or None).

    Returns a dict with "W" (E, m, d), "b" (E, m) if the net has hidden biases, and with
    ``train_second_layer`` "u" (E, m) and "c" (E,) if it has an output bias.
    """
    if idx is None:
        xb = X  # (n, d)
        pre = torch.einsum("emd,nd->enm", net.W, xb)
        yb = y.expand(net.ensemble, -1)
    else:
        xb = X[idx]  # (E, b, d)
        pre = torch.einsum("emd,ebd->ebm", net.W, xb)
        yb = y[idx]
    if net.b is not None:
        pre = pre + net.b[:, None, :]
    act = (pre > 0).to(net.dtype)
    out = torch.einsum("enm,em->en", torch.relu(pre), net.u)
    if net.c is not None:
        out = out + net.c[:, None]
    g = -yb * torch.sigmoid(-yb * out) / out.shape[1]  # dL/dN_j, (E, b)
    coef = g[:, :, None] * act  # (E, b, m)
    del act
    if idx is None:
        gW = torch.einsum("enm,em,nd->emd", coef, net.u, xb)
    else:
        gW = torch.einsum("enm,em,end->emd", coef, net.u, xb)
    grads = {"W": gW}
    if net.b is not None:
        grads["b"] = coef.sum(dim=1) * net.u
    if train_second_layer:
        grads["u"] = torch.einsum("en,enm->em", g, torch.relu(pre))
        if net.c is not None:
            grads["c"] = g.sum(dim=1)
    return grads


def full_words(n: int, m: int, d: int, batch: int | None, optimizer: str) -> int:
    """Words of working memory per member of the full-space loop (the network's tensors
    excluded).

    The forward pass and the gradient's (E, n, m) arrays (7 n·m), the data seen by the
    gradient (n·d for the einsum's broadcast, batch·d for a minibatch), the gradient of
    W and the optimizer's buffers (m·d each, in place: see
    :class:`~.optim.OptimizerState`). Measured (Adam, d = 400, m = 50, n = 100): 1.18
    MiB per member against 1.18 MiB counted, plus about 5 MiB whatever the size
    (allocator, BLAS).
    """
    return 7 * n * m + n * d + (batch or 0) * d + full_space_words(optimizer) * m * d


class FullSpaceState:
    """The full-space loop's state for one chunk of members: parameters updated in
    place.

    Same operations as :class:`~.reduced.ReducedState` (evaluate, retire, step, finish),
    so both run in :func:`~.loop.run_loop`; here a retired member stays in the arrays
    and is masked out of the updates (the work per step does not shrink).

    Parameters
    ----------
    net : EnsembleNet
        The chunk's members; its tensors in ``params`` are updated in place.
    params : dict name → tensor
        The trained tensors (leading axis = member).
    gradients : callable
        ``gradients(idx) -> dict name → gradient`` with ``idx`` None (full batch) or the
        (E, batch) minibatch indices; the gradients are consumed by the update.
    opt : OptimizerState or None
        Shared by the chunks of one run, so that its buffers are allocated once.
    """

    def __init__(
        self, net, X, y, params, gradients, settings, history, offset, draw, opt=None
    ):
        self.net, self.X, self.y = net, X, y
        self.params, self.gradients = params, gradients
        self.history, self.offset, self.draw = history, offset, draw
        self.E = net.ensemble
        self.minibatch = (
            settings.optimizer == "sgd" and settings.batch_size < X.shape[0]
        )
        if (
            opt is None
        ):  # one per run: its buffers serve every chunk (see OptimizerState)
            opt = OptimizerState(
                settings.optimizer,
                lr=settings.lr,
                weight_decay=settings.weight_decay,
                momentum=settings.momentum,
            )
        opt.start()
        self.opt = opt
        dev = X.device
        self.target_margin = settings.target_margin
        self.cols = slice(offset, offset + self.E)
        self.margin = None
        self.running = torch.ones(self.E, dtype=torch.bool, device=dev)
        self.all_running = True
        self.steps = torch.zeros(self.E, dtype=torch.int64, device=dev)

    @property
    def active(self) -> int:
        return int(self.running.sum())

    def evaluate(self, t: int) -> torch.Tensor:
        """Loss and margin of every member at evaluation t, recorded; returns which keep
        training."""
        with torch.no_grad():
            out = self.net._forward(self.X)
        margin = self.margin = (self.y * out).min(dim=1).values
        self.history.record(t, self.cols, margin, loss=logistic_loss(out, self.y))
        return (margin < self.target_margin) & (margin > -math.inf) & self.running

    def min_margin(self) -> float:
        return float(self.margin.min())

    def retire(self, stop: torch.Tensor, t: int) -> None:
        new = stop & self.running
        if bool(new.any()):
            ms = self.margin[new]
            self.history.stop(
                self.offset + torch.nonzero(new).flatten(),
                t,
                diverged=torch.isnan(ms) | (ms == -math.inf),
            )
            self.running &= ~stop
            self.all_running = False

    @property
    def done(self) -> bool:
        return not bool(self.running.any())

    def step(self) -> None:
        idx = self.draw() if self.minibatch else None
        grads = self.gradients(idx)
        mask = self.running.to(self.X.dtype)
        for k, p in self.params.items():
            self.opt.update(k, p, grads[k], mask, self.steps, self.all_running)
        del grads
        self.steps += self.running.to(torch.int64)

    def finish(self, dst) -> None:
        """Nothing to write back: the parameters were updated in place."""
        self.opt = None
