"""What a training run records: :class:`TrainingHistory`, the recorder that fills it,
the warnings."""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = [
    "TrainingHistory",
    "HistoryRecorder",
    "logistic_loss",
    "DivergenceWarning",
    "DeadPointWarning",
]


class DivergenceWarning(RuntimeWarning):
    """Some members' loss became NaN or infinite: they were frozen and marked in
    ``history.diverged``."""


class DeadPointWarning(RuntimeWarning):
    """Members that missed the target margin have training points at which every hidden
    neuron is off."""


def logistic_loss(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean logistic loss (1/n) Σ_j log(1 + exp(−y_j N(x_j))): outputs (E, n), y (n,) →
    (E,).

    This is ``torch.nn.BCEWithLogitsLoss()`` (reduction ``"mean"``) of the outputs
    against the labels mapped to {0, 1}, and ``nn.BCELoss()`` after a sigmoid, up to
    rounding.
    """
    return torch.nn.functional.softplus(-y * outputs).mean(dim=-1)


@dataclass
class TrainingHistory:
    """What happened during :func:`~advsub.training.train`.

    Attributes
    ----------
    loss : torch.Tensor, shape (T, E)
        Mean logistic loss of each member, evaluated before each of the T steps (a
        stopped member keeps its last value). T is the number of evaluations made: the
        rows grow with the steps taken, not with ``max_steps``.
    margin : torch.Tensor, shape (T, E)
        Minimum margin min_j y_j N(x_j) at the same times.
    steps : torch.Tensor, shape (E,), int64
        Number of updates each member made.
    reached : torch.Tensor, shape (E,), bool
        Whether the member reached ``target_margin``.
    final_loss, final_margin : torch.Tensor, shape (E,)
        Loss and minimum margin after training.
    diverged : torch.Tensor, shape (E,), bool
        Members whose loss became NaN or infinite (the step size was too large): they
        were frozen at that evaluation, their weights set to NaN (they had overflowed;
        :func:`advsub.network.check_finite`, hence the attacks, refuse them) and a
        :class:`DivergenceWarning` was issued.
    dead_points : torch.Tensor, shape (E,), int64
        Number of training points at which every hidden neuron of the member is off
        after training: there N(x_j) is the output bias (0 without one) and no gradient
        flows through x_j. A member that missed the margin with such points triggers a
        :class:`DeadPointWarning`.
    """

    loss: torch.Tensor
    margin: torch.Tensor
    steps: torch.Tensor
    reached: torch.Tensor
    final_loss: torch.Tensor
    final_margin: torch.Tensor
    target_margin: float
    optimizer: str
    diverged: torch.Tensor | None = None
    dead_points: torch.Tensor | None = None

    def __post_init__(self):
        E = self.steps.shape[0]
        if self.diverged is None:
            self.diverged = torch.zeros(E, dtype=torch.bool, device=self.steps.device)
        if self.dead_points is None:
            self.dead_points = torch.zeros(
                E, dtype=torch.int64, device=self.steps.device
            )

    @property
    def all_reached(self) -> bool:
        return bool(self.reached.all())

    @property
    def any_diverged(self) -> bool:
        return bool(self.diverged.any())

    def members(self, lo: int, hi: int) -> "TrainingHistory":
        """Members lo..hi−1, with the rows they alone would have recorded (copies)."""
        steps, reached = self.steps[lo:hi].clone(), self.reached[lo:hi].clone()
        stopped = reached | self.diverged[lo:hi]
        T = self.loss.shape[0]
        if bool(stopped.all()) and int(steps.max()) < T:
            # the loop would have ended at the evaluation where its last member stopped
            T = int(steps.max()) + 1
        return TrainingHistory(
            loss=self.loss[:T, lo:hi].clone(),
            margin=self.margin[:T, lo:hi].clone(),
            steps=steps,
            reached=reached,
            final_loss=self.final_loss[lo:hi].clone(),
            final_margin=self.final_margin[lo:hi].clone(),
            target_margin=self.target_margin,
            optimizer=self.optimizer,
            diverged=self.diverged[lo:hi].clone(),
            dead_points=self.dead_points[lo:hi].clone(),
        )

    def __repr__(self) -> str:
        extra = f", diverged={int(self.diverged.sum())}" if self.any_diverged else ""
        return (
            f"TrainingHistory(optimizer={self.optimizer!r}, "
            f"members={self.steps.numel()}, "
            f"reached={int(self.reached.sum())}/{self.steps.numel()}{extra}, "
            f"steps=[{int(self.steps.min())}..{int(self.steps.max())}])"
        )


class HistoryRecorder:
    """Loss and margin rows of E members, one row per evaluation, grown as the loop
    goes.

    The loops hand over each evaluation with :meth:`record` (no copy: the tensors are
    kept until the next :meth:`flush`, every 256 evaluations, which writes them in
    blocks). Storage starts at ``min(max_rows, 256)`` rows and doubles when full, so a
    run that stops at step 378 of ``max_steps=10**9`` holds 512 rows. Each member's
    stopping evaluation is reported with :meth:`stop`; :meth:`finish` fills the rows
    after a member stopped with its final values (a stopped member is frozen).
    """

    BLOCK = 256  # evaluations kept before a flush
    BLOCK_ELEMENTS = (
        2**20
    )  # ... or fewer, if their −y_j N(x_j) arrays hold more entries than this

    def __init__(self, E: int, max_rows: int, dtype, device, initial: int = 256):
        cap = max(1, min(max_rows, initial))
        self._loss = torch.empty(cap, E, dtype=dtype, device=device)
        self._margin = torch.empty(cap, E, dtype=dtype, device=device)
        self._pending: list = []
        self._pending_elements = 0
        self.rows = 0
        self.stopped_at = torch.full((E,), -1, dtype=torch.int64, device=device)
        self.diverged = torch.zeros(E, dtype=torch.bool, device=device)

    def record(
        self,
        t: int,
        cols,
        margin: torch.Tensor,
        *,
        loss: torch.Tensor | None = None,
        nyo: torch.Tensor | None = None,
        negated: bool = False,
    ) -> None:
        """Evaluation t of the members ``cols`` (a slice, or an index tensor) of the E
        columns.

        ``loss`` (one per member), or ``nyo`` (n, members): the values −y_j N(x_j),
        whose mean softplus is the loss, computed at the flush for many evaluations at
        once. ``negated=True`` says that ``margin`` holds −margin (the reduced loop's
        max_j −y_j N(x_j)). The tensors are kept, not copied: the loops pass fresh ones.
        """
        self._pending.append(
            (t, cols, loss if nyo is None else nyo, nyo is not None, margin, negated)
        )
        if nyo is not None:
            self._pending_elements += nyo.numel()
        if (
            len(self._pending) >= self.BLOCK
            or self._pending_elements >= self.BLOCK_ELEMENTS
        ):
            self.flush()

    def flush(self) -> None:
        """Write the pending evaluations into the storage (grown as needed)."""
        pending, self._pending, self._pending_elements = self._pending, [], 0
        if not pending:
            return
        last = max(item[0] for item in pending)
        while last >= self._loss.shape[0]:
            cap = 2 * self._loss.shape[0]
            for name in ("_loss", "_margin"):
                old = getattr(self, name)
                new = old.new_empty((cap, old.shape[1]))
                new[: old.shape[0]] = old
                setattr(self, name, new)
        self.rows = max(self.rows, last + 1)
        i = 0
        while i < len(pending):
            t0, cols, _, from_nyo, _, neg = pending[i]
            j = i + 1
            if isinstance(
                cols, slice
            ):  # a run of consecutive rows of the same columns: one copy
                while (
                    j < len(pending)
                    and pending[j][1] == cols
                    and pending[j][0] == t0 + (j - i)
                    and pending[j][3] == from_nyo
                    and pending[j][5] == neg
                ):
                    j += 1
                rows, dim = slice(t0, t0 + (j - i)), 1
            else:
                rows, dim = t0, 0
            values = (
                torch.stack([item[2] for item in pending[i:j]])
                if dim
                else pending[i][2]
            )
            margin = (
                torch.stack([item[4] for item in pending[i:j]])
                if dim
                else pending[i][4]
            )
            self._loss[rows, cols] = (
                torch.nn.functional.softplus(values).mean(dim) if from_nyo else values
            )
            self._margin[rows, cols] = -margin if neg else margin
            i = j

    def stop(
        self, members: torch.Tensor, t: int, diverged: torch.Tensor | None = None
    ) -> None:
        """Members (global indices) stopped at evaluation t; ``diverged`` (bool, same
        length) if non-finite."""
        self.stopped_at[members] = t
        if diverged is not None:
            self.diverged[members] = diverged

    def finish(
        self, final_loss, final_margin, *, target_margin, optimizer, dead_points
    ) -> TrainingHistory:
        self.flush()
        T = self.rows
        loss, margin = self._loss[:T], self._margin[:T]
        done = self.stopped_at >= 0
        if bool(done.any()):
            late = done[None, :] & (
                torch.arange(T, device=loss.device)[:, None] >= self.stopped_at[None, :]
            )
            loss = torch.where(late, final_loss, loss)
            margin = torch.where(late, final_margin, margin)
        elif T < self._loss.shape[0]:
            loss, margin = loss.clone(), margin.clone()  # release the unused rows
        steps = torch.where(done, self.stopped_at, torch.full_like(self.stopped_at, T))
        return TrainingHistory(
            loss=loss,
            margin=margin,
            steps=steps,
            reached=final_margin >= target_margin,
            final_loss=final_loss,
            final_margin=final_margin,
            target_margin=target_margin,
            optimizer=optimizer,
            diverged=self.diverged.clone(),
            dead_points=dead_points,
        )
