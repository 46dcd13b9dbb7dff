"""``train``: the entry point for every network, dispatching to the loop that fits."""

from __future__ import annotations

import torch

from ..deep import DeepReLU
from ..network import TwoLayerReLU
from .deep import train_deep
from .history import TrainingHistory
from .loop import step_flops, torch_threads, train_members
from .spec import DEFAULT_MEMORY_BUDGET, check_progress, check_train_args

__all__ = ["train"]


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
    reduced: bool | None = None,
    memory_budget: float = DEFAULT_MEMORY_BUDGET,
) -> TrainingHistory:
    """Train every member of ``net`` in place on (X, y) until its margin reaches
    ``target_margin``.

    The loss of member e is the mean logistic loss (1/n) Σ_j log(1 + exp(−y_j N_e(x_j)))
    (reduction "mean", as ``torch.nn.BCEWithLogitsLoss()``, or ``nn.BCELoss()`` after a
    sigmoid, with the labels mapped −1 → 0), minimised by full-batch or minibatch steps
    of size ``lr`` on that mean, as ``torch.optim.SGD(lr=lr)`` makes them.

    Parameters
    ----------
    net : TwoLayerReLU or DeepReLU
        Trained in place (W, and b when present; u and c when ``train_second_layer``). A
        DeepReLU is trained by :func:`train_deep` (autograd, same rules).
    X : tensor (n, d);  y : tensor (n,) of ±1
    optimizer : {"gd", "sgd", "momentum", "adam"}
        Full-batch gradient descent; minibatch SGD (``batch_size`` points per member per
        step, drawn without replacement; 32 by default); heavy-ball momentum
        (torch.optim.SGD convention, coefficient ``momentum``); Adam (β = (0.9, 0.999),
        ε = 1e-8, decoupled weight decay as in AdamW).
    lr : float > 0
        Step size η.
    weight_decay : float ≥ 0
        λ: every step starts with p ← (1 − ηλ) p for every trained parameter p (W, b,
        and u, c when trained). For "gd" and "sgd" this is exactly
        ``torch.optim.SGD(weight_decay=λ)``; for "momentum" the decay is decoupled (not
        fed into the momentum buffer as torch.optim.SGD does), which keeps Π W(t) = (1 −
        ηλ)^t Π W(0) exact.
    target_margin : float > 0
        A member stops once min_j y_j N(x_j) ≥ target_margin.
    max_steps : int ≥ 1
        At most this many steps; the history grows with the steps taken, so a large
        value costs nothing if the members stop earlier.
    train_second_layer : bool
        Also train u and the output bias c (the lemma still holds: their updates do not
        touch W). Hidden biases b are always trained when present.
    progress : bool
        Show a tqdm progress bar.
    seed : int or None
        Seed of the minibatch draws (SGD).
    reduced : bool or None
        Train in the data's own coordinates (see :func:`data_coordinates`): exact for
        "gd", "sgd" and "momentum" because every update of w_i is a combination of the
        training points, and cheaper by a factor of about d / min(n/2, rank X) per step.
        ``None`` (default) uses it whenever it is exact; ``True`` requires it
        (``ValueError`` for "adam", whose coordinate-wise scaling breaks the
        invariance); ``False`` forces the full-space loop. Both give the same weights
        and history to rounding (≤ 1e-9 relative in float64).
    memory_budget : float > 0
        Bytes of working memory the loop may use; a larger ensemble is trained in
        consecutive chunks of members. The network's own tensors are outside the budget:
        W and W0, and the new W (the reduced loop writes it into a fresh tensor; the
        full-space loop first replaces W by a copy, which it then updates in place).
        Default 4 GiB.

    Returns
    -------
    TrainingHistory
        With ``diverged`` (members whose loss became NaN or infinite: frozen there, and
        a :class:`DivergenceWarning`) and ``dead_points`` (training points where every
        hidden neuron is off; a :class:`DeadPointWarning` for members that missed the
        margin with such points).

    Notes
    -----
    Small problems run with one torch thread (restored afterwards): see
    ``advsub.training.loop.torch_threads``. Same seed, same thread count and same
    torch version give bit-identical results.
    """
    if isinstance(net, DeepReLU):
        if reduced:
            raise ValueError(
                "reduced=True is implemented for TwoLayerReLU only; a DeepReLU trains "
                "in the full space"
            )
        return train_deep(
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
            progress=progress,
            seed=seed,
            memory_budget=memory_budget,
        )
    if not isinstance(net, TwoLayerReLU):
        raise TypeError(
            f"net must be a TwoLayerReLU or a DeepReLU, got {type(net).__name__}"
        )
    n = X.shape[0] if getattr(X, "ndim", 0) >= 1 else 1  # validated below
    # The thread count is chosen before any work (validation included): on a loaded
    # machine
    # a single operation with a second thread can cost more than the whole small
    # problem.
    with torch_threads(
        step_flops(
            net.ensemble, net.m, net.d, n, optimizer != "adam" and reduced is not False
        )
    ):
        return _train(
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
            progress=progress,
            seed=seed,
            reduced=reduced,
            memory_budget=memory_budget,
        )


def _train(
    net,
    X,
    y,
    *,
    optimizer,
    lr,
    weight_decay,
    target_margin,
    max_steps,
    batch_size,
    train_second_layer,
    momentum,
    progress,
    seed,
    reduced,
    memory_budget,
):
    X, y, settings = check_train_args(
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
        reduced=reduced,
        memory_budget=memory_budget,
    )
    progress = check_progress(progress)
    task = torch.zeros(net.ensemble, dtype=torch.int64)
    return train_members(net, [(X, y)], task, settings, progress=progress)
