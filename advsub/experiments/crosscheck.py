"""An independent check of the book's attacks with a maintained attack library (foolbox
3).

:func:`library_attack` runs foolbox's minimum-norm ℓ2 attacks
{cite:p}`rauber2017foolbox` on an advsub network, one ensemble member at a time, either
in all of R^d or restricted to P⊥ by attacking the map c ↦ N(x0 + C c) of the ℓ
orthogonal coordinates (C = ``subspace.orth_basis``). foolbox sees a classifier with the
two logits (−N, N) and unbounded inputs, ``bounds=(-inf, inf)``. Every returned point is
re-checked in the network's own dtype: a perturbation counts only if it really flips the
sign of N.

foolbox is a test dependency (``pip install advsub[test]``); it is imported on first
use.
"""

from __future__ import annotations

import math

import torch

from .._validation import check_choice, check_int, check_net_points
from ..geometry import Subspace
from ..network import EnsembleNet

__all__ = ["library_attack"]

ATTACKS = {"deepfool", "fmn"}


class _Logits(torch.nn.Module):
    """Member e of ``net`` as a two-class classifier:
    x ↦ (−N(x0 + C x), N(x0 + C x))."""

    def __init__(self, net, e, x0=None, C=None):
        super().__init__()
        self.net, self.e, self.x0, self.C = net, e, x0, C

    def forward(self, inp):
        x = inp if self.C is None else self.x0 + inp @ self.C.T
        if self.x0 is not None and inp.shape[0] != self.x0.shape[0]:
            raise RuntimeError(
                f"expected the batch of {self.x0.shape[0]} points, got {inp.shape[0]}"
            )
        out = self.net._forward(x)[self.e]
        return torch.stack([-out, out], dim=1)


def _run(fb, module, inp, labels, attack, steps):
    model = fb.PyTorchModel(
        module.eval(), bounds=(-math.inf, math.inf), device=inp.device
    )
    deepfool = fb.attacks.L2DeepFoolAttack(steps=steps, candidates=None, overshoot=0.02)
    _, adv, _ = deepfool(model, inp, labels, epsilons=None)
    if attack == "fmn":
        # FMN's steps are absolute lengths: scale them to the DeepFool distances
        # (unbounded inputs
        # have no natural scale), and start from the DeepFool points.
        dist = (adv - inp).norm(dim=1)
        finite = dist[torch.isfinite(dist) & (dist > 0)]
        scale = float(finite.median()) if finite.numel() else 1.0
        fmn = fb.attacks.L2FMNAttack(steps=steps, max_stepsize=0.1 * scale)
        _, adv2, _ = fmn(model, inp, labels, epsilons=None, starting_points=adv)
        adv = torch.where(((adv2 - inp).norm(dim=1) < dist)[:, None], adv2, adv)
    return adv


def library_attack(
    net: EnsembleNet,
    x,
    subspace: Subspace | None = None,
    *,
    attack: str = "deepfool",
    steps: int = 50,
):
    """foolbox's minimum-norm ℓ2 attack on every member: (z (E, n, d), size (E, n),
    flipped (E, n)).

    Parameters
    ----------
    net : EnsembleNet
    x : tensor (n, d)
        Points attacked (in P when ``subspace`` is given).
    subspace : Subspace or None
        Restrict the perturbation to P⊥ (attack the orthogonal coordinates), or attack
        in R^d.
    attack : {"deepfool", "fmn"}
        ``"deepfool"``: ``L2DeepFoolAttack`` (overshoot 0.02). ``"fmn"``: DeepFool, then
        ``L2FMNAttack`` started from its points, keeping the smaller of the two.
    steps : int
        Iterations of each foolbox attack.

    Returns
    -------
    z : tensor (E, n, d)
        foolbox's perturbation (in P⊥ when restricted).
    size : tensor (E, n)
        ‖z‖, or ``inf`` where z does not flip the sign of N (checked in the network's
        dtype).
    flipped : tensor (E, n), bool
    """
    import foolbox as fb

    if not isinstance(net, EnsembleNet):
        raise TypeError(
            "net must be an advsub network (TwoLayerReLU, DeepReLU, ...), got "
            f"{type(net).__name__}"
        )
    attack = check_choice("attack", attack, ATTACKS)
    steps = check_int("steps", steps, low=1)
    if subspace is not None and not isinstance(subspace, Subspace):
        raise TypeError(
            f"subspace must be a Subspace or None, got {type(subspace).__name__}"
        )
    x = check_net_points("x", x, net, subspace=subspace)
    if x.ndim != 2:
        raise ValueError(
            "x must have shape (n, d) (the same points for every member), got shape "
            f"{tuple(x.shape)}"
        )
    C = None if subspace is None else subspace.orth_basis.to(net.device, net.dtype)
    out = net._forward(x)  # (E, n)
    zs = []
    for e in range(net.ensemble):
        labels = (out[e] > 0).long()
        if C is None:
            adv = _run(fb, _Logits(net, e), x, labels, attack, steps)
            zs.append(adv - x)
        else:
            coords = torch.zeros(x.shape[0], C.shape[1], dtype=x.dtype, device=x.device)
            adv = _run(fb, _Logits(net, e, x, C), coords, labels, attack, steps)
            zs.append(adv @ C.T)
    z = torch.stack(zs).detach()
    s = torch.where(out >= 0, 1.0, -1.0).to(out.dtype)
    flipped = (s * net._forward(x + z) < 0) & torch.isfinite(z).all(-1)
    size = torch.where(flipped, z.norm(dim=-1), torch.full_like(out, math.inf))
    return z, size, flipped
