"""Training: first-order methods on the logistic loss, all ensemble members at once.

The loss of member e is the mean logistic loss
    L_e = (1/n) Σ_j log(1 + exp(−y_j N_e(x_j))),
and its gradients are computed in closed form (no autograd):
    ∂L/∂w_i = (1/n) Σ_j g_j u_i 1[w_i·x_j + b_i > 0] x_j,   g_j = −y_j σ(−y_j N(x_j)),
so every update of w_i is a combination of training points — the engine of the
invariance lemma. Weight decay λ is applied as w ← (1 − ηλ) w before the step
(decoupled), which for GD and SGD is exactly the gradient of (λ/2)‖w‖² and keeps
Π w(t) = (1 − ηλ)^t Π w(0) exact for GD, SGD and momentum alike.

A member stops updating as soon as its minimum margin min_j y_j N(x_j) reaches
``target_margin`` (the paper's stopping rule).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ._validation import check_choice, check_float, check_int, check_labels, check_tensor
from .network import TwoLayerReLU

__all__ = ["train", "TrainingHistory", "logistic_loss"]

OPTIMIZERS = {"gd", "sgd", "momentum", "adam"}


@dataclass
class TrainingHistory:
    """What happened during :func:`train`.

    Attributes
    ----------
    loss : torch.Tensor, shape (T, E)
        Mean logistic loss of each member, evaluated before each of the T steps
        (a stopped member keeps its last value).
    margin : torch.Tensor, shape (T, E)
        Minimum margin min_j y_j N(x_j) at the same times.
    steps : torch.Tensor, shape (E,), int64
        Number of updates each member made.
    reached : torch.Tensor, shape (E,), bool
        Whether the member reached ``target_margin``.
    final_loss, final_margin : torch.Tensor, shape (E,)
        Loss and minimum margin after training.
    """

    loss: torch.Tensor
    margin: torch.Tensor
    steps: torch.Tensor
    reached: torch.Tensor
    final_loss: torch.Tensor
    final_margin: torch.Tensor
    target_margin: float
    optimizer: str

    @property
    def all_reached(self) -> bool:
        return bool(self.reached.all())

    def __repr__(self) -> str:
        return (
            f"TrainingHistory(optimizer={self.optimizer!r}, members={self.steps.numel()}, "
            f"reached={int(self.reached.sum())}/{self.steps.numel()}, steps=[{int(self.steps.min())}..{int(self.steps.max())}])"
        )


def logistic_loss(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean logistic loss (1/n) Σ_j log(1 + exp(−y_j N(x_j))): outputs (E, n), y (n,) → (E,)."""
    return torch.nn.functional.softplus(-y * outputs).mean(dim=-1)


def _loss_gradients(net, X, y, idx, train_second_layer):
    """Closed-form gradients of the mean logistic loss on the points X[idx] (idx (E, b) or None)."""
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
    g = -yb * torch.sigmoid(-yb * out) / out.shape[1]  # dL/dN_j, (E, b)
    coef = g[:, :, None] * act  # (E, b, m)
    if idx is None:
        gW = torch.einsum("enm,em,nd->emd", coef, net.u, xb)
    else:
        gW = torch.einsum("enm,em,end->emd", coef, net.u, xb)
    grads = {"W": gW}
    if net.b is not None:
        grads["b"] = coef.sum(dim=1) * net.u
    if train_second_layer:
        grads["u"] = torch.einsum("en,enm->em", g, torch.relu(pre))
    return grads


def train(
    net: TwoLayerReLU,
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
) -> TrainingHistory:
    """Train every member of ``net`` in place on (X, y) until its margin reaches ``target_margin``.

    Parameters
    ----------
    net : TwoLayerReLU
        Trained in place (W, and u and b when trained).
    X : tensor (n, d);  y : tensor (n,) of ±1
    optimizer : {"gd", "sgd", "momentum", "adam"}
        Full-batch gradient descent; minibatch SGD (``batch_size`` points per
        member per step, drawn without replacement; 32 by default); heavy-ball
        momentum (torch.optim.SGD convention, coefficient ``momentum``); Adam
        (β = (0.9, 0.999), ε = 1e-8, decoupled weight decay as in AdamW).
    lr : float > 0
        Step size η.
    weight_decay : float ≥ 0
        λ: every step starts with w ← (1 − ηλ) w.
    target_margin : float > 0
        A member stops once min_j y_j N(x_j) ≥ target_margin.
    max_steps : int ≥ 1
    train_second_layer : bool
        Also train u (the lemma still holds: u's updates do not touch w).
    progress : bool
        Show a tqdm progress bar.
    seed : int or None
        Seed of the minibatch draws (SGD).

    Returns
    -------
    TrainingHistory
    """
    if not isinstance(net, TwoLayerReLU):
        raise TypeError(f"net must be a TwoLayerReLU, got {type(net).__name__}")
    optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
    lr = check_float("lr", lr, low=0.0, low_inclusive=False)
    weight_decay = check_float("weight_decay", weight_decay, low=0.0)
    if lr * weight_decay >= 1:
        raise ValueError(f"lr * weight_decay must be < 1 (else w ← (1 − ηλ) w flips or zeroes w), got lr={lr}, weight_decay={weight_decay}")
    target_margin = check_float("target_margin", target_margin, low=0.0, low_inclusive=False)
    max_steps = check_int("max_steps", max_steps, low=1)
    momentum = check_float("momentum", momentum, low=0.0, high=1.0, high_inclusive=False)
    X = check_tensor("X", X, ndim=2, dtype=net.dtype, device=net.device, last_dim=net.d)
    n = X.shape[0]
    if n < 1:
        raise ValueError(f"X must have at least one row, got shape {tuple(X.shape)}")
    y = check_labels("y", y, n, dtype=net.dtype, device=net.device)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, low=1, high=n)
    elif optimizer == "sgd":
        batch_size = min(32, n)
    if optimizer != "sgd" and batch_size is not None and batch_size != n:
        raise ValueError(f"batch_size is only used by optimizer='sgd', got batch_size={batch_size} with optimizer={optimizer!r}")
    if not isinstance(train_second_layer, bool):
        raise TypeError(f"train_second_layer must be True or False, got {train_second_layer!r}")
    gen = torch.Generator(device="cpu").manual_seed(check_int("seed", seed, low=0) if seed is not None else 0)

    names = ["W"] + (["b"] if net.b is not None else []) + (["u"] if train_second_layer else [])
    state = {k: torch.zeros_like(getattr(net, k)) for k in names}  # momentum buffer / Adam first moment
    state2 = {k: torch.zeros_like(getattr(net, k)) for k in names}  # Adam second moment
    E = net.ensemble
    running = torch.ones(E, dtype=torch.bool, device=net.device)
    steps = torch.zeros(E, dtype=torch.int64, device=net.device)
    losses, margins = [], []

    def evaluate():
        out = net._forward(X)
        return logistic_loss(out, y), (y * out).min(dim=1).values

    bar = tqdm(total=max_steps, disable=not progress, desc=f"train[{optimizer}]", leave=False)
    for t in range(max_steps):
        loss, margin = evaluate()
        losses.append(loss)
        margins.append(margin)
        running &= margin < target_margin
        if not bool(running.any()):
            break
        idx = None
        if optimizer == "sgd" and batch_size < n:
            idx = torch.rand(E, n, generator=gen, dtype=torch.float64).argsort(dim=1)[:, :batch_size].to(net.device)
        grads = _loss_gradients(net, X, y, idx, train_second_layer)
        mask = running.to(net.dtype)
        for k in names:
            p, gk = getattr(net, k), grads[k]
            shape = (E,) + (1,) * (p.ndim - 1)
            mk = mask.view(shape)
            if optimizer in ("gd", "sgd"):
                step = gk
            elif optimizer == "momentum":
                state[k] = torch.where(mk.bool(), momentum * state[k] + gk, state[k])
                step = state[k]
            else:  # adam, bias-corrected per member by its own step count
                state[k] = torch.where(mk.bool(), 0.9 * state[k] + 0.1 * gk, state[k])
                state2[k] = torch.where(mk.bool(), 0.999 * state2[k] + 0.001 * gk * gk, state2[k])
                tt = (steps + 1).to(net.dtype).view(shape)
                mhat = state[k] / (1 - 0.9**tt)
                vhat = state2[k] / (1 - 0.999**tt)
                step = mhat / (vhat.sqrt() + 1e-8)
            decay = 1 - lr * weight_decay * mk
            setattr(net, k, decay * p - lr * mk * step)
        steps += running.to(torch.int64)
        bar.update(1)
        if t % 50 == 0:
            bar.set_postfix(running=int(running.sum()), min_margin=f"{float(margin.min()):.3f}")
    bar.close()
    final_loss, final_margin = evaluate()
    return TrainingHistory(
        loss=torch.stack(losses),
        margin=torch.stack(margins),
        steps=steps,
        reached=final_margin >= target_margin,
        final_loss=final_loss,
        final_margin=final_margin,
        target_margin=target_margin,
        optimizer=optimizer,
    )
