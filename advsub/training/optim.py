"""The optimizer update shared by the full-space loop and the autograd loop of deeper
networks.

One :class:`OptimizerState` holds the buffers of every trained parameter (momentum
buffer, Adam's two moments, one scratch buffer) and updates the parameters *in place*:
after the first step no tensor of the size of a parameter is allocated, which is what
lets ``memory_budget`` bound the working memory (see :func:`full_space_words`).
"""

from __future__ import annotations

import torch

__all__ = ["OPTIMIZERS", "OptimizerState", "full_space_words"]

OPTIMIZERS = ("gd", "sgd", "momentum", "adam")
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def full_space_words(optimizer: str) -> int:
    """Buffers of the size of a trained parameter that :class:`OptimizerState` keeps
    (plus the gradient)."""
    return {"gd": 0, "sgd": 0, "momentum": 2, "adam": 3}[optimizer] + 1


def _factor(value: float, frozen: torch.Tensor, dtype) -> torch.Tensor:
    """``value`` for the moving members, 1 for the frozen ones, in the parameters'
    dtype."""
    return torch.full(
        frozen.shape, value, dtype=dtype, device=frozen.device
    ).masked_fill_(frozen, 1.0)


class OptimizerState:
    """Per-member optimizer steps, in place, for parameters whose leading axis is the
    ensemble.

    Every step is: decoupled weight decay p ← (1 − ηλ) p, then p ← p − η·step, with step
    the gradient (gd, sgd), the heavy-ball buffer v ← μ v + g (momentum, torch.optim.SGD
    convention) or Adam's bias-corrected ratio m̂ / (√v̂ + ε) with each member's own
    step count. For GD and SGD the decoupled decay is exactly torch.optim.SGD's
    ``weight_decay`` (the gradient of (λ/2)‖p‖²). Members whose ``mask`` entry is False
    are left exactly as they are (parameters and buffers). The arithmetic is that of the
    reference formula ``(1 − ηλ·mask)·p − η·mask·step`` operation for operation, so the
    numbers do not depend on the buffers being reused.
    """

    def __init__(
        self, optimizer: str, *, lr: float, weight_decay: float, momentum: float
    ):
        self.optimizer, self.lr, self.weight_decay, self.momentum = (
            optimizer,
            lr,
            weight_decay,
            momentum,
        )
        self.first: dict = {}  # momentum buffer / Adam's first moment
        self.second: dict = {}  # Adam's second moment
        self.scratch: dict = {}
        self._started: set = set()

    def start(self) -> None:
        """A new chunk of members: the buffers are kept (not reallocated) and zeroed."""
        self._started = set()

    def _buffer(self, store: dict, key, like: torch.Tensor) -> torch.Tensor:
        """Buffer ``key`` for ``like``'s members (allocated once, then reused)."""
        buf = store.get(key)
        if (
            buf is None
            or buf.shape[0] < like.shape[0]
            or buf.shape[1:] != like.shape[1:]
        ):
            buf = store[key] = torch.zeros_like(like)
            self._started.add((id(store), key))
            return buf
        view = buf[: like.shape[0]]
        if (id(store), key) not in self._started:
            view.zero_()
            self._started.add((id(store), key))
        return view

    def update(
        self,
        key,
        p: torch.Tensor,
        g: torch.Tensor,
        mask: torch.Tensor,
        steps: torch.Tensor,
        all_running: bool,
    ) -> None:
        """One step on ``p`` (updated in place) with gradient ``g`` (consumed:
        overwritten).

        ``mask`` (E,) in p's dtype, 1 for the members that move; ``steps`` (E,) the
        number of steps each member has made (Adam's bias correction); ``all_running``
        says that every entry of ``mask`` is 1 (the buffers then skip the masking).
        """
        shape = (p.shape[0],) + (1,) * (p.ndim - 1)
        mk = mask.view(shape)
        frozen = None if all_running else ~mk.bool()
        lr, opt = self.lr, self.optimizer
        if opt in ("gd", "sgd"):
            step = g
        elif opt == "momentum":
            v = self._buffer(self.first, key, p)
            if frozen is None:
                v.mul_(self.momentum).add_(g)
            else:  # v ← where(mask, μ v + g, v)
                g.masked_fill_(frozen, 0.0)
                v.mul_(_factor(self.momentum, frozen, p.dtype)).add_(g)
            step = self._buffer(self.scratch, key, p)
            step.copy_(v)
        else:  # adam, bias-corrected per member by its own step count
            b1, b2 = ADAM_BETAS
            c1, c2 = (
                0.1,
                0.001,
            )  # 1 − β1, 1 − β2 as written (1 − 0.999 is not 0.001 in floating point)
            m1 = self._buffer(self.first, key, p)
            m2 = self._buffer(self.second, key, p)
            buf = self._buffer(self.scratch, key, p)
            torch.mul(g, c2, out=buf).mul_(g)  # (1 − β2)·g·g, in this order
            g.mul_(c1)
            if frozen is None:
                m2.mul_(b2).add_(buf)
                m1.mul_(b1).add_(g)
            else:
                buf.masked_fill_(frozen, 0.0)
                g.masked_fill_(frozen, 0.0)
                m2.mul_(_factor(b2, frozen, p.dtype)).add_(buf)
                m1.mul_(_factor(b1, frozen, p.dtype)).add_(g)
            tt = (steps + 1).to(p.dtype).view(shape)
            torch.div(m2, 1 - b2**tt, out=buf).sqrt_().add_(ADAM_EPS)  # √v̂ + ε
            step = torch.div(m1, 1 - b1**tt, out=g).div_(buf)  # m̂ / (√v̂ + ε)
        p.mul_(1 - lr * self.weight_decay * mk)
        p.sub_(step.mul_(lr * mk))
