"""The arguments of :func:`~advsub.training.train`, validated once into
:class:`TrainSettings`.

:func:`~advsub.training.train`, :func:`~advsub.training.train_sweep` and
:func:`~advsub.training.train_deep` all validate through :func:`check_train_args`, so a
mistake gets the same ``TypeError`` (wrong type) or ``ValueError`` (wrong value), naming
the parameter and the value, whichever entry point received it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .._validation import (
    Boolean,
    Choice,
    Constraint,
    Integer,
    Optional,
    Real,
    Seed,
    Tensor,
    check_labels,
    check_params,
)
from .optim import OPTIMIZERS

__all__ = [
    "TrainSettings",
    "TRAIN_SPEC",
    "check_train_args",
    "REDUCED_OPTIMIZERS",
    "DEFAULT_MEMORY_BUDGET",
]

REDUCED_OPTIMIZERS = (
    "gd",
    "sgd",
    "momentum",
)  # their updates are combinations of the training points
DEFAULT_MEMORY_BUDGET = 4 * 2**30  # bytes of working memory per call of train


@dataclass(frozen=True)
class TrainSettings:
    """Validated settings of one training call (everything but the network and the
    data)."""

    optimizer: str
    lr: float
    weight_decay: float
    target_margin: float
    max_steps: int
    batch_size: int | None
    train_second_layer: bool
    momentum: float
    seed: int
    use_reduced: bool
    memory_budget: float

    def as_dict(self) -> dict:
        return asdict(self)


class _Labels(Constraint):
    """Labels ±1, one per row of the (already checked) X, in the network's dtype and
    device."""

    def check(self, name, value, bound):
        net = bound["net"]
        return check_labels(
            name, value, bound["X"].shape[0], dtype=net.dtype, device=net.device
        )

    def describe(self):
        return "labels ±1"


# Every argument of train, declared once (in checking order: a limit may use earlier
# values).
TRAIN_SPEC = {
    "optimizer": Choice(set(OPTIMIZERS)),
    "lr": Real(low=0.0, closed="neither"),
    "weight_decay": Real(low=0.0),
    "target_margin": Real(low=0.0, closed="neither"),
    "max_steps": Integer(low=1),
    "momentum": Real(low=0.0, high=1.0, closed="left"),
    "X": Tensor(
        ndim=2,
        dtype=lambda p: p["net"].dtype,
        device=lambda p: p["net"].device,
        last_dim=lambda p: p["net"].d,
    ),
    "y": _Labels(),
    "batch_size": Optional(Integer(low=1, high=lambda p: p["X"].shape[0])),
    "train_second_layer": Boolean(),
    "seed": Optional(Seed()),
    "reduced": Optional(Boolean()),
    "memory_budget": Real(low=0.0, closed="neither"),
    "progress": Boolean(),
}


def check_train_args(
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
    seed,
    reduced,
    memory_budget,
    progress=True,
):
    """Validate the arguments of :func:`train` (:data:`TRAIN_SPEC` and the checks across
    parameters).

    Returns (X, y, TrainSettings) with X, y as tensors of the network's dtype and
    device.
    """
    a = check_params(
        TRAIN_SPEC,
        dict(
            net=net,
            X=X,
            y=y,
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
            progress=progress,
        ),
    )
    optimizer, X = a["optimizer"], a["X"]
    if a["lr"] * a["weight_decay"] >= 1:
        raise ValueError(
            f"lr * weight_decay must be < 1 (else w ← (1 − ηλ) w flips or zeroes w), "
            f"got lr={a['lr']}, "
            f"weight_decay={a['weight_decay']}"
        )
    if X.shape[0] < 1:
        raise ValueError(f"X must have at least one row, got shape {tuple(X.shape)}")
    batch_size = a["batch_size"]
    if batch_size is None and optimizer == "sgd":
        batch_size = min(32, X.shape[0])
    if optimizer != "sgd" and batch_size is not None and batch_size != X.shape[0]:
        raise ValueError(
            f"batch_size is only used by optimizer='sgd', got batch_size={batch_size} "
            f"with optimizer={optimizer!r}"
        )
    reduced = a["reduced"]
    if reduced and optimizer not in REDUCED_OPTIMIZERS:
        raise ValueError(
            f"reduced=True needs an optimizer whose updates are combinations of the "
            "training points "
            f"({sorted(REDUCED_OPTIMIZERS)}), got optimizer={optimizer!r}; use "
            "reduced=None or False"
        )
    settings = TrainSettings(
        optimizer=optimizer,
        lr=a["lr"],
        weight_decay=a["weight_decay"],
        target_margin=a["target_margin"],
        max_steps=a["max_steps"],
        batch_size=batch_size,
        train_second_layer=a["train_second_layer"],
        momentum=a["momentum"],
        seed=0 if a["seed"] is None else a["seed"],
        use_reduced=optimizer in REDUCED_OPTIMIZERS if reduced is None else reduced,
        memory_budget=a["memory_budget"],
    )
    return X, a["y"], settings


def check_progress(progress) -> bool:
    return Boolean().check("progress", progress, {})
