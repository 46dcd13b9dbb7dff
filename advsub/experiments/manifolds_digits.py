"""Curved manifolds and real digits (chapter 07), measured over seeds.

* :func:`curve_sweep` — two-layer networks trained on points of trigonometric curves
  (``Manifold.trigonometric(d, 1, F)``; F = 1 is a circle) for several F, initial
  scales and seeds, all trained in one ``advsub.train_sweep`` call; at held-out points:
  the gradient split into its tangent part, its part in S⊥ (S = the curve's span) and
  its normal part inside S, and the smallest flips in the normal space and in S⊥ alone,
  relative to half the distance to the other class on the curve.
* :func:`digits_runs` — ensembles trained on two digit classes in the pixel or PCA
  view, measured against Theorem A's typical size (and the weight-decay factor).
* :func:`one_vs_rest` — the ten one-vs-rest problems on a random subset of the
  training images, several networks per digit.

Sizes of digit perturbations are relative to the image norm ‖x0‖ = 8.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch

import advsub

__all__ = [
    "CurveRun",
    "curve_sweep",
    "DigitsRun",
    "digits_runs",
    "OneVsRest",
    "one_vs_rest",
]


def _int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {name}={value!r}")
    if value < low:
        raise ValueError(f"{name} must be an int ≥ {low}, got {name}={value!r}")
    return int(value)


def _int_list(name, values, low=0):
    if isinstance(values, (int, str)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of ints, got {name}={values!r}")
    out = [_int(f"{name}[{i}]", v, low=low) for i, v in enumerate(values)]
    if not out:
        raise ValueError(f"{name} must not be empty")
    return out


@contextlib.contextmanager
def _no_dead_point_warning():
    """A network left with a dead training point shows up in the results as one that
    did not reach the margin (``reached``), not as a warning in the chapter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", advsub.DeadPointWarning)
        yield


def _flat(t):
    return t.detach().flatten().cpu().numpy()


# --- curved manifolds -----------------------------------------------------------
@dataclass(frozen=True)
class CurveRun:
    """One curve (F frequencies) and initial scale over S seeds: arrays (S, E·n_test).

    Attributes
    ----------
    frequencies : int
        F; the curve's span S has dimension 2F.
    init_scale : str
    seeds : list of int
    accuracy, reached : ndarray (S,)
        Held-out accuracy and fraction of networks that reached the margin.
    g_tangent, g_span_perp, g_normal_in_span : ndarray (S, E·n_test)
        Norms of the gradient's parts along T_x, in S⊥, and in N_x ∩ S.
    normal, span_perp : ndarray (S, E·n_test)
        Smallest flip in N_x and in S⊥ alone, divided by half the distance from x0 to
        the nearest point of the other class on the curve (> 1: further than a robust
        classifier would need).
    """

    frequencies: int
    init_scale: str
    seeds: list
    accuracy: np.ndarray
    reached: np.ndarray
    g_tangent: np.ndarray
    g_span_perp: np.ndarray
    g_normal_in_span: np.ndarray
    normal: np.ndarray
    span_perp: np.ndarray

    def seed_medians(self, key: str) -> np.ndarray:
        """Median of an array attribute over each seed's pairs: (S,)."""
        keys = ("g_tangent", "g_span_perp", "g_normal_in_span", "normal", "span_perp")
        if key not in keys:
            raise ValueError(f"key must be one of {keys}, got key={key!r}")
        return np.median(getattr(self, key), axis=1)


def _half_gap(M, Xt, yt, dense_seed):
    dense = M.sample(4000, seed=dense_seed)
    dist = torch.cdist(Xt, M.embed(dense))
    same = yt[:, None] == advsub.manifolds.manifold_labels(M, dense)[None, :]
    dist[same] = math.inf
    return dist.min(dim=1).values / 2


def curve_sweep(
    frequencies,
    *,
    init_scales=("standard",),
    seeds=range(5),
    d: int = 40,
    m: int = 50,
    n: int = 60,
    n_test: int = 40,
    ensemble: int = 3,
    lr: float = 0.5,
    max_steps: int = 5000,
) -> dict:
    """Train on curves with each F in ``frequencies``: {(init_scale, F): CurveRun}.

    Seed s draws the curve (``Manifold.trigonometric(d, 1, F, seed=s)``), the training
    points (seed 10s + 1), the held-out points (10s + 2) and the networks (10s + 3);
    labels are intrinsic (the two halves cos θ ≷ 0).
    """
    freqs = _int_list("frequencies", frequencies, low=1)
    seeds = _int_list("seeds", seeds, low=0)
    if isinstance(init_scales, str) or not init_scales:
        raise TypeError(
            f"init_scales must be a sequence such as ('standard', 'small'), "
            f"got init_scales={init_scales!r}"
        )
    d, m, n = _int("d", d), _int("m", m), _int("n", n)
    n_test, ensemble = _int("n_test", n_test), _int("ensemble", ensemble)
    if 2 * max(freqs) > d:
        raise ValueError(
            f"a curve with F frequencies needs 2F ≤ d={d}, got F={max(freqs)}"
        )
    tasks, meta = [], []
    for init in init_scales:
        for F in freqs:
            for s in seeds:
                M = advsub.Manifold.trigonometric(d, 1, F, seed=s)
                X, y, _ = advsub.make_manifold_dataset(
                    M, n, seed=10 * s + 1, labels="intrinsic"
                )
                Xt, yt, tht = advsub.make_manifold_dataset(
                    M, n_test, seed=10 * s + 2, labels="intrinsic"
                )
                net = advsub.TwoLayerReLU(
                    d, m, ensemble=ensemble, seed=10 * s + 3, init_scale=init
                )
                tasks.append((net, X, y))
                meta.append((init, F, M, Xt, yt, tht, s))
    with _no_dead_point_warning():
        hists = advsub.train_sweep(tasks, lr=lr, max_steps=max_steps, progress=False)
    rows = {}
    for (net, _, _), (init, F, M, Xt, yt, tht, s), h in zip(tasks, meta, hists):
        grad = net.input_gradient(Xt)
        g_normal = M.project_normal(tht, grad)
        g_span_perp = M.span.project_orth(grad)
        _, normal = advsub.attacks.normal_attack(net, M, tht)
        _, span_perp = advsub.orthogonal_attack(net, Xt, M.span)
        gap = _half_gap(M, Xt, yt, dense_seed=10 * s + 9)
        rows.setdefault((init, F), []).append(
            dict(
                accuracy=float((net(Xt) * yt > 0).double().mean()),
                reached=float(h.reached.double().mean()),
                g_tangent=_flat((grad - g_normal).norm(dim=-1)),
                g_span_perp=_flat(g_span_perp.norm(dim=-1)),
                g_normal_in_span=_flat((g_normal - g_span_perp).norm(dim=-1)),
                normal=_flat(normal / gap),
                span_perp=_flat(span_perp / gap),
            )
        )
    out = {}
    for (init, F), block in rows.items():
        out[(init, F)] = CurveRun(
            frequencies=F,
            init_scale=init,
            seeds=seeds,
            **{k: np.array([r[k] for r in block]) for k in ("accuracy", "reached")},
            **{
                k: np.stack([r[k] for r in block])
                for k in (
                    "g_tangent",
                    "g_span_perp",
                    "g_normal_in_span",
                    "normal",
                    "span_perp",
                )
            },
        )
    return out


# --- digits ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DigitsRun:
    """An ensemble of E networks on one digits problem: arrays (E, n_test) unless noted.

    Attributes
    ----------
    view : str
    ell : int
        dim P⊥ (dead pixels, or 64 − k in the PCA view).
    net : TwoLayerReLU
        The trained ensemble.
    subspace : Subspace
    Xt, yt : tensor (n_test, 64), (n_test,)
        Test images (projected on P) and labels ±1.
    z : tensor (E, n_test, 64)
        The smallest flip found in P⊥ (``orthogonal_attack``).
    accuracy : ndarray (E,)
        Test accuracy per network.
    train_margin : float
        Smallest final training margin over the ensemble.
    grad, pred : ndarray (E, n_test)
        ‖Π∇N(x0)‖ and Theorem A's typical size β√(kℓ/m), times (1 − ηλ)^t with decay.
    universal : ndarray (E, n_test) of bool
        Flipped by the universal direction within ‖z‖ ≤ ‖x0‖.
    size, cert : ndarray (E, n_test)
        Smallest flip in P⊥ and certified radius, relative to ‖x0‖ = 8.
    out : ndarray (E, n_test)
        |N(x0)|.
    """

    view: str
    ell: int
    net: object
    subspace: object
    Xt: torch.Tensor
    yt: torch.Tensor
    z: torch.Tensor
    accuracy: np.ndarray
    train_margin: float
    grad: np.ndarray
    pred: np.ndarray
    universal: np.ndarray
    size: np.ndarray
    cert: np.ndarray
    out: np.ndarray

    def net_medians(self, key: str) -> np.ndarray:
        """Median over the test images for each network: (E,)."""
        if key not in ("grad", "pred", "size", "cert", "out"):
            raise ValueError(
                f"key must be grad, pred, size, cert or out, got key={key!r}"
            )
        return np.median(getattr(self, key), axis=1)

    def flip_rate(self, budget: float = 1.0) -> np.ndarray:
        """Fraction of test images flipped within ``budget`` × ‖x0‖, per net: (E,)."""
        return np.mean(self.size <= budget, axis=1)


def _measure_digits(view, net, P, Xt, yt, hist, lr, weight_decay):
    g = advsub.orthogonal_gradient(net, Xt, P).norm(dim=-1)
    k = net.active(Xt).sum(-1).double()
    factor = torch.as_tensor(
        advsub.theory.weight_decay_factor(lr, weight_decay, hist.steps.numpy())
    )
    pred = net.beta * (k * P.ell / net.m).sqrt() * factor[:, None]
    _, uni = advsub.universal_perturbation(net, Xt, P, max_norm=8.0)
    z, size = advsub.orthogonal_attack(net, Xt, P)
    norm = 8.0
    return DigitsRun(
        view=view,
        ell=P.ell,
        net=net,
        subspace=P,
        Xt=Xt,
        yt=yt,
        z=z,
        accuracy=(net(Xt) * yt > 0).double().mean(1).numpy(),
        train_margin=float(hist.final_margin.min()),
        grad=g.numpy(),
        pred=pred.numpy(),
        universal=uni.numpy(),
        size=(size / norm).numpy(),
        cert=(advsub.certified_orthogonal_radius(net, Xt, P) / norm).numpy(),
        out=net(Xt).abs().numpy(),
    )


def digits_runs(
    configs,
    *,
    classes=(0, 1),
    ensemble: int = 10,
    m: int = 100,
    lr: float = 0.5,
    seed: int = 0,
) -> list[DigitsRun]:
    """Train one ensemble per config on two digit classes (one ``advsub.train`` each).

    ``configs`` is a sequence of dicts with keys ``view`` ("pixels" or "pca"), ``k``
    (PCA only), ``init_scale`` (default "standard") and ``weight_decay`` (default 0).
    Without decay a network trains until margin 0.3 (at most 5000 steps); with decay
    for exactly 2000 steps (the margin rule would stop it before decay acts).
    """
    if isinstance(configs, (dict, str)) or not hasattr(configs, "__iter__"):
        raise TypeError(f"configs must be a sequence of dicts, got {configs!r}")
    configs = list(configs)
    ensemble, m = _int("ensemble", ensemble), _int("m", m)
    tasks, data = [], []
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, dict):
            raise TypeError(f"configs[{i}] must be a dict, got {cfg!r}")
        unknown = set(cfg) - {"view", "k", "init_scale", "weight_decay"}
        if unknown:
            raise ValueError(f"configs[{i}] has unknown keys {sorted(unknown)}")
        view, k = cfg.get("view", "pixels"), cfg.get("k")
        wd = float(cfg.get("weight_decay", 0.0))
        X, y, P = advsub.digits_dataset(classes, view=view, k=k, seed=seed)
        Xt, yt, _ = advsub.digits_dataset(
            classes, view=view, k=k, split="test", seed=seed
        )
        net = advsub.TwoLayerReLU(
            64,
            m,
            ensemble=ensemble,
            seed=seed,
            init_scale=cfg.get("init_scale", "standard"),
        )
        kw = (
            dict(weight_decay=wd, max_steps=2000, target_margin=1e9)
            if wd > 0
            else dict(max_steps=5000)
        )
        tasks.append((net, X, y, kw))
        data.append((view, P, Xt, yt, wd))
    # one train() per config: faster here than one train_sweep, whose groups run until
    # their slowest member (these configs stop after very different numbers of steps)
    with _no_dead_point_warning():
        hists = [
            advsub.train(net, X, y, lr=lr, progress=False, **kw)
            for net, X, y, kw in tasks
        ]
    return [
        _measure_digits(view, net, P, Xt, yt, h, lr, wd)
        for (net, *_), (view, P, Xt, yt, wd), h in zip(tasks, data, hists)
    ]


@dataclass(frozen=True)
class OneVsRest:
    """The ten one-vs-rest problems: per digit, E networks (arrays (10, E, n_test)).

    Attributes
    ----------
    ell : int
    n_train : int
        Training images per problem (a random subset of the training split).
    reached : ndarray (10, E) of bool
        Whether each network reached margin 0.3 within the step budget.
    accuracy : ndarray (10, E)
    size, out : ndarray (10, E, n_test)
        Smallest flip in P⊥ relative to ‖x0‖ = 8, and |N(x0)|.
    grad : ndarray (10, E, n_test)
        ‖Π∇N(x0)‖.
    universal : ndarray (10, E, n_test) of bool
        Flipped by the universal direction within ‖x0‖.
    """

    ell: int
    n_train: int
    reached: np.ndarray
    accuracy: np.ndarray
    size: np.ndarray
    out: np.ndarray
    grad: np.ndarray
    universal: np.ndarray


def one_vs_rest(
    *,
    k: int = 20,
    n_train: int = 200,
    n_test: int = 100,
    ensemble: int = 5,
    m: int = 100,
    lr: float = 0.5,
    max_steps: int = 2000,
) -> OneVsRest:
    """Digit c against the nine others, c = 0..9, PCA view with k directions.

    Each problem trains ``ensemble`` networks (seed c) on ``n_train`` training images
    drawn at random (seed c) from the training split, and is measured on the first
    ``n_test`` test images. Each problem is one ``advsub.train`` call.
    """
    k, n_train, n_test = _int("k", k), _int("n_train", n_train), _int("n_test", n_test)
    ensemble, m = _int("ensemble", ensemble), _int("m", m)
    # The images, the split and P do not depend on the positive digit, only the labels
    # do; the labels come from the pixel view of the same split (no SVD per digit).
    X, y0, P = advsub.digits_dataset(range(10), view="pca", k=k, positive=0)
    Xt, yt0, _ = advsub.digits_dataset(
        range(10), view="pca", k=k, positive=0, split="test"
    )
    if n_train > X.shape[0]:
        raise ValueError(f"n_train must be ≤ {X.shape[0]}, got n_train={n_train}")
    tasks, data = [], []
    for c in range(10):
        y = advsub.digits_dataset(range(10), view="pixels", positive=c)[1]
        yt = advsub.digits_dataset(range(10), view="pixels", positive=c, split="test")[
            1
        ]
        if c == 0 and not (torch.equal(y, y0) and torch.equal(yt, yt0)):
            raise RuntimeError("the pixel and PCA views disagree on the split")
        idx = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(c))
        idx = idx[:n_train]
        net = advsub.TwoLayerReLU(64, m, ensemble=ensemble, seed=c)
        tasks.append((net, X[idx], y[idx]))
        data.append((P, Xt[:n_test], yt[:n_test]))
    with _no_dead_point_warning():
        hists = [
            advsub.train(net, X, y, lr=lr, max_steps=max_steps, progress=False)
            for net, X, y in tasks
        ]
    rows = []
    for (net, _, _), (P, Xt, yt), h in zip(tasks, data, hists):
        _, size = advsub.orthogonal_attack(net, Xt, P)
        _, uni = advsub.universal_perturbation(net, Xt, P, max_norm=8.0)
        rows.append(
            dict(
                reached=h.reached.numpy(),
                accuracy=(net(Xt) * yt > 0).double().mean(1).numpy(),
                size=(size / 8).numpy(),
                out=net(Xt).abs().numpy(),
                universal=uni.numpy(),
                grad=advsub.orthogonal_gradient(net, Xt, P).norm(dim=-1).numpy(),
            )
        )
    return OneVsRest(
        ell=data[0][0].ell,
        n_train=n_train,
        **{key: np.stack([r[key] for r in rows]) for key in rows[0]},
    )
