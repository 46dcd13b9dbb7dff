"""``train_deep``: deeper ReLU networks trained by autograd in the shared loop.

The same optimizers (:class:`~.optim.OptimizerState`), the same decoupled weight decay
on every trained layer, the same stopping rule, divergence detection and history as
:func:`~advsub.training.train`: only the gradients come from autograd.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from ..deep import DeepReLU
from .full import FullSpaceState
from .history import HistoryRecorder, TrainingHistory, logistic_loss
from .loop import mark_diverged, run_loop, torch_threads, warn_about
from .spec import DEFAULT_MEMORY_BUDGET, check_progress, check_train_args

__all__ = ["train_deep"]


def _autograd_gradients(net, X, y, train_second_layer):
    """gradients(idx) for :class:`FullSpaceState`: per-member gradients of every trained
    layer."""
    L = len(net.weights)

    def gradients(idx):
        saved_w, saved_u = net.weights, net.u
        leaves = [
            p.detach().requires_grad_(True)
            for p in saved_w + ([saved_u] if train_second_layer else [])
        ]
        net.weights = leaves[:L]
        if train_second_layer:
            net.u = leaves[L]
        try:
            if idx is None:
                out, yb = net._forward(X), y
            else:
                out, yb = net._forward(X[idx]), y[idx]
            loss = logistic_loss(
                out, yb
            ).sum()  # member losses are independent: sum → per-member gradients
            grads = torch.autograd.grad(loss, leaves)
        finally:
            net.weights, net.u = saved_w, saved_u
        return dict(enumerate(grads))

    return gradients


def train_deep(
    net: DeepReLU,
    X,
    y,
    *,
    optimizer: str = "gd",
    lr: float,
    weight_decay: float = 0.0,
    target_margin: float = 0.3,
    max_steps: int,
    batch_size: int | None = None,
    train_second_layer: bool = False,
    momentum: float = 0.9,
    progress: bool = True,
    seed: int | None = None,
    memory_budget: float = DEFAULT_MEMORY_BUDGET,
) -> TrainingHistory:
    """Train every member of a :class:`DeepReLU` in place, exactly as
    :func:`advsub.train` trains a two-layer net.

    Gradients by autograd, batched over the ensemble (the loss summed over members, so
    each member gets its own gradient); the same optimizers, the same decoupled weight
    decay w ← (1 − ηλ) w on every trained layer, the same stopping rule (a member stops
    once min_j y_j N(x_j) ≥ ``target_margin``, or when its loss is no longer finite) and
    the same :class:`TrainingHistory`. All hidden layers W_1, …, W_L are trained;
    ``train_second_layer=True`` also trains the output weights u. See
    :func:`advsub.train` for the parameters (``memory_budget`` is validated but the
    ensemble is trained in one piece).
    """
    if not isinstance(net, DeepReLU):
        raise TypeError(f"net must be a DeepReLU, got {type(net).__name__}")
    X, y, s = check_train_args(
        net,
        X,
        y,
        optimizer=optimizer,
        lr=lr,
        weight_decay=weight_decay,
        target_margin=target_margin,
        max_steps=max_steps,
        batch_size=batch_size,
        train_second_layer=train_second_layer,
        momentum=momentum,
        seed=seed,
        reduced=False,
        memory_budget=memory_budget,
    )
    progress = check_progress(progress)
    E, n = net.ensemble, X.shape[0]
    gen = torch.Generator(device="cpu").manual_seed(s.seed)

    def draw():
        return (
            torch.rand(E, n, generator=gen, dtype=torch.float64)
            .argsort(dim=1)[:, : s.batch_size]
            .to(net.device)
        )

    # In-place updates: the trained tensors are replaced by copies first (a caller's
    # reference keeps its values).
    net.weights = [w.clone() for w in net.weights]
    if s.train_second_layer:
        net.u = net.u.clone()
    params = dict(enumerate(net.weights + ([net.u] if s.train_second_layer else [])))
    history = HistoryRecorder(E, s.max_steps, net.dtype, net.device)
    state = FullSpaceState(
        net,
        X,
        y,
        params,
        _autograd_gradients(net, X, y, s.train_second_layer),
        s,
        history,
        0,
        draw,
    )
    widths = [net.d] + list(net.widths)
    flops = 6 * E * n * sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    bar = tqdm(
        total=s.max_steps,
        disable=not progress,
        desc=f"train_deep[{s.optimizer}]",
        leave=False,
    )
    with torch_threads(flops):
        run_loop(state, max_steps=s.max_steps, bar=bar)
        bar.close()
        with torch.no_grad():
            out = net._forward(X)
            final_loss, final_margin = (
                logistic_loss(out, y),
                (y * out).min(dim=1).values,
            )
            dead = (~net.active(X)[-1].any(dim=2)).sum(dim=1)
    hist = history.finish(
        final_loss,
        final_margin,
        target_margin=s.target_margin,
        optimizer=s.optimizer,
        dead_points=dead,
    )
    mark_diverged(net, hist.diverged)
    warn_about(hist)
    return hist
