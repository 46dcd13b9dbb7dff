"""Training: first-order methods on the logistic loss, all ensemble members at once.

The loss of member e is the mean logistic loss::

    L_e = (1/n) Σ_j log(1 + exp(−y_j N_e(x_j))),

and its gradients are computed in closed form (no autograd)::

    ∂L/∂w_i = (1/n) Σ_j g_j u_i 1[w_i·x_j + b_i > 0] x_j,   g_j = −y_j σ(−y_j N(x_j)),

so every update of w_i is a combination of training points — the engine of the
invariance lemma. Weight decay λ is applied as w ← (1 − ηλ) w before the step
(decoupled), which for GD and SGD is exactly the gradient of (λ/2)‖w‖² and keeps
Π w(t) = (1 − ηλ)^t Π w(0) exact for GD, SGD and momentum alike.

A member stops updating as soon as its minimum margin min_j y_j N(x_j) reaches
``target_margin`` (the paper's stopping rule).

Because every update is a combination of training points, GD, SGD and momentum are run
by default in the data's own coordinates (the *reduced path*): with
w_i(t) = C(t) w_i(0) + Σ_j α_ij(t) x_j exactly, the pre-activations at the training
points are updated through the n × n Gram matrix (or a rank-r factor of it, r = dim
span(x_1..x_n) ≤ d − ℓ), at a cost per step ∝ n·m·min(n, 2r) instead of n·m·d, and W is
mapped back to R^d once at the end. It gives the full-space result to rounding
(``reduced=False`` forces the full loop; Adam always uses it). :func:`train_sweep`
trains a list of configurations with one call and one progress bar.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ._validation import check_choice, check_float, check_int, check_labels, check_tensor, check_seed
from .network import TwoLayerReLU

__all__ = ["train", "train_sweep", "TrainingHistory", "logistic_loss", "data_coordinates"]

OPTIMIZERS = {"gd", "sgd", "momentum", "adam"}
REDUCED_OPTIMIZERS = {"gd", "sgd", "momentum"}  # updates are combinations of the training points
DEFAULT_MEMORY_BUDGET = 4 * 2**30  # bytes of working memory per call of train


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


# --- the reduced (exact, fast) path ---------------------------------------------------------
#
# For GD, SGD and momentum (with decoupled weight decay, biases, a trained second layer)
# every update of w_i is a combination of the training points, so after any number of steps
#     w_i(t) = C(t) w_i(0) + Σ_j α_ij(t) x_j,      C(t) = (1 − ηλ)^t,
# exactly, whatever the data. The pre-activations at the training points then evolve as
#     pre(t+1) = (1 − ηλ) pre(t) − η (K A(t) + δb(t)),      K = X Xᵀ  (n × n),
# where A_ji = ∂L/∂(w_i·x_j) is the step direction in coefficient form. Nothing of size d is
# touched inside the loop: the cost per step is 2·n·m·n flops per member with the Gram
# matrix, or 4·n·m·r with a factor K = Z Zᵀ of rank r = dim span(x_1..x_n) ≤ min(n, d − ℓ)
# (the data's own coordinates), whichever is cheaper. W is mapped back to R^d once at the end.


def _low_rank_factor(K: torch.Tensor, rtol: float = 1e-13):
    """Z (p, r) with K = Z Zᵀ to 1e-12 relative (pivoted Cholesky), or None if K has full rank."""
    from scipy.linalg import lapack

    K64 = K.detach().to("cpu", torch.float64).numpy()
    p = K64.shape[0]
    scale = float(K64.diagonal().max()) if p else 0.0
    if scale <= 0:
        return None
    c, piv, rank, info = lapack.dpstrf(K64, lower=1, tol=rtol * scale)
    if info < 0 or rank >= p:
        return None
    import numpy as np

    Z = np.zeros((p, rank))
    Z[piv - 1] = np.tril(c)[:, :rank]
    Zt = torch.from_numpy(Z)
    K64t = torch.from_numpy(K64)
    if float(torch.linalg.matrix_norm(K64t - Zt @ Zt.T)) > 1e-12 * float(torch.linalg.matrix_norm(K64t)):
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
        ``"gram"``: the Gram matrix X Xᵀ, shape (n, n). ``"coords"``: Z, shape (n, r), with
        Z Zᵀ = X Xᵀ to 1e-12 relative and r = rank(X) < n/2 (the data's own r coordinates;
        r ≤ d − ℓ for data in P).
    rank : int
        n for ``"gram"``, r for ``"coords"``.

    The choice minimises the per-step cost: 2n² (Gram) against 4nr (coordinates) flops per
    neuron, so coordinates are used when 2r < n.
    """
    n, d = X.shape
    X64 = X.to(torch.float64)
    Z = None
    if n <= d:
        G64 = X64 @ X64.T
        Z = _low_rank_factor(G64) if n >= 4 else None
    else:  # fewer coordinates than points: factor the d × d matrix Xᵀ X instead
        F = _low_rank_factor(X64.T @ X64)
        if F is None:
            Z = X64  # full rank d < n: the canonical coordinates are exact
        else:
            Q = torch.linalg.qr(F.to(X.device))[0]  # (d, r) orthonormal basis of the row space
            Zq = X64 @ Q
            if float((X64 - Zq @ Q.T).norm()) <= 1e-12 * float(X64.norm()):
                Z = Zq
        G64 = None
    if Z is not None and 2 * Z.shape[1] < n:
        return "coords", Z.to(X.device, X.dtype).contiguous(), int(Z.shape[1])
    if G64 is None:
        G64 = X64 @ X64.T
    return "gram", G64.to(X.dtype), n


def _bytes_per_member(path, n, m, d, batch, optimizer, itemsize):
    """Working memory of one member inside the training loop (the net's own tensors excluded)."""
    if path == "reduced":
        words = 12 * n * m + 5 * m * d + (n * m if optimizer == "momentum" else 0)
    else:
        words = 5 * n * m + 4 * m * d + (batch or 0) * d + (2 * m * d if optimizer in ("momentum", "adam") else 0)
    return words * itemsize


def _sub_net(net, lo, hi):
    """Members lo..hi−1 of ``net`` as a TwoLayerReLU sharing nothing with it."""
    new = object.__new__(type(net))
    new.__dict__.update(net.__dict__)
    new.ensemble = hi - lo
    for name in ("W", "u", "b"):
        t = getattr(net, name)
        setattr(new, name, None if t is None else t[lo:hi].clone())
    new.W0 = None  # not used by the training loops
    return new


def _run_full(net, X, y, *, optimizer, lr, weight_decay, target_margin, max_steps, batch_size,
              train_second_layer, momentum, draw, bar):
    """The full-space loop on ``net`` (any optimizer): returns (losses, margins, steps)."""
    names = ["W"] + (["b"] if net.b is not None else []) + (["u"] if train_second_layer else [])
    state = {k: torch.zeros_like(getattr(net, k)) for k in names}  # momentum buffer / Adam first moment
    state2 = {k: torch.zeros_like(getattr(net, k)) for k in names} if optimizer == "adam" else {}
    E, n = net.ensemble, X.shape[0]
    running = torch.ones(E, dtype=torch.bool, device=net.device)
    steps = torch.zeros(E, dtype=torch.int64, device=net.device)
    losses, margins = [], []
    for t in range(max_steps):
        out = net._forward(X)
        loss, margin = logistic_loss(out, y), (y * out).min(dim=1).values
        losses.append(loss)
        margins.append(margin)
        running &= margin < target_margin
        if not bool(running.any()):
            break
        idx = draw() if (optimizer == "sgd" and batch_size < n) else None
        grads = _loss_gradients(net, X, y, idx, train_second_layer)
        mask = running.to(net.dtype)
        for k in names:
            setattr(net, k, _optimizer_update(getattr(net, k), grads[k], k, state, state2, mask, steps,
                                              optimizer=optimizer, lr=lr, weight_decay=weight_decay, momentum=momentum))
        steps += running.to(torch.int64)
        bar.update(1)
        if t % 50 == 0:
            bar.set_postfix(running=int(running.sum()), min_margin=f"{float(margin.min()):.3f}")
    out = net._forward(X)
    return losses, margins, steps, logistic_loss(out, y), (y * out).min(dim=1).values


def _optimizer_update(p, gk, k, state, state2, mask, steps, *, optimizer, lr, weight_decay, momentum):
    """One step of the chosen optimizer on parameter ``p`` (leading axis = members), masked per member.

    Decoupled weight decay p ← (1 − ηλ) p, then the step: the gradient (gd, sgd), the
    heavy-ball buffer (momentum, torch.optim.SGD convention), or Adam's bias-corrected
    ratio with each member's own step count. ``state``/``state2`` (indexed by ``k``: dicts or lists)
    are updated in place for the running members only. Returns the new ``p``.
    """
    shape = (p.shape[0],) + (1,) * (p.ndim - 1)
    mk = mask.view(shape)
    if optimizer in ("gd", "sgd"):
        step = gk
    elif optimizer == "momentum":
        state[k] = torch.where(mk.bool(), momentum * state[k] + gk, state[k])
        step = state[k]
    else:  # adam, bias-corrected per member by its own step count
        state[k] = torch.where(mk.bool(), 0.9 * state[k] + 0.1 * gk, state[k])
        state2[k] = torch.where(mk.bool(), 0.999 * state2[k] + 0.001 * gk * gk, state2[k])
        tt = (steps + 1).to(p.dtype).view(shape)
        mhat = state[k] / (1 - 0.9**tt)
        vhat = state2[k] / (1 - 0.999**tt)
        step = mhat / (vhat.sqrt() + 1e-8)
    return (1 - lr * weight_decay * mk) * p - lr * mk * step


def _blocks(task_ids, T_count):
    """[(t, lo, hi)]: the contiguous member range of each task present in the sorted ``task_ids``."""
    counts = torch.bincount(task_ids.cpu(), minlength=T_count).tolist()
    out, lo = [], 0
    for t, k in enumerate(counts):
        if k:
            out.append((t, lo, lo + k))
            lo += k
    return out


def _run_reduced(net, data, task, *, optimizer, lr, weight_decay, target_margin, max_steps, batch_size,
                 train_second_layer, momentum, draw, bar):
    """The reduced loop (gd, sgd, momentum) on ``net``: same contract as :func:`_run_full`.

    ``data`` is a list of (X_t, y_t, coords_t), one per task (all with n points), and
    ``task`` (E,) the task of each member, non-decreasing: members of different tasks
    (different data) train together, each against its own Gram matrix.
    """
    E, m, d = net.W.shape
    n = data[0][0].shape[0]
    dev, dt = net.device, net.dtype
    c = 1.0 - lr * weight_decay
    W_start = net.W
    blocks = _blocks(task, len(data))
    pre = torch.empty(n, E, m, dtype=dt, device=dev)  # w_i·x_j + b_i, layout (n, E, m)
    for t, lo, hi in blocks:
        pre[:, lo:hi] = (data[t][0] @ W_start[lo:hi].reshape((hi - lo) * m, d).T).view(n, hi - lo, m)
    if net.b is not None:
        pre += net.b
    neg_y = torch.cat([-data[t][1][:, None].expand(n, hi - lo) for t, lo, hi in blocks], dim=1)  # (n, E)
    ids = torch.arange(E, device=dev)  # members still training
    full_set = True  # ids == arange(E): no member has stopped yet
    u, b = net.u.clone(), None if net.b is None else net.b.clone()
    u_all, b_all = u.clone(), None if b is None else b.clone()
    alpha = torch.zeros_like(pre)  # w_i = C·w_i(start) + Σ_j alpha[j, e, i] x_j
    alpha_all = torch.zeros_like(pre)
    C = torch.ones(E, dtype=dt, device=dev)
    C_all = C.clone()
    use_mom = optimizer == "momentum"
    vA = torch.zeros_like(pre) if use_mom else None
    vb = torch.zeros_like(u) if (use_mom and b is not None) else None
    vu = torch.zeros_like(u) if (use_mom and train_second_layer) else None
    hist_loss = torch.empty(max_steps, E, dtype=dt, device=dev)
    hist_margin = torch.empty(max_steps, E, dtype=dt, device=dev)
    stopped_at = torch.full((E,), -1, dtype=torch.int64, device=dev)
    scale = 1.0 / (batch_size if optimizer == "sgd" else n)
    minibatch = optimizer == "sgd" and batch_size < n
    neg_y_scaled = scale * neg_y
    T = 0

    def retire(sel):
        """Write the state of the local members ``sel`` (bool) back."""
        gi = ids[sel]
        alpha_all[:, gi] = alpha[:, sel]
        C_all[gi] = C[sel]
        u_all[gi] = u[sel]
        if b is not None:
            b_all[gi] = b[sel]

    def buffers(Ea):
        """Work arrays reused at every step (no allocation, hence no page faults, in the loop)."""
        shape = (n, Ea, m)
        return torch.empty(shape, dtype=dt, device=dev), torch.empty(shape, dtype=dt, device=dev)

    h, A = buffers(E)
    ZtA = {}
    for t in range(max_steps):
        T = t + 1
        torch.clamp_min(pre, 0.0, out=h)  # σ(pre)
        nyo = neg_y * torch.linalg.vecdot(h, u)  # −y_j N(x_j), (n, Ea)
        if full_set:  # written straight into the history
            loss = torch.mean(torch.nn.functional.softplus(nyo), 0, out=hist_loss[t])
            margin = torch.neg(torch.amax(nyo, 0), out=hist_margin[t])
        else:
            loss = torch.nn.functional.softplus(nyo).mean(0)
            margin = -torch.amax(nyo, 0)
            hist_loss[t, ids] = loss
            hist_margin[t, ids] = margin
        stop = margin >= target_margin
        if bool(stop.any()):
            retire(stop)
            stopped_at[ids[stop]] = t
            keep = ~stop
            ids = ids[keep]
            full_set = False
            if ids.numel() == 0:
                break
            pre, nyo, neg_y, alpha, C, u = pre[:, keep], nyo[:, keep], neg_y[:, keep], alpha[:, keep], C[keep], u[keep]
            neg_y_scaled = scale * neg_y
            if b is not None:
                b = b[keep]
            if use_mom:
                vA = vA[:, keep]
                vb = None if vb is None else vb[keep]
                vu = None if vu is None else vu[keep]
            h_old = h[:, keep]
            h, A = buffers(ids.numel())
            h.copy_(h_old)
            del h_old
            blocks = _blocks(task[ids], len(data))
            ZtA = {}
        Ea = ids.numel()
        g = neg_y_scaled * torch.sigmoid(nyo)  # dL/dN(x_j), (n, Ea)
        if minibatch:
            idx = draw()[ids]  # (Ea, batch)
            g = g * torch.zeros(Ea, n, dtype=dt, device=dev).scatter_(1, idx, 1.0).T
        # A = ∂L/∂(w_i·x_j) = g_j u_i 1[pre > 0], (n, Ea, m); sign(σ(pre)) is exactly that indicator.
        torch.sign(h, out=A)
        A.mul_(g[:, :, None]).mul_(u)
        db = A.sum(0) if b is not None else None
        du = torch.einsum("ne,nem->em", g, h) if train_second_layer else None
        if use_mom:
            vA.mul_(momentum).add_(A)
            step = vA
            if vb is not None:
                vb = momentum * vb + db
                db = vb
            if vu is not None:
                vu = momentum * vu + du
                du = vu
        else:
            step = A
        flat, pflat = step.view(n, Ea * m), pre.view(n, Ea * m)
        # pre ← c·pre − η K A  (K = Gram matrix, or Z (Zᵀ A) in the data's r coordinates), per task,
        # in place: one BLAS call C ← βC + αAB.
        for tk, lo, hi in blocks:
            mode, K, r = data[tk][2]
            cols = slice(lo * m, hi * m)
            if mode == "gram":
                pflat[:, cols].addmm_(K, flat[:, cols], beta=c, alpha=-lr)
            else:
                if tk not in ZtA:
                    ZtA[tk] = torch.empty(r, (hi - lo) * m, dtype=dt, device=dev)
                torch.mm(K.T, flat[:, cols], out=ZtA[tk])
                pflat[:, cols].addmm_(K, ZtA[tk], beta=c, alpha=-lr)
        if c != 1.0:
            alpha.mul_(c)
            C = C * c
        alpha.add_(step, alpha=-lr)
        if b is not None:
            pre.sub_(lr * db)
            b = c * b - lr * db
        if train_second_layer:
            u = c * u - lr * du
        bar.update(1)
        if t % 50 == 0:
            bar.set_postfix(running=Ea, min_margin=f"{float(margin.min()):.3f}")
    if ids.numel():
        retire(torch.ones(ids.numel(), dtype=torch.bool, device=dev))
    done = stopped_at >= 0
    steps = torch.where(done, stopped_at, torch.full_like(stopped_at, T))
    # Back to R^d: W = C·W(start) + αᵀ X, one matrix product per task.
    del alpha, pre, h, A, vA
    W_new = torch.empty_like(W_start)
    fl = torch.empty(E, dtype=dt, device=dev)
    fm = torch.empty(E, dtype=dt, device=dev)
    for t, lo, hi in _blocks(task, len(data)):
        X, y = data[t][0], data[t][1]
        W_new[lo:hi] = (alpha_all[:, lo:hi].reshape(n, (hi - lo) * m).T @ X).view(hi - lo, m, d)
    W_new.addcmul_(C_all[:, None, None], W_start)
    net.W, net.u, net.b = W_new, u_all, b_all
    del alpha_all
    # A stopped member is frozen: from its stopping step on, report its loss and margin
    # evaluated on the weights mapped back (the same state, computed directly), so that the
    # history, the final values and a fresh forward pass agree exactly.
    for t, lo, hi in _blocks(task, len(data)):
        X, y = data[t][0], data[t][1]
        sub = net if hi - lo == E else _sub_net(net, lo, hi)
        out = sub._forward(X)
        fl[lo:hi], fm[lo:hi] = logistic_loss(out, y), (y * out).min(dim=1).values
    hist_loss, hist_margin = hist_loss[:T], hist_margin[:T]
    if bool(done.any()):
        late = done[None, :] & (torch.arange(T, device=dev)[:, None] >= stopped_at[None, :])
        hist_loss = torch.where(late, fl, hist_loss)
        hist_margin = torch.where(late, fm, hist_margin)
    return list(hist_loss), list(hist_margin), steps, fl, fm


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
    reduced : bool or None
        Train in the data's own coordinates (see :func:`data_coordinates`): exact for
        "gd", "sgd" and "momentum" because every update of w_i is a combination of the
        training points, and cheaper by a factor of about d / min(n/2, rank X) per
        step. ``None`` (default) uses it whenever it is exact; ``True`` requires it
        (``ValueError`` for "adam", whose coordinate-wise scaling breaks the invariance);
        ``False`` forces the full-space loop. Both give the same weights and history to
        rounding (≤ 1e-9 relative in float64).
    memory_budget : float > 0
        Bytes of working memory the loop may use (the network's own tensors excluded);
        a larger ensemble is trained in consecutive chunks of members. Default 4 GiB.

    Returns
    -------
    TrainingHistory
    """
    from .deep import DeepReLU, train_deep  # deeper networks: autograd training with the same rules

    if isinstance(net, DeepReLU):
        if reduced:
            raise ValueError("reduced=True is implemented for TwoLayerReLU only; a DeepReLU trains in the full space")
        return train_deep(net, X, y, optimizer=optimizer, lr=lr, weight_decay=weight_decay, target_margin=target_margin,
                          max_steps=max_steps, batch_size=batch_size, train_second_layer=train_second_layer,
                          momentum=momentum, progress=progress, seed=seed)
    if not isinstance(net, TwoLayerReLU):
        raise TypeError(f"net must be a TwoLayerReLU or a DeepReLU, got {type(net).__name__}")
    kw = _check_train_args(net, X, y, optimizer=optimizer, lr=lr, weight_decay=weight_decay,
                           target_margin=target_margin, max_steps=max_steps, batch_size=batch_size,
                           train_second_layer=train_second_layer, momentum=momentum, seed=seed,
                           reduced=reduced, memory_budget=memory_budget)
    X, y = kw.pop("X"), kw.pop("y")
    return _train_checked(net, [(X, y)], torch.zeros(net.ensemble, dtype=torch.int64), progress=progress, **kw)


def _check_train_args(net, X, y, *, optimizer, lr, weight_decay, target_margin, max_steps, batch_size,
                      train_second_layer, momentum, seed, reduced, memory_budget) -> dict:
    """Validate the arguments of :func:`train` for a TwoLayerReLU; return them normalised."""
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
    seed = check_seed(seed) if seed is not None else 0
    if reduced is not None and not isinstance(reduced, bool):
        raise TypeError(f"reduced must be True, False or None, got {reduced!r}")
    if reduced and optimizer not in REDUCED_OPTIMIZERS:
        raise ValueError(
            f"reduced=True needs an optimizer whose updates are combinations of the training points "
            f"({sorted(REDUCED_OPTIMIZERS)}), got optimizer={optimizer!r}; use reduced=None or False"
        )
    memory_budget = check_float("memory_budget", memory_budget, low=0.0, low_inclusive=False)
    use_reduced = optimizer in REDUCED_OPTIMIZERS if reduced is None else reduced

    return dict(X=X, y=y, optimizer=optimizer, lr=lr, weight_decay=weight_decay, target_margin=target_margin,
                max_steps=max_steps, batch_size=batch_size, train_second_layer=train_second_layer,
                momentum=momentum, seed=seed, use_reduced=use_reduced, memory_budget=memory_budget)


def _train_checked(net, data, task, *, optimizer, lr, weight_decay, target_margin, max_steps, batch_size,
                   train_second_layer, momentum, seed, use_reduced, memory_budget, progress, desc=None):
    """The engine of :func:`train` and :func:`train_sweep` on validated arguments.

    ``data`` is a list of (X_t, y_t) with the same n; ``task`` (E,) the task of each member
    (non-decreasing). Several tasks need the reduced path; SGD draws are those of one task.
    """
    X, y = data[0]
    n = X.shape[0]
    E, m, d = net.ensemble, net.m, net.d
    path = "reduced" if use_reduced else "full"
    itemsize = torch.finfo(net.dtype).bits // 8
    per_member = _bytes_per_member(path, n, m, d, batch_size if optimizer == "sgd" else None, optimizer, itemsize)
    chunk = max(1, min(E, int(memory_budget // per_member)))
    bounds = [(lo, min(E, lo + chunk)) for lo in range(0, E, chunk)]
    coords = None
    if use_reduced:  # one factorisation per distinct data tensor
        cache = {}
        coords = [cache.setdefault(id(Xt), data_coordinates(Xt)) if id(Xt) not in cache else cache[id(Xt)] for Xt, _ in data]
    task = task.to(net.device)

    kw = dict(optimizer=optimizer, lr=lr, weight_decay=weight_decay, target_margin=target_margin,
              max_steps=max_steps, batch_size=batch_size, train_second_layer=train_second_layer, momentum=momentum)
    bar = tqdm(total=max_steps * len(bounds), disable=not progress, desc=desc or f"train[{optimizer}]", leave=False)
    parts = []
    for k, (lo, hi) in enumerate(bounds):
        # Minibatches: one (E, n) block of draws per step from a generator seeded with
        # ``seed``, the same whatever the chunking (each chunk replays it and keeps its rows).
        gen = torch.Generator(device="cpu").manual_seed(seed)

        def draw(lo=lo, hi=hi, gen=gen):
            r = torch.rand(E, n, generator=gen, dtype=torch.float64)[lo:hi]
            return r.argsort(dim=1)[:, :batch_size].to(net.device)

        sub = net if len(bounds) == 1 else _sub_net(net, lo, hi)
        if use_reduced:
            part = _run_reduced(sub, [(Xt, yt, ct) for (Xt, yt), ct in zip(data, coords)], task[lo:hi],
                                draw=draw, bar=bar, **kw)
        else:
            part = _run_full(sub, X, y, draw=draw, bar=bar, **kw)
        bar.update(max_steps * (k + 1) - bar.n)
        if len(bounds) > 1:
            for name in ("W", "u", "b"):
                t = getattr(net, name)
                if t is not None:
                    t[lo:hi] = getattr(sub, name)
        parts.append(part)
    bar.close()
    T = max(len(p[0]) for p in parts)
    pad = lambda rows: rows + [rows[-1]] * (T - len(rows))  # noqa: E731 - a stopped chunk keeps its last values
    loss = torch.cat([torch.stack(pad(p[0])) for p in parts], dim=1)
    margin = torch.cat([torch.stack(pad(p[1])) for p in parts], dim=1)
    steps = torch.cat([p[2] for p in parts])
    final_loss = torch.cat([p[3] for p in parts])
    final_margin = torch.cat([p[4] for p in parts])
    return TrainingHistory(
        loss=loss,
        margin=margin,
        steps=steps,
        reached=final_margin >= target_margin,
        final_loss=final_loss,
        final_margin=final_margin,
        target_margin=target_margin,
        optimizer=optimizer,
    )


def train_sweep(tasks, *, progress: bool = True, desc: str = "sweep", **train_kwargs) -> list[TrainingHistory]:
    """Train many configurations with one call and one progress bar.

    A sweep over ℓ, m, d, β, λ or seeds is a list of independent training problems, each
    an ensemble of networks with its data. With the reduced path (GD, momentum; the
    default) the tasks whose networks have the same shape (d, m, bias, dtype, device),
    whose data have the same number of points n and whose settings are equal are trained
    *together*, as one batched ensemble in which each member sees its own task's Gram
    matrix: one loop for the whole group instead of one per configuration. Other tasks
    (Adam, SGD, ``reduced=False``) are trained one after the other by :func:`train`.

    Parameters
    ----------
    tasks : sequence of (net, X, y) or (net, X, y, kwargs)
        Each net (a TwoLayerReLU) is trained in place on its own (X, y). ``kwargs`` (a
        dict) overrides ``train_kwargs`` for that task, e.g. ``{"weight_decay": 1e-2}``.
    progress : bool
        One tqdm bar over all networks of the sweep.
    desc : str
        Label of the bar.
    **train_kwargs
        Passed to :func:`train` (``lr`` and ``max_steps`` are required there).

    Returns
    -------
    list of TrainingHistory
        One per task, in order, as :func:`train` returns it for that task alone (equal to
        rounding, ≤ 1e-12 relative). SGD tasks are never grouped, so that their minibatch
        draws are those of their own call.

    Examples
    --------
    >>> tasks = []
    >>> for ell in (10, 50, 90):
    ...     P = Subspace.random(100, ell, seed=ell)
    ...     X, y = make_dataset(P, 50, seed=1)
    ...     tasks.append((TwoLayerReLU(100, 100, ensemble=20, seed=2), X, y))
    >>> histories = train_sweep(tasks, lr=0.5, max_steps=2000, progress=False)
    """
    if isinstance(tasks, (str, bytes)) or not hasattr(tasks, "__iter__"):
        raise TypeError(f"tasks must be a sequence of (net, X, y[, kwargs]) tuples, got {type(tasks).__name__}")
    tasks = list(tasks)
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    items = []
    for i, task in enumerate(tasks):
        if not isinstance(task, (tuple, list)) or len(task) not in (3, 4):
            raise TypeError(f"tasks[{i}] must be a tuple (net, X, y) or (net, X, y, kwargs), got {task!r:.80}")
        net, X, y = task[:3]
        extra = task[3] if len(task) == 4 else {}
        if not isinstance(extra, dict):
            raise TypeError(f"tasks[{i}][3] must be a dict of train() keyword arguments, got {type(extra).__name__}")
        kw = dict(train_kwargs, **extra)
        kw.pop("progress", None)
        if not isinstance(net, TwoLayerReLU):
            items.append((net, X, y, kw, None))  # e.g. a DeepReLU: train() dispatches it
            continue
        try:
            checked = _check_train_args(net, X, y, **{**_TRAIN_DEFAULTS, **kw})
        except TypeError as exc:
            if "unexpected keyword" in str(exc) or "missing" in str(exc):
                raise TypeError(f"tasks[{i}]: {exc}") from None
            raise
        items.append((net, X, y, kw, checked))
    groups: dict = {}
    for i, (net, X, y, kw, checked) in enumerate(items):
        if checked is None or not checked["use_reduced"] or checked["optimizer"] == "sgd":
            key = ("alone", i)
        else:
            settings = {k: v for k, v in checked.items() if k not in ("X", "y")}
            key = (net.d, net.m, net.has_bias, net.dtype, str(net.device), checked["X"].shape[0],
                   repr(sorted(settings.items())))
        groups.setdefault(key, []).append(i)
    # Split large groups: beyond ~2^20 pre-activations per step the work arrays leave the
    # cache and one batched loop is no faster than one loop per task.
    split = []
    for members in groups.values():
        part, size = [], 0
        for i in members:
            net, checked = items[i][0], items[i][4]
            cost = net.ensemble * net.m * (checked["X"].shape[0] if checked else 1)
            if part and size + cost > _SWEEP_GROUP_ELEMENTS:
                split.append(part)
                part, size = [], 0
            part.append(i)
            size += cost
        split.append(part)
    histories: list = [None] * len(items)
    bar = tqdm(total=sum(getattr(it[0], "ensemble", 1) for it in items), disable=not progress, desc=desc)
    for members in split:
        if len(members) == 1:
            net, X, y, kw, _ = items[members[0]]
            histories[members[0]] = train(net, X, y, progress=False, **kw)
            bar.update(getattr(net, "ensemble", 1))
            continue
        nets = [items[i][0] for i in members]
        checked = dict(items[members[0]][4])
        checked.pop("X"), checked.pop("y")
        big = object.__new__(type(nets[0]))
        big.__dict__.update(nets[0].__dict__)
        big.ensemble = sum(nt.ensemble for nt in nets)
        for name in ("W", "u", "b"):
            parts = [getattr(nt, name) for nt in nets]
            setattr(big, name, None if parts[0] is None else torch.cat(parts))
        big.W0 = None  # not used by the training loops
        data = [(items[i][4]["X"], items[i][4]["y"]) for i in members]
        task = torch.cat([torch.full((nt.ensemble,), k, dtype=torch.int64) for k, nt in enumerate(nets)])
        h = _train_checked(big, data, task, progress=False, **checked)
        lo = 0
        for i, nt in zip(members, nets):
            hi = lo + nt.ensemble
            for name in ("W", "u", "b"):
                if getattr(big, name) is not None:
                    setattr(nt, name, getattr(big, name)[lo:hi].clone())
            steps, reached = h.steps[lo:hi].clone(), h.reached[lo:hi].clone()
            # The rows this task alone would have recorded: until its last member stopped.
            T = int(steps.max()) + 1 if bool(reached.all()) and int(steps.max()) < h.loss.shape[0] else h.loss.shape[0]
            histories[i] = TrainingHistory(
                loss=h.loss[:T, lo:hi].clone(), margin=h.margin[:T, lo:hi].clone(), steps=steps, reached=reached,
                final_loss=h.final_loss[lo:hi].clone(), final_margin=h.final_margin[lo:hi].clone(),
                target_margin=h.target_margin, optimizer=h.optimizer,
            )
            lo = hi
        bar.update(big.ensemble)
    bar.close()
    return histories


_SWEEP_GROUP_ELEMENTS = 2**20
_TRAIN_DEFAULTS = dict(optimizer="gd", weight_decay=0.0, target_margin=0.3, batch_size=None, train_second_layer=False,
                       momentum=0.9, seed=None, reduced=None, memory_budget=DEFAULT_MEMORY_BUDGET)
