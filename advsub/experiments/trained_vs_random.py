"""Trained versus random: what long training changes in the book's setting, and what
it cannot.

Random two-layer networks are already non-robust: one gradient step of size about
‖x‖/√d flips their sign (Bubeck et al. 2021). This module measures that at
initialisation, then trains the same networks for real on a learnable labelling (a
teacher that depends only on the P-coordinates) and follows, over training, what moves
(the P-part of the weights and of the input gradient, the output, the accuracy) and what
stays exactly where initialisation put it (Π W, hence the law of Π∇N(x0)).

Everything is float64 and seeded: the same seed gives the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import (
    Subspace,
    TwoLayerReLU,
    expected_orthogonal_gradient_norm,
    flip_along,
    invariance_deviation,
    logistic_loss,
    make_dataset,
    orthogonal_gradient,
    train,
)
from .._validation import check_float, check_int, check_net_points, check_seed
from ..attacks import restricted_attack

__all__ = [
    "TeacherTask",
    "teacher_task",
    "OneStepSample",
    "one_step_attack",
    "Checkpoint",
    "Trajectory",
    "training_trajectory",
    "first_margin_step",
    "NO_MARGIN_STOP",
]

# A target margin no run here reaches: train for exactly the steps asked.
NO_MARGIN_STOP = 1e12


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


# --- a learnable labelling that depends only on the P-coordinates -------------------
@dataclass
class TeacherTask:
    """Training and held-out data on P labelled by a two-layer ReLU teacher living in P.

    Attributes
    ----------
    subspace : Subspace
    teacher : TwoLayerReLU
        One network of width ``width`` whose rows lie in P (so its labels depend only on
        the P-coordinates of x) and whose second layer alternates ±1/√width.
    X, y : tensors (n, d), (n,)
        Training points (uniform on the sphere of radius √d in P) and teacher labels.
    X_test, y_test : tensors (n_test, d), (n_test,)
        Held-out points and labels, drawn the same way.
    """

    subspace: Subspace
    teacher: TwoLayerReLU
    X: torch.Tensor
    y: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor

    def labels(self, x) -> torch.Tensor:
        """The teacher's labels sign N_teacher(x) (sign 0 → +1): x (n, d) → (n,)."""
        return _teacher_labels(self.teacher, x)


def _teacher_labels(teacher: TwoLayerReLU, x) -> torch.Tensor:
    out = teacher(x)[0]
    return torch.where(out >= 0, 1.0, -1.0).to(out.dtype)


def teacher_task(
    d: int, ell: int, *, n: int, n_test: int, width: int = 4, seed: int
) -> TeacherTask:
    """A random subspace P (dim d − ℓ), a random teacher in P and data labelled by it.

    The teacher is N_T(x) = Σ_j a_j σ(v_j·x) with v_j = (I − Π) g_j, g_j ~ N(0, I_d/d),
    and a_j = ±1/√width alternating (``width`` even gives as many + as − units, so both
    labels are common). Training and held-out points are uniform on the sphere of radius
    √d in P.
    """
    d = check_int("d", d, low=2)
    ell = check_int("ell", ell, low=1, high=d - 1)
    n = check_int("n", n, low=1)
    n_test = check_int("n_test", n_test, low=1)
    width = check_int("width", width, low=1)
    seed = check_seed(seed)
    sub = [(seed + j) % 2**64 for j in range(4)]  # independent draws from one seed
    P = Subspace.random(d, ell, seed=sub[0])
    teacher = TwoLayerReLU(d, width, seed=sub[1])
    teacher.W = P.project(teacher.W)
    teacher.W0 = teacher.W.clone()
    signs = torch.tensor([(-1.0) ** j for j in range(width)], dtype=torch.float64)
    teacher.u = (signs / math.sqrt(width))[None, :]
    X, _ = make_dataset(P, n, seed=sub[2])
    X_test, _ = make_dataset(P, n_test, seed=sub[3])
    return TeacherTask(
        P,
        teacher,
        X,
        _teacher_labels(teacher, X),
        X_test,
        _teacher_labels(teacher, X_test),
    )


# --- one gradient step (Bubeck et al. 2021) -----------------------------------------
@dataclass
class OneStepSample:
    """Sizes of the one-gradient-step attack at every point of every member, (E, n).

    ``step_*`` is the exact smallest ‖z‖ with z along −sign(N(x))·g that flips N(x), for
    g = ∇N(x) (``full``), its part (I − Π)∇N(x) in P (``par``) and its part Π∇N(x) in P⊥
    (``orth``); ``inf`` where no step along that direction flips (or g = 0).

    Attributes
    ----------
    output : |N(x)|
    grad_norm, grad_par, grad_orth : ‖∇N(x)‖, ‖(I − Π)∇N(x)‖, ‖Π∇N(x)‖
    step_full, step_par, step_orth : exact one-step flipping sizes
    x_norm : ‖x‖, (E, n)
    d : int
    """

    output: np.ndarray
    grad_norm: np.ndarray
    grad_par: np.ndarray
    grad_orth: np.ndarray
    step_full: np.ndarray
    step_par: np.ndarray
    step_orth: np.ndarray
    x_norm: np.ndarray
    d: int

    @property
    def bubeck_scale(self) -> np.ndarray:
        """‖x‖/√d, the one-step size that Bubeck et al. (2021) predict: (E, n)."""
        return self.x_norm / math.sqrt(self.d)

    @property
    def linear_full(self) -> np.ndarray:
        """|N(x)|/‖∇N(x)‖, where the linearisation along ∇N reaches 0: (E, n)."""
        return _ratio(self.output, self.grad_norm)

    @property
    def linear_orth(self) -> np.ndarray:
        """|N(x)|/‖Π∇N(x)‖, the same along the orthogonal part Π∇N: (E, n)."""
        return _ratio(self.output, self.grad_orth)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.inf)


def _flip_sizes(
    net: TwoLayerReLU, x: torch.Tensor, direction: torch.Tensor
) -> np.ndarray:
    """flip_along for a direction per point (E, n, d); zero directions give inf."""
    zero = direction.norm(dim=-1) == 0
    safe = torch.where(zero[..., None], torch.ones_like(direction), direction)
    size, _ = flip_along(net, x, safe)
    return _np(torch.where(zero, torch.full_like(size, math.inf), size))


def one_step_attack(net: TwoLayerReLU, x, subspace: Subspace) -> OneStepSample:
    """The one-gradient-step attack of Bubeck et al. (2021): full, in P and in P⊥.

    Parameters
    ----------
    net : TwoLayerReLU
    x : tensor (n, d) or (E, n, d)
        Points of P.
    subspace : Subspace

    Returns
    -------
    OneStepSample
    """
    if not isinstance(net, TwoLayerReLU):
        raise TypeError(f"net must be a TwoLayerReLU, got {type(net).__name__}")
    if not isinstance(subspace, Subspace):
        raise TypeError(f"subspace must be a Subspace, got {type(subspace).__name__}")
    x = check_net_points("x", x, net, subspace=subspace)
    xe = x.expand(net.ensemble, -1, -1) if x.ndim == 2 else x
    out = net(xe)
    s = torch.where(out >= 0, 1.0, -1.0).to(out.dtype)[..., None]
    g = net.input_gradient(xe)
    g_orth = subspace.project_orth(g)
    g_par = g - g_orth
    return OneStepSample(
        output=_np(out.abs()),
        grad_norm=_np(g.norm(dim=-1)),
        grad_par=_np(g_par.norm(dim=-1)),
        grad_orth=_np(g_orth.norm(dim=-1)),
        step_full=_flip_sizes(net, xe, -s * g),
        step_par=_flip_sizes(net, xe, -s * g_par),
        step_orth=_flip_sizes(net, xe, -s * g_orth),
        x_norm=_np(xe.norm(dim=-1)),
        d=net.d,
    )


# --- training for real, with checkpoints --------------------------------------------
@dataclass
class Checkpoint:
    """The state of an ensemble after ``step`` steps of training (arrays over members
    (E,) or members × probe points (E, n_probe)).

    Attributes
    ----------
    step : int
    train_loss, train_acc, test_acc : (E,)
    p_movement : (E,)
        ‖(I − Π)(W − W0)‖_F / ‖(I − Π)W0‖_F: how far the P-part of the first layer
        moved.
    grad_p_movement : (E, n_probe)
        ‖(I − Π)(∇N_t(x0) − ∇N_0(x0))‖ / ‖(I − Π)∇N_0(x0)‖ at the probe points.
    invariance : float
        max |Cᵀ(w_i(t) − w_i(0))| over members, neurons and P⊥ coordinates (0 up to
        rounding).
    orth_grad, orth_grad_predicted : (E, n_probe)
        ‖Π∇N(x0)‖ and Theorem A's mean given k, β√(k/m)·E χ_ℓ.
    k : (E, n_probe)
        Active neurons at the probe points.
    one_step : OneStepSample
    deepfool_par, deepfool_orth : (E, n_probe) or None
        DeepFool restricted to P and to P⊥ (raw sizes, no universal fallback).
    teacher_kept : (E, n_probe) bool or None
        Whether the teacher's label at x0 + z equals its label at x0 for the DeepFool
        perturbation z in P (False where none was found): a flip of the student that
        the truth does not share. (In P⊥ the teacher's label never changes.)
    """

    step: int
    train_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    p_movement: np.ndarray
    grad_p_movement: np.ndarray
    invariance: float
    orth_grad: np.ndarray
    orth_grad_predicted: np.ndarray
    k: np.ndarray
    one_step: OneStepSample
    deepfool_par: np.ndarray | None
    deepfool_orth: np.ndarray | None
    teacher_kept: np.ndarray | None


@dataclass
class Trajectory:
    """A training run with checkpoints.

    Attributes
    ----------
    checkpoints : list of Checkpoint
    loss, margin : np.ndarray (T, E)
        Training loss and minimum margin before each of the T steps.
    net : TwoLayerReLU
        The trained ensemble (its ``W0`` is the initialisation).
    probe : torch.Tensor (n_probe, d)
        The held-out points of P where gradients and attacks are measured.
    """

    checkpoints: list
    loss: np.ndarray
    margin: np.ndarray
    net: TwoLayerReLU
    probe: torch.Tensor


def first_margin_step(margin: np.ndarray, target: float = 0.3) -> np.ndarray:
    """The first step at which each member's minimum margin reaches ``target`` (the
    paper's stopping rule), from a margin history (T, E); −1 where it never does."""
    margin = np.asarray(margin, dtype=float)
    if margin.ndim != 2:
        raise ValueError(f"margin must have shape (T, E), got shape {margin.shape}")
    target = check_float("target", target, low=0.0, low_inclusive=False)
    hit = margin >= target
    return np.where(hit.any(0), hit.argmax(0), -1)


def _checkpoint(
    net, task, probe, g0_par, step, deepfool, steps, overshoot
) -> Checkpoint:
    P = task.subspace
    out, out_t = net(task.X), net(task.X_test)
    C = P.orth_basis
    W_par, W0_par = P.project(net.W), P.project(net.W0)
    g = net.input_gradient(probe)
    g_par = g - P.project_orth(g)
    k = net.active(probe).sum(-1)
    og = orthogonal_gradient(net, probe, P).norm(dim=-1)
    predicted = expected_orthogonal_gradient_norm(_np(k), P.ell, net.m, net.beta)
    df_par = df_orth = kept = None
    if deepfool:
        z, size = restricted_attack(
            net, probe, P.basis, steps=steps, overshoot=overshoot
        )
        moved = task.labels((probe + z).reshape(-1, probe.shape[1])).view(size.shape)
        kept = _np((moved == task.labels(probe)) & torch.isfinite(size))
        df_par = _np(size)
        df_orth = _np(
            restricted_attack(net, probe, C, steps=steps, overshoot=overshoot)[1]
        )
    return Checkpoint(
        step=step,
        train_loss=_np(logistic_loss(out, task.y)),
        train_acc=_np((torch.sign(out) == task.y).to(out.dtype).mean(-1)),
        test_acc=_np((torch.sign(out_t) == task.y_test).to(out.dtype).mean(-1)),
        p_movement=_np((W_par - W0_par).norm(dim=(1, 2)) / W0_par.norm(dim=(1, 2))),
        grad_p_movement=_np((g_par - g0_par).norm(dim=-1) / g0_par.norm(dim=-1)),
        invariance=invariance_deviation(net, P),
        orth_grad=_np(og),
        orth_grad_predicted=np.asarray(predicted, dtype=float),
        k=_np(k),
        one_step=one_step_attack(net, probe, P),
        deepfool_par=df_par,
        deepfool_orth=df_orth,
        teacher_kept=kept,
    )


def training_trajectory(
    task: TeacherTask,
    *,
    m: int,
    ensemble: int,
    checkpoints,
    lr: float = 0.5,
    n_probe: int = 100,
    deepfool: bool = True,
    deepfool_steps: int = 50,
    overshoot: float = 0.02,
    seed: int,
) -> Trajectory:
    """Train ``ensemble`` networks of width m on ``task`` by full-batch GD and measure
    them at the given step counts (``checkpoints``, increasing, starting at 0 or later).

    Training never stops at a margin (each :func:`advsub.train` call runs exactly the
    steps between two checkpoints; :func:`advsub.train` resumes from the current
    weights, and plain GD has no optimizer state, so the chunks are one run). Standard
    initialisation β = 1/√d, fixed second layer, no biases: the book's setting.
    """
    if not isinstance(task, TeacherTask):
        raise TypeError(f"task must be a TeacherTask, got {type(task).__name__}")
    m = check_int("m", m, low=1)
    ensemble = check_int("ensemble", ensemble, low=1)
    n_probe = check_int("n_probe", n_probe, low=1, high=task.X_test.shape[0])
    lr = check_float("lr", lr, low=0.0, low_inclusive=False)
    if not isinstance(deepfool, bool):
        raise TypeError(f"deepfool must be True or False, got {deepfool!r}")
    steps_list = [check_int("checkpoints[i]", c, low=0) for c in checkpoints]
    if not steps_list or any(b <= a for a, b in zip(steps_list, steps_list[1:])):
        raise ValueError(
            f"checkpoints must be a non-empty increasing sequence, got {steps_list}"
        )
    net = TwoLayerReLU(task.X.shape[1], m, ensemble=ensemble, seed=check_seed(seed))
    probe = task.X_test[:n_probe]
    g0 = net.input_gradient(probe)
    g0_par = g0 - task.subspace.project_orth(g0)
    losses, margins, out, done = [], [], [], 0
    for step in steps_list:
        if step > done:
            h = train(
                net,
                task.X,
                task.y,
                lr=lr,
                max_steps=step - done,
                target_margin=NO_MARGIN_STOP,
                progress=False,
            )
            losses.append(_np(h.loss))
            margins.append(_np(h.margin))
            done = step
        out.append(
            _checkpoint(
                net, task, probe, g0_par, step, deepfool, deepfool_steps, overshoot
            )
        )
    empty = np.zeros((0, ensemble))
    return Trajectory(
        checkpoints=out,
        loss=np.concatenate(losses) if losses else empty,
        margin=np.concatenate(margins) if margins else empty,
        net=net,
        probe=probe,
    )
