"""The library cross-check (chapter 06): foolbox against the book's attacks.

:func:`advsub.library_attack` starts foolbox's FMN attack from foolbox's own DeepFool
points, so it refines DeepFool. :func:`cold_fmn_attack` runs FMN from the clean point
(no starting point, no DeepFool), once per step length of a short ladder, and keeps the
smallest flip it finds: an attack that owes nothing to the book's or DeepFool's points.
:func:`library_crosscheck` runs the book's attacks, the warm and the cold library attack
on one ensemble, restricted to P⊥ and in all of R^d, and splits the smallest
unconstrained flip z into its parts in P and in P⊥.

foolbox is a test dependency (``pip install advsub[test]``), imported on first use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

import advsub

__all__ = ["CrossCheck", "cold_fmn_attack", "library_crosscheck"]


class _MemberLogits(torch.nn.Module):
    """Member e as a two-class classifier c ↦ (−N, N) at x0 + C c (C = None: at c)."""

    def __init__(self, net, e, x0=None, C=None):
        super().__init__()
        self.net, self.e, self.x0, self.C = net, e, x0, C

    def forward(self, inp):
        x = inp if self.C is None else self.x0 + inp @ self.C.T
        out = self.net(x)[self.e]
        return torch.stack([-out, out], dim=1)


def _check_net_points(net, x, subspace):
    if not isinstance(net, advsub.EnsembleNet):
        raise TypeError(
            "net must be an advsub network (TwoLayerReLU, DeepReLU), "
            f"got {type(net).__name__}"
        )
    if subspace is not None and not isinstance(subspace, advsub.Subspace):
        raise TypeError(
            f"subspace must be a Subspace or None, got {type(subspace).__name__}"
        )
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"x must be a torch.Tensor of shape (n, d), got {type(x).__name__}"
        )
    if x.ndim != 2 or x.shape[1] != net.d:
        raise ValueError(f"x must have shape (n, {net.d}), got shape {tuple(x.shape)}")
    return x.to(net.device, net.dtype)


def cold_fmn_attack(
    net, x, subspace=None, *, steps: int = 200, step_scales=(0.01, 0.03)
):
    """foolbox's ``L2FMNAttack`` from the clean points: (z (E, n, d), size (E, n)).

    FMN's step lengths are absolute; a cold start has no distance to scale them by, so
    FMN is run once for each ``step_scale`` × ‖x0‖ (median over the points) as its
    largest step and the smallest flip of the runs is kept (a restart ladder). With a
    ``subspace`` the attack acts on the orthogonal coordinates c of z = C c.
    Every point is re-checked in the network's dtype: ``size`` is ‖z‖ where
    N(x0 + z) has the opposite sign of N(x0), ``inf`` elsewhere (z = 0 there).

    Parameters
    ----------
    net : EnsembleNet
    x : tensor (n, d)
        Clean points (in P when ``subspace`` is given).
    subspace : Subspace or None
    steps : int
        FMN iterations per run.
    step_scales : sequence of positive floats
        Largest FMN step of each run, relative to the median ‖x0‖.
    """
    import foolbox as fb

    x = _check_net_points(net, x, subspace)
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise TypeError(f"steps must be an int, got steps={steps!r}")
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got steps={steps!r}")
    scales = np.asarray(step_scales, dtype=float) if len(step_scales) else np.zeros(0)
    if scales.ndim != 1 or scales.size == 0 or not np.all(scales > 0):
        raise ValueError(
            "step_scales must be a non-empty sequence of positive floats, "
            f"got step_scales={step_scales!r}"
        )
    C = None if subspace is None else subspace.orth_basis.to(net.device, net.dtype)
    out = net(x)
    sign = torch.where(out >= 0, 1.0, -1.0).to(out.dtype)
    unit = float(x.norm(dim=1).median())
    best = torch.full_like(out, math.inf)
    best_z = torch.zeros(*out.shape, net.d, dtype=net.dtype, device=net.device)
    for e in range(net.ensemble):
        labels = (out[e] > 0).long()
        if C is None:
            module, inp = _MemberLogits(net, e), x
        else:
            inp = torch.zeros(x.shape[0], C.shape[1], dtype=x.dtype, device=x.device)
            module = _MemberLogits(net, e, x, C)
        model = fb.PyTorchModel(
            module.eval(), bounds=(-math.inf, math.inf), device=x.device
        )
        for scale in scales:
            fmn = fb.attacks.L2FMNAttack(steps=steps, max_stepsize=float(scale) * unit)
            _, adv, _ = fmn(model, inp, labels, epsilons=None)
            z = (adv - inp).detach() if C is None else (adv - inp).detach() @ C.T
            flipped = (sign[e] * net(x + z)[e] < 0) & torch.isfinite(z).all(-1)
            size = torch.where(
                flipped, z.norm(dim=-1), torch.full_like(out[e], math.inf)
            )
            better = size < best[e]
            best[e] = torch.where(better, size, best[e])
            best_z[e] = torch.where(better[:, None], z, best_z[e])
    return best_z, best


@dataclass(frozen=True)
class CrossCheck:
    """Attack sizes on one ensemble, one value per (network, point): arrays (E·n,).

    Attributes
    ----------
    book, warm, cold : ndarray
        Smallest flip in P⊥ found by the book (``orthogonal_attack``), by foolbox's FMN
        started from its DeepFool points (``library_attack``) and by FMN from the clean
        point (:func:`cold_fmn_attack`); ``inf`` where none was found.
    book_free, cold_free : ndarray
        The book's (``unconstrained_attack``) and the cold library attack in all of R^d.
    free : ndarray
        The smaller of the two unconstrained flips, ‖z‖.
    orth_share : ndarray
        ‖Πz‖² / ‖z‖² of that smallest unconstrained flip z: the share of its squared
        norm in P⊥ (a random direction has ℓ/d on average).
    orth_part_flips, data_part_flips : ndarray of bool
        Whether x0 + Πz (only the P⊥ part of z) or x0 + (z − Πz) (only its P part)
        flips the point.
    in_orth : float
        max |projection on P| of the restricted library perturbations (0 up to
        rounding).
    ell, d : int
    """

    book: np.ndarray
    warm: np.ndarray
    cold: np.ndarray
    book_free: np.ndarray
    cold_free: np.ndarray
    free: np.ndarray
    orth_share: np.ndarray
    orth_part_flips: np.ndarray
    data_part_flips: np.ndarray
    in_orth: float
    ell: int
    d: int

    def weak(self, other: str, threshold: float = 0.99) -> float:
        """Fraction of points where attack ``other`` ("warm" or "cold") beats the book's
        P⊥ attack by more than 1 − ``threshold``."""
        if other not in ("warm", "cold"):
            raise ValueError(f"other must be 'warm' or 'cold', got other={other!r}")
        return float(np.mean(getattr(self, other) / self.book < threshold))


def library_crosscheck(
    net, x, subspace, *, steps: int = 200, step_scales=(0.01, 0.03)
) -> CrossCheck:
    """Run the book's, the warm and the cold library attacks on ``net`` at ``x`` (in P).

    ``net`` should be trained; ``x`` (n, d) are held-out points of P. See
    :class:`CrossCheck` for what is returned.
    """
    x = _check_net_points(net, x, subspace)
    if subspace is None:
        raise TypeError("subspace must be a Subspace, got None")
    _, book = advsub.orthogonal_attack(net, x, subspace)
    zw, warm, _ = advsub.library_attack(net, x, subspace, attack="fmn")
    _, cold = cold_fmn_attack(net, x, subspace, steps=steps, step_scales=step_scales)
    z_bf, book_free = advsub.unconstrained_attack(net, x)
    z_cf, cold_free = cold_fmn_attack(net, x, steps=steps, step_scales=step_scales)
    cold_wins = cold_free < book_free
    z = torch.where(cold_wins[..., None], z_cf, z_bf)
    free = torch.minimum(book_free, cold_free)
    C = subspace.orth_basis.to(net.device, net.dtype)
    z_orth = (z @ C) @ C.T
    sign = torch.where(net(x) >= 0, 1.0, -1.0)
    share = z_orth.pow(2).sum(-1) / z.pow(2).sum(-1)

    def flat(t):
        return t.detach().flatten().cpu().numpy()

    return CrossCheck(
        book=flat(book),
        warm=flat(warm),
        cold=flat(cold),
        book_free=flat(book_free),
        cold_free=flat(cold_free),
        free=flat(free),
        orth_share=flat(share),
        orth_part_flips=flat(sign * net(x + z_orth) < 0),
        data_part_flips=flat(sign * net(x + z - z_orth) < 0),
        in_orth=float(subspace.project(zw).abs().max()),
        ell=subspace.ell,
        d=net.d,
    )
