"""The reduced loop: GD, SGD and momentum in the data's own coordinates.

For GD, SGD and momentum (with decoupled weight decay, biases, a trained second layer)
every update of w_i is a combination of the training points, so after any number of
steps::

    w_i(t) = C(t) w_i(0) + Σ_j α_ij(t) x_j,      C(t) = (1 − ηλ)^t,

exactly, whatever the data. The pre-activations at the training points then evolve as::

    pre(t+1) = (1 − ηλ) pre(t) − η (K A(t) + δb(t)),      K = X Xᵀ  (n × n),

where A_ji = ∂L/∂(w_i·x_j) is the step direction in coefficient form. Nothing of size d
is touched inside the loop: the cost per step is 2·n·m·n flops per member with the Gram
matrix, or 4·n·m·r with a factor K = Z Zᵀ of rank r = dim span(x_1..x_n) ≤ min(n, d − ℓ)
(the data's own coordinates), whichever is cheaper. W is mapped back to R^d once at the
end. :class:`ReducedState` holds the whole state of the loop.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["data_coordinates", "ReducedState", "reduced_words", "task_blocks"]


def _low_rank_factor(K: torch.Tensor, rtol: float = 1e-13, max_rank: int | None = None):
    """Z (p, r) with K = Z Zᵀ to 1e-12 relative (pivoted Cholesky), or None if K has
    full rank.

    None too if the rank is ``max_rank`` or more (the factor would not be used).
    """
    from scipy.linalg import lapack

    K64 = K.detach().to("cpu", torch.float64).numpy()
    p = K64.shape[0]
    scale = float(K64.diagonal().max()) if p else 0.0
    if scale <= 0:
        return None
    c, piv, rank, info = lapack.dpstrf(K64, lower=1, tol=rtol * scale)
    if info < 0 or rank >= p or (max_rank is not None and rank >= max_rank):
        return None
    Z = np.zeros((p, rank))
    Z[piv - 1] = np.tril(c)[:, :rank]
    Zt = torch.from_numpy(Z)
    K64t = torch.from_numpy(K64)
    if float(torch.linalg.matrix_norm(K64t - Zt @ Zt.T)) > 1e-12 * float(
        torch.linalg.matrix_norm(K64t)
    ):
        return None
    return Zt


def data_coordinates(X: torch.Tensor):
    """The cheapest exact coordinates of the training points for the reduced path.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)

    Returns
    -------
    mode : {"gram", "coords"}
    K : torch.Tensor
        ``"gram"``: the Gram matrix X Xᵀ, shape (n, n). ``"coords"``: Z, shape (n, r),
        with Z Zᵀ = X Xᵀ to 1e-12 relative and r = rank(X) < n/2 (the data's own r
        coordinates; r ≤ d − ℓ for data in P).
    rank : int
        n for ``"gram"``, r for ``"coords"``.

    The choice minimises the per-step cost: 2n² (Gram) against 4nr (coordinates) flops
    per neuron, so coordinates are used when 2r < n.
    """
    n, d = X.shape
    X64 = X.to(torch.float64)
    Z = None
    if n <= d:
        G64 = X64 @ X64.T
        Z = (
            _low_rank_factor(G64, max_rank=(n + 1) // 2) if n >= 4 else None
        )  # used only if 2r < n
    else:  # fewer coordinates than points: factor the d × d matrix Xᵀ X instead
        F = _low_rank_factor(X64.T @ X64)
        if F is None:
            Z = X64  # full rank d < n: the canonical coordinates are exact
        else:
            Q = torch.linalg.qr(F.to(X.device))[
                0
            ]  # (d, r) orthonormal basis of the row space
            Zq = X64 @ Q
            if float((X64 - Zq @ Q.T).norm()) <= 1e-12 * float(X64.norm()):
                Z = Zq
        G64 = None
    if Z is not None and 2 * Z.shape[1] < n:
        return "coords", Z.to(X.device, X.dtype).contiguous(), int(Z.shape[1])
    if G64 is None:
        G64 = X64 @ X64.T
    return "gram", G64.to(X.dtype), n


def reduced_words(n: int, m: int, d: int, optimizer: str) -> int:
    """Words of working memory per member inside the reduced loop (the network's tensors
    excluded).

    pre, α and the retired members' α, σ(pre), A, the compaction copies (≤ 2 n·m while a
    member retires) and the coordinate products; the momentum buffer; the last forward
    pass; one m·d for the map back of a block whose α is not contiguous.
    """
    return 12 * n * m + (n * m if optimizer == "momentum" else 0) + m * d


def task_blocks(task_ids: torch.Tensor, count: int):
    """[(t, lo, hi)]: the contiguous member range of each task present in the sorted
    ``task_ids``."""
    counts = torch.bincount(task_ids.cpu(), minlength=count).tolist()
    out, lo = [], 0
    for t, k in enumerate(counts):
        if k:
            out.append((t, lo, lo + k))
            lo += k
    return out


class ReducedState:
    """The state of the reduced loop for one chunk of members, with its named
    operations.

    Members still training are the *active* ones (their global indices in ``ids``); the
    per-member state is held for them only, in the layout (n, Ea, m) for the point ×
    neuron arrays:

    ``pre``  w_i·x_j + b_i at the training points;
    ``alpha``, ``C``  the coefficients of w_i = C·w_i(start) + Σ_j α_ij x_j;
    ``u``, ``b``, ``c``  the second layer and the biases;
    ``v*``  the momentum buffers; ``h``, ``A``  work arrays reused at every step.

    Operations: :meth:`evaluate` (loss and margin of the active members, written into
    the history), :meth:`retire` (members that reached the margin or diverged: their
    state is written back and they leave the active set, see :meth:`compact`),
    :meth:`step` (one optimizer step of the active members) and :meth:`finish` (W mapped
    back to R^d, written with u, b, c into ``dst``).

    Parameters
    ----------
    src : TwoLayerReLU
        The chunk's members at the start (read only).
    data : list of (X_t, y_t, (mode, K, r))
        One entry per task, all with the same n; ``task`` (E,) the task of each member,
        non-decreasing (members of different tasks train together, each against its own
        K).
    settings : TrainSettings
    history : HistoryRecorder
        Shared by all chunks; this chunk's members are columns ``offset`` onwards.
    draw : callable
        () → (E, batch) minibatch indices of the chunk's members (SGD).
    """

    def __init__(self, src, data, task, settings, history, offset, draw):
        E, m, d = src.W.shape
        n = data[0][0].shape[0]
        dev, dt = src.W.device, src.W.dtype
        self.E, self.m, self.n, self.d = E, m, n, d
        self.dev, self.dt = dev, dt
        self.data, self.task, self.src = data, task, src
        self.history, self.offset, self.draw = history, offset, draw
        s = settings
        self.lr, self.momentum, self.target_margin = s.lr, s.momentum, s.target_margin
        self.decay = 1.0 - s.lr * s.weight_decay
        self.train_second_layer = s.train_second_layer
        self.use_mom = s.optimizer == "momentum"
        self.minibatch = s.optimizer == "sgd" and s.batch_size < n
        self.scale = 1.0 / (s.batch_size if s.optimizer == "sgd" else n)
        self.blocks = task_blocks(task, len(data))
        pre = torch.empty(
            n, E, m, dtype=dt, device=dev
        )  # w_i·x_j + b_i, layout (n, E, m)
        for t, lo, hi in self.blocks:
            pre[:, lo:hi] = (
                data[t][0] @ src.W[lo:hi].reshape((hi - lo) * m, d).T
            ).view(n, hi - lo, m)
        if src.b is not None:
            pre += src.b
        self.pre = pre
        self.neg_y = torch.cat(
            [-data[t][1][:, None].expand(n, hi - lo) for t, lo, hi in self.blocks],
            dim=1,
        )
        self.neg_y_scaled = self.scale * self.neg_y
        self.ids = torch.arange(E, device=dev)  # members still training (chunk indices)
        self.full_set = True  # ids == arange(E): no member has stopped yet
        self.u = src.u.clone()
        self.b = None if src.b is None else src.b.clone()
        self.c = None if src.c is None else src.c.clone()
        self.alpha = torch.zeros_like(
            pre
        )  # w_i = C·w_i(start) + Σ_j alpha[j, e, i] x_j
        self.C = torch.ones(E, dtype=dt, device=dev)
        # Where retired members' state goes (and, at the end, everyone's).
        self.out = dict(
            alpha=torch.zeros_like(pre),
            C=self.C.clone(),
            u=self.u.clone(),
            b=None if self.b is None else self.b.clone(),
            c=None if self.c is None else self.c.clone(),
        )
        self.vA = torch.zeros_like(pre) if self.use_mom else None
        self.vb = (
            torch.zeros_like(self.u) if (self.use_mom and self.b is not None) else None
        )
        self.vu = (
            torch.zeros_like(self.u)
            if (self.use_mom and self.train_second_layer)
            else None
        )
        self.vc = (
            torch.zeros_like(self.C)
            if (self.use_mom and self.train_second_layer and self.c is not None)
            else None
        )
        self.h, self.A = self._buffers(E)
        self.ZtA = {}
        self.nyo = self.neg_margin = None
        self.cols = slice(offset, offset + E)
        self.one_block = len(self.blocks) == 1

    @property
    def active(self) -> int:
        return self.ids.numel()

    def _buffers(self, Ea):
        """Work arrays reused at every step (no allocation, hence no page faults, in the
        loop)."""
        shape = (self.n, Ea, self.m)
        return (
            torch.empty(shape, dtype=self.dt, device=self.dev),
            torch.empty(shape, dtype=self.dt, device=self.dev),
        )

    # --- the operations ---------------------------------------------------------------
    def evaluate(self, t: int):
        """Loss and margin of the active members at evaluation t, recorded; returns
        which keep training.

        A member keeps training while −∞ < margin < target (NaN fails both: it
        diverged); ``None`` means all of them.
        """
        h = torch.clamp_min(self.pre, 0.0, out=self.h)  # σ(pre)
        out = torch.linalg.vecdot(h, self.u)
        if self.c is not None:
            out = out + self.c
        nyo = self.nyo = self.neg_y * out  # −y_j N(x_j), (n, Ea)
        neg_margin = self.neg_margin = torch.amax(nyo, 0)
        cols = self.cols if self.full_set else self.offset + self.ids
        self.history.record(t, cols, neg_margin, nyo=nyo, negated=True)
        lo, hi = torch.aminmax(
            neg_margin
        )  # one check for all members, a mask only when needed
        if float(lo) > -self.target_margin and float(hi) < math.inf:
            return None
        return (neg_margin > -self.target_margin) & (neg_margin < math.inf)

    def min_margin(self) -> float:
        return -float(self.neg_margin.max())

    def retire(self, stop: torch.Tensor, t: int) -> None:
        """Members ``stop`` (bool over the active ones) leave: state written back,
        history told."""
        gi = self.ids[stop]
        out = self.out
        out["alpha"][:, gi] = self.alpha[:, stop]
        out["C"][gi] = self.C[stop]
        out["u"][gi] = self.u[stop]
        for name in ("b", "c"):
            if out[name] is not None:
                out[name][gi] = getattr(self, name)[stop]
        nm = self.neg_margin[stop]
        self.history.stop(
            self.offset + gi, t, diverged=torch.isnan(nm) | (nm == math.inf)
        )
        self.compact(~stop)

    def compact(self, keep: torch.Tensor) -> None:
        """Keep only the members ``keep`` (bool over the active ones) in every per-
        member array."""
        self.ids = self.ids[keep]
        self.full_set = False
        if self.ids.numel() == 0:
            return
        for name in ("pre", "nyo", "neg_y", "alpha", "vA"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value[:, keep])
        for name in ("C", "u", "b", "c", "vb", "vu", "vc"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value[keep])
        self.neg_y_scaled = self.scale * self.neg_y
        h_old = self.h[:, keep]
        self.h, self.A = self._buffers(self.ids.numel())
        self.h.copy_(h_old)
        del h_old
        self.blocks = task_blocks(self.task[self.ids], len(self.data))
        self.one_block = len(self.blocks) == 1
        self.ZtA = {}

    @property
    def done(self) -> bool:
        return self.ids.numel() == 0

    def step(self) -> None:
        """One step of every active member (gd, sgd or momentum): pre, α, C, u, b, c."""
        n, m, lr, decay = self.n, self.m, self.lr, self.decay
        Ea = self.ids.numel()
        h, A, u = self.h, self.A, self.u
        g = self.neg_y_scaled * torch.sigmoid(self.nyo)  # dL/dN(x_j), (n, Ea)
        if self.minibatch:
            idx = self.draw()[self.ids]  # (Ea, batch)
            g = (
                g
                * torch.zeros(Ea, n, dtype=self.dt, device=self.dev)
                .scatter_(1, idx, 1.0)
                .T
            )
        # A = ∂L/∂(w_i·x_j) = g_j u_i 1[pre > 0], (n, Ea, m); sign(σ(pre)) is exactly
        # that indicator.
        torch.sign(h, out=A)
        A.mul_(g[:, :, None]).mul_(u)
        db = A.sum(0) if self.b is not None else None
        du = torch.einsum("ne,nem->em", g, h) if self.train_second_layer else None
        dc = g.sum(0) if (self.train_second_layer and self.c is not None) else None
        if self.use_mom:
            self.vA.mul_(self.momentum).add_(A)
            step = self.vA
            if self.vb is not None:
                self.vb = self.momentum * self.vb + db
                db = self.vb
            if self.vu is not None:
                self.vu = self.momentum * self.vu + du
                du = self.vu
            if self.vc is not None:
                self.vc = self.momentum * self.vc + dc
                dc = self.vc
        else:
            step = A
        flat, pflat = step.view(n, Ea * m), self.pre.view(n, Ea * m)
        # pre ← decay·pre − η K A  (K = Gram matrix, or Z (Zᵀ A) in the data's r
        # coordinates), per
        # task, in place: one BLAS call C ← βC + αAB.
        for tk, lo, hi in self.blocks:
            mode, K, r = self.data[tk][2]
            if self.one_block:
                p_t, s_t = pflat, flat
            else:
                cols = slice(lo * m, hi * m)
                p_t, s_t = pflat[:, cols], flat[:, cols]
            if mode == "gram":
                p_t.addmm_(K, s_t, beta=decay, alpha=-lr)
            else:
                if tk not in self.ZtA:
                    self.ZtA[tk] = torch.empty(
                        r, (hi - lo) * m, dtype=self.dt, device=self.dev
                    )
                torch.mm(K.T, s_t, out=self.ZtA[tk])
                p_t.addmm_(K, self.ZtA[tk], beta=decay, alpha=-lr)
        if decay != 1.0:
            self.alpha.mul_(decay)
            self.C = self.C * decay
        self.alpha.add_(step, alpha=-lr)
        if self.b is not None:
            self.pre.sub_(lr * db)
            self.b = decay * self.b - lr * db
        if self.train_second_layer:
            self.u = decay * u - lr * du
            if self.c is not None:
                self.c = decay * self.c - lr * dc

    def finish(self, dst) -> None:
        """Write every member's W = C·W(start) + αᵀX, u, b and c into ``dst`` (views of
        the outputs)."""
        if self.ids.numel():  # members that ran to max_steps
            everyone = torch.ones(self.ids.numel(), dtype=torch.bool, device=self.dev)
            gi, out = self.ids, self.out
            out["alpha"][:, gi] = self.alpha
            out["C"][gi] = self.C
            out["u"][gi] = self.u
            for name in ("b", "c"):
                if out[name] is not None:
                    out[name][gi] = getattr(self, name)
            del everyone
        self.pre = self.alpha = self.h = self.A = self.vA = self.nyo = None
        n, m, d = self.n, self.m, self.d
        alpha_all = self.out["alpha"]
        W = dst.W
        for t, lo, hi in task_blocks(self.task, len(self.data)):
            X = self.data[t][0]
            torch.mm(
                alpha_all[:, lo:hi].reshape(n, (hi - lo) * m).T,
                X,
                out=W[lo:hi].view((hi - lo) * m, d),
            )
        W.addcmul_(self.out["C"][:, None, None], self.src.W)
        dst.u.copy_(self.out["u"])
        for name in ("b", "c"):
            if self.out[name] is not None:
                getattr(dst, name).copy_(self.out[name])
        self.out = None
