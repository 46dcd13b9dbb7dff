"""Weight decay under the paper's stopping rule, at any input scale (chapter 04).

Under decoupled weight decay the frozen orthogonal weights shrink by
(1 − ηλ)^t ≈ e^{−λτ}, where τ = ηt is the flow time training has run. With the paper's
stopping rule (stop at margin 0.3) τ is the flow time needed to reach the margin, and
that depends on the input scale: for a two-layer ReLU network without biases,
N_W(s·x) = N_{sW}(x), and the loss gradient in W carries a factor s, so small inputs
need a long flow time. :func:`stopping_sweep` measures it: the data of
:func:`advsub.regularisation.weight_decay_sweep` (same seeds, same points) rescaled to
norm ``scale``·√d.
"""

from __future__ import annotations

import math

import numpy as np

from ..attacks import orthogonal_lipschitz_constant
from ..geometry import Subspace, make_dataset
from ..network import TwoLayerReLU
from ..theory import weight_decay_factor
from ..training import train
from .attack_samples import attack_sample
from .regularisation import SweepPoint

__all__ = ["stopping_sweep"]


def stopping_sweep(
    weight_decays,
    *,
    d: int,
    ell: int,
    m: int,
    ensemble: int,
    scale: float = 1.0,
    n: int = 100,
    n_test: int = 100,
    lr: float = 0.5,
    max_steps: int = 3000,
    target_margin: float = 0.3,
    seed: int = 0,
) -> list[SweepPoint]:
    """One ensemble per λ, trained to the margin ``target_margin`` (or ``max_steps``).

    The data and networks of :func:`~advsub.regularisation.weight_decay_sweep` (seeds
    ``seed``, ``seed + 1``, ``seed + 2``), the points on the sphere of radius
    ``scale``·√d in P. Returns one :class:`~advsub.regularisation.SweepPoint` per λ
    (no attack: the universal step only).
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise TypeError(f"scale must be a number, got scale={scale!r}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got scale={scale!r}")
    P = Subspace.random(d, ell, seed=seed)
    X, y = make_dataset(
        P, n + n_test, seed=seed + 1, labels="linear", norm=scale * math.sqrt(d)
    )
    out = []
    for lam in weight_decays:
        net = TwoLayerReLU(d, m, ensemble=ensemble, seed=seed + 2)
        lip0 = orthogonal_lipschitz_constant(net, P).cpu().numpy()
        hist = train(
            net, X[:n], y[:n], lr=lr, weight_decay=lam, target_margin=target_margin,
            max_steps=max_steps, progress=False,
        )  # fmt: skip
        steps = hist.steps.cpu().numpy()
        out.append(
            SweepPoint(
                weight_decay=float(lam),
                steps=steps,
                reached=hist.reached.cpu().numpy(),
                margin=hist.final_margin.cpu().numpy(),
                factor=np.asarray(weight_decay_factor(lr, lam, steps), dtype=float),
                lipschitz0=lip0,
                sample=attack_sample(net, X[n:], P, y=y[n:], attack=False),
            )
        )
    return out
