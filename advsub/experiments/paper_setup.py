"""The paper's own toy experiments, trained exactly as its public code trains them.

The code of Melamed, Yehudai & Vardi (repository ``odeliamel/off-manifold-robustness``,
folders ``diagonal/`` and ``chess/``) trains
``nn.Linear(d, m) → ReLU → nn.Linear(m, 1)``
(biases in both layers, so an output bias too) with a sigmoid and ``nn.BCELoss``,
full-batch ``torch.optim.SGD(model.parameters(), lr, weight_decay)`` in float32,
one step per epoch, and stops as soon as the training margin min_j y_j N(x_j)
(output bias included) exceeds a target. "Small initialisation" divides *both weight
matrices* by a factor after PyTorch has drawn them; the biases keep PyTorch's default
draw.

* line (``diagonal/``, the paper's Figure 2): m = 100, first-layer weights N(0, 1/d),
  second-layer weights N(0, 1/m), default biases, lr 0.02, margin 0.3, 40 000 epochs.
* plane (``chess/``, Figure 3): m = 400, PyTorch's default layers (weights and biases
  U(−1/√fan_in, 1/√fan_in)), lr 0.05, margin 0.01, 100 000 epochs.

:func:`paper_runs` trains several such modules at once (batched, gradients written
out) and returns numpy results together with an exact float64 copy as a
:class:`~advsub.network.TwoLayerReLU`, so that the book's exact boundary functions
measure the paper's own networks. The copy carries the output bias
c as one extra constant neuron (w = 0, b = 1, u = c): σ(0·x + 1)·c = c everywhere, and
a neuron with zero input weight adds nothing to any input gradient or kink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..network import TwoLayerReLU
from .toydata import grid_plane_dataset, line_dataset

__all__ = [
    "PAPER",
    "PaperRun",
    "module_to_net",
    "paper_module",
    "paper_module_run",
    "paper_runs",
]

#: The hyper-parameters of the paper's code (argparse defaults of diagonal/train.py with
#: the one-hidden-layer model, and of chess/train.py with factor 1 and no regulariser).
PAPER = {
    "line": {"width": 100, "lr": 0.02, "target_margin": 0.3, "max_steps": 40_000},
    "plane": {"width": 400, "lr": 0.05, "target_margin": 0.01, "max_steps": 100_000},
}


def paper_module(
    name: str, *, factor: float = 1.0, seed: int = 0, dtype: torch.dtype = torch.float64
) -> torch.nn.Sequential:
    """The paper's ``OneLayerClassifier`` for ``name`` in {"line", "plane"}.

    Drawn in float32 in the order of the paper's code under ``torch.manual_seed(seed)``
    (in a forked RNG, so the caller's global RNG is untouched), then cast to ``dtype``
    (float64 by default: the same initial values, trained without float32 rounding);
    ``factor`` divides both weight matrices, not the biases. The sigmoid is left to
    the loss.
    """
    if name not in PAPER:
        raise ValueError(f"name must be 'line' or 'plane', got name={name!r}")
    if isinstance(factor, bool) or not isinstance(factor, (int, float)):
        raise TypeError(f"factor must be a number, got factor={factor!r}")
    if not factor > 0:
        raise ValueError(f"factor must be > 0, got factor={factor!r}")
    d, m = (
        (2, PAPER["line"]["width"]) if name == "line" else (3, PAPER["plane"]["width"])
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fc1 = torch.nn.Linear(d, m)
        if name == "line":
            fc1.weight.data.normal_(0.0, 1.0 / math.sqrt(d))
        fc2 = torch.nn.Linear(m, 1)
        if name == "line":
            fc2.weight.data.normal_(0.0, 1.0 / math.sqrt(m))
    with torch.no_grad():
        fc1.weight /= factor
        fc2.weight /= factor
    return torch.nn.Sequential(fc1, torch.nn.ReLU(), fc2).to(dtype)


def module_to_net(module: torch.nn.Sequential) -> TwoLayerReLU:
    """An exact float64 one-member copy; the output bias becomes a constant neuron.

    Width m + 1: neuron m has w = 0, b = 1 and u = c, so
    N(x) = Σ_i u_i σ(w_i·x + b_i) + c.
    ``W0`` is set to the copied weights (the copy has no training history).
    """
    fc1, fc2 = module[0], module[2]
    m, d = fc1.weight.shape
    f64 = {"dtype": torch.float64}
    net = TwoLayerReLU(d, m + 1, seed=0, bias=True)
    W = torch.zeros(1, m + 1, d, **f64)
    W[0, :m] = fc1.weight.detach().to(**f64)
    b = torch.ones(1, m + 1, **f64)
    b[0, :m] = fc1.bias.detach().to(**f64)
    u = torch.empty(1, m + 1, **f64)
    u[0, :m] = fc2.weight.detach()[0].to(**f64)
    u[0, m] = float(fc2.bias.detach()[0])
    net.W, net.b, net.u, net.W0 = W, b, u, W.clone()
    return net


@dataclass
class PaperRun:
    """One member of :func:`paper_runs`: numpy scalars and the trained network.

    ``steps`` SGD steps taken; ``reached`` whether the margin passed the target;
    ``margin`` the final training margin min_j y_j N(x_j); ``accuracy`` the training
    accuracy (the paper's test set is its training set); ``net`` an exact float64 copy
    of the trained network (:func:`module_to_net`).
    """

    name: str
    factor: float
    weight_decay: float
    seed: int
    steps: int
    reached: bool
    margin: float
    accuracy: float
    net: TwoLayerReLU


def _data(name: str, dtype: torch.dtype):
    if name == "line":
        X, y, _ = line_dataset(dtype=dtype)
    else:
        X, y = grid_plane_dataset(dtype=dtype)
    return X, y


def _check_number(name, value, *, positive: bool):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {name}={value!r}")
    if not (value > 0 if positive else value >= 0):
        raise ValueError(
            f"{name} must be {'> 0' if positive else '≥ 0'}, got {name}={value!r}"
        )
    return float(value)


def paper_runs(
    name: str,
    variants,
    *,
    max_steps: int | None = None,
    dtype: torch.dtype = torch.float64,
) -> list[PaperRun]:
    """Train one paper module per variant ``(factor, weight_decay, seed)``, all at once.

    Each member is :func:`paper_module` ``(name, factor=…, seed=…)`` trained the way the
    paper's code trains it: full batch, ``BCELoss`` of the sigmoid (mean over points),
    ``torch.optim.SGD(lr, weight_decay)`` on every parameter (g ← ∇L + λθ, θ ← θ − ηg),
    in ``dtype`` (the paper's code runs float32; float64 makes a run independent of how
    the batch is summed, which matters on the plateaus of small initialisation),
    stopping once the margin exceeds the target or after ``max_steps`` steps (default:
    the paper's epoch budget, :data:`PAPER`). The gradients are written out
    for the batched network (E members in one tensor), which makes the paper's 40 000
    steps cost seconds; ``tests/test_paper_setup.py`` checks them against the
    ``nn.Module`` + autograd + ``torch.optim.SGD`` loop to rounding.
    """
    if name not in PAPER:
        raise ValueError(f"name must be 'line' or 'plane', got name={name!r}")
    cfg = PAPER[name]
    variants = [tuple(v) for v in variants]
    if not variants or any(len(v) != 3 for v in variants):
        raise ValueError(
            "variants must be a non-empty list of (factor, weight_decay, seed), "
            f"got {variants!r}"
        )
    facs = [_check_number("factor", v[0], positive=True) for v in variants]
    wds = [_check_number("weight_decay", v[1], positive=False) for v in variants]
    seeds = [int(v[2]) for v in variants]
    budget = cfg["max_steps"] if max_steps is None else int(max_steps)
    if budget < 1:
        raise ValueError(f"max_steps must be ≥ 1, got max_steps={max_steps!r}")
    mods = [
        paper_module(name, factor=f, seed=s, dtype=dtype) for f, s in zip(facs, seeds)
    ]
    W = torch.stack([mo[0].weight.detach() for mo in mods])  # (E, m, d)
    b = torch.stack([mo[0].bias.detach() for mo in mods])  # (E, m)
    u = torch.stack([mo[2].weight.detach()[0] for mo in mods])  # (E, m)
    c = torch.stack([mo[2].bias.detach()[0] for mo in mods])  # (E,)
    X, y = _data(name, dtype)
    t01 = (y + 1) / 2
    n, lr, target = X.shape[0], cfg["lr"], cfg["target_margin"]
    E = len(variants)
    running = torch.ones(E, dtype=torch.bool)
    steps = torch.zeros(E, dtype=torch.int64)
    Xb = X.expand(E, -1, -1)
    wd = torch.tensor(wds, dtype=dtype)
    lr_e = torch.full((E,), lr, dtype=dtype)  # lr, and 0 for a member that has stopped
    for t in range(budget + 1):
        pre = torch.baddbmm(b[:, None, :], Xb, W.transpose(1, 2))  # (E, n, m)
        h = pre.clamp_min(0)
        out = torch.baddbmm(c[:, None, None], h, u[:, :, None])[..., 0]  # (E, n)
        now = (y * out).amin(-1) <= target  # the paper: stop once margin > target
        if not torch.equal(now, running):
            running &= now
            lr_e = lr * running.to(dtype)
            shrink = [
                (1 - lr_e * wd).view((-1,) + (1,) * (p.ndim - 1)) for p in (W, b, u, c)
            ]
        elif t == 0:
            shrink = [
                (1 - lr_e * wd).view((-1,) + (1,) * (p.ndim - 1)) for p in (W, b, u, c)
            ]
        if t == budget or not bool(running.any()):
            break
        steps += running
        g = (torch.sigmoid(out) - t01) * (lr_e / n)[:, None]  # η·dBCE/d(out)
        gh = (pre > 0) * g[:, :, None] * u[:, None, :]  # (E, n, m)
        grads = (
            torch.bmm(gh.transpose(1, 2), Xb),
            gh.sum(1),
            torch.bmm(g[:, None, :], h)[:, 0],
            g.sum(1),
        )
        # torch.optim.SGD: θ ← θ − η(∇L + λθ) = (1 − ηλ)θ − η∇L
        for p, gp, sh in zip((W, b, u, c), grads, shrink):
            p.mul_(sh).sub_(gp)
    margin = (y * out).amin(-1)
    acc = ((y * out) > 0).to(torch.float64).mean(-1)
    runs = []
    for e, mo in enumerate(mods):
        with torch.no_grad():
            mo[0].weight.copy_(W[e]), mo[0].bias.copy_(b[e])
            mo[2].weight.copy_(u[e][None]), mo[2].bias.copy_(c[e][None])
        runs.append(
            PaperRun(
                name=name,
                factor=facs[e],
                weight_decay=wds[e],
                seed=seeds[e],
                steps=int(steps[e]),
                reached=not bool(running[e]),
                margin=float(margin[e]),
                accuracy=float(acc[e]),
                net=module_to_net(mo),
            )
        )
    return runs


def paper_module_run(
    name: str,
    *,
    factor: float = 1.0,
    weight_decay: float = 0.0,
    seed: int = 0,
    max_steps: int | None = None,
    dtype: torch.dtype = torch.float64,
):
    """The reference: one ``nn.Module`` trained by autograd and ``torch.optim.SGD``.

    Literally the paper's loop (one step per epoch, margin checked on the weights after
    each step). Returns ``(module, steps)``. Slow (the module and optimizer overhead of
    every step); :func:`paper_runs` is the batched equivalent used by the book.
    """
    if name not in PAPER:
        raise ValueError(f"name must be 'line' or 'plane', got name={name!r}")
    cfg = PAPER[name]
    module = paper_module(name, factor=factor, seed=seed, dtype=dtype)
    wd = _check_number("weight_decay", weight_decay, positive=False)
    budget = cfg["max_steps"] if max_steps is None else int(max_steps)
    X, y = _data(name, dtype)
    opt = torch.optim.SGD(module.parameters(), lr=cfg["lr"], weight_decay=wd)
    loss_fn = torch.nn.BCELoss()
    steps = 0
    for _ in range(budget):
        opt.zero_grad(set_to_none=True)
        loss_fn(torch.sigmoid(module(X)), ((y + 1) / 2)[:, None]).backward()
        opt.step()
        steps += 1
        with torch.no_grad():
            if float((y * module(X)[:, 0]).min()) > cfg["target_margin"]:
                break
    return module, steps
