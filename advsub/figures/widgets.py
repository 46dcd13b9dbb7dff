"""Interactive explorers (ipywidgets) for JupyterLab; each chapter also draws a static fallback figure."""
from __future__ import annotations

import os

BATCH_ENV = "ADVSUB_BATCH"


def _first_draw(redraw) -> None:
    """Draw the explorer's first figure, except in batch execution (papermill, nbval, grading).

    Outputs captured by an ipywidgets ``Output`` during a headless run travel as comm
    messages, and nbclient occasionally deadlocks on them (jupyter/nbclient#312); the
    rendered book shows each chapter's static fallback figure instead, and the sliders
    still render from the saved widget state. ``ADVSUB_BATCH=1`` marks batch runs.
    """
    if os.environ.get(BATCH_ENV) != "1":
        redraw()


# --- Chapter 01: the orthogonal gradient (Theorem A) --------------------------------------------


def gradient_explorer(d: int = 40, ell: int = 20, m: int = 50, beta: float | None = None, *, ensemble: int = 300,
                      n: int = 20, seed: int = 0):
    """Sliders d, ℓ, m, β: each move trains up to ``ensemble`` networks (< 1 s) and redraws
    :func:`advsub.plotting.plot_gradient_explorer` (the χ²_ℓ law and the lower bound).

    β starts at the standard 1/√d; ℓ is capped at d − 1. Returns the ipywidgets box.
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt

    from ..experiments.gradient_law import gradient_law_experiment
    from .plotting import plot_gradient_explorer

    beta = 1.0 / d**0.5 if beta is None else beta
    style = {"description_width": "initial"}
    s_d = W.IntSlider(value=d, min=4, max=200, step=1, description="d", continuous_update=False, style=style)
    s_ell = W.IntSlider(value=ell, min=1, max=d - 1, step=1, description="ℓ = dim P⊥", continuous_update=False, style=style)
    s_m = W.IntSlider(value=m, min=2, max=300, step=1, description="m (width)", continuous_update=False, style=style)
    s_beta = W.FloatLogSlider(value=beta, base=10, min=-3, max=0, step=0.05, description="β (init scale)",
                              continuous_update=False, readout_format=".3g", style=style)
    out = W.Output()

    def redraw(*_):
        s_ell.max = s_d.value - 1
        # Keep an update under a second: fewer networks for large m·d, and at most 60 GD steps
        # (Theorem A holds at every step, whether or not the margin is reached).
        E = int(min(ensemble, max(30, 6e5 // (s_m.value * max(s_d.value, 20)))))
        sample = gradient_law_experiment(s_d.value, min(s_ell.value, s_d.value - 1), s_m.value, ensemble=E,
                                         n=n, init_scale=float(s_beta.value), max_steps=60, seed=seed)
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
            plot_gradient_explorer(sample, axes)
            fig.suptitle(f"{int(sample.reached.sum())}/{len(sample)} networks reached margin 0.3 within 60 steps",
                         fontsize="small")
            fig.tight_layout()
            plt.show()

    for s in (s_d, s_ell, s_m, s_beta):
        s.observe(redraw, names="value")
    _first_draw(redraw)
    return W.VBox([W.HBox([s_d, s_ell]), W.HBox([s_m, s_beta]), out])


# --- Chapter 02: the universal direction (Theorem B) ---------------------------------------------


def universal_explorer(d: int = 100, ell: int = 60, m: int = 50, *, ensemble: int = 4, n: int = 40, n_test: int = 100,
                       seed: int = 0):
    """Sliders ℓ, m, d: each move trains ``ensemble`` networks (< 1 s) and redraws the universal step
    against |N(x0)| (:func:`advsub.plotting.plot_size_vs_output`) with the flip rate. Returns the box."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    from ..experiments.attack_samples import attack_experiment
    from .plotting import plot_size_vs_output

    style = {"description_width": "initial"}
    s_ell = W.IntSlider(value=ell, min=1, max=d - 1, description="ℓ = dim P⊥", continuous_update=False, style=style)
    s_m = W.IntSlider(value=m, min=2, max=400, description="m (width)", continuous_update=False, style=style)
    s_d = W.IntSlider(value=d, min=10, max=200, description="d", continuous_update=False, style=style)
    out = W.Output()

    def redraw(*_):
        s_ell.max = s_d.value - 1
        dd, ll, mm = s_d.value, min(s_ell.value, s_d.value - 1), s_m.value
        sample = attack_experiment(dd, ll, mm, ensemble=ensemble, n=n, n_test=n_test, attack=False, max_steps=500,
                                   seed=seed)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(6.5, 4))
            plot_size_vs_output(sample.output, sample.universal, sample.k, mm, dd, ll, ax)
            ax.set_title(f"d={dd}, ℓ={ll}, m={mm}: {sample.flip_rate(dd ** 0.5):.0%} flipped with ‖z‖ ≤ ‖x0‖; "
                         f"{int(sample.reached.sum())}/{ensemble} nets trained", fontsize="small")
            fig.tight_layout()
            plt.show()

    for s in (s_ell, s_m, s_d):
        s.observe(redraw, names="value")
    _first_draw(redraw)
    return W.VBox([W.HBox([s_ell, s_m, s_d]), out])


# --- Chapter 03: small initialisation (Theorem C) -------------------------------------------------


def small_init_explorer(beta_exponent: float = 0.5, ell: int = 60, m: int = 50, *, d: int = 100, ensemble: int = 4,
                        n: int = 40, n_test: int = 100, seed: int = 0):
    """Sliders β = d^(−a), ℓ, m: each move trains ``ensemble`` networks on linearly labelled data and shows
    the certified radius, the orthogonal attack and the universal step per held-out point
    (:func:`advsub.plotting.plot_sandwich`), with the accuracy and the steps needed. Returns the box."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    from ..experiments.attack_samples import attack_experiment
    from .plotting import plot_sandwich

    style = {"description_width": "initial"}
    s_a = W.FloatSlider(value=beta_exponent, min=0.5, max=1.5, step=0.125, description="β = d^(−a), a",
                        continuous_update=False, style=style)
    s_ell = W.IntSlider(value=ell, min=1, max=d - 1, description="ℓ = dim P⊥", continuous_update=False, style=style)
    s_m = W.IntSlider(value=m, min=2, max=300, description="m (width)", continuous_update=False, style=style)
    out = W.Output()

    def redraw(*_):
        beta = d ** -s_a.value
        sample = attack_experiment(d, s_ell.value, s_m.value, ensemble=ensemble, n=n, n_test=n_test, init_scale=beta,
                                   labels="linear", max_steps=1000, seed=seed)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(6.5, 4))
            plot_sandwich(sample.certified, sample.orthogonal, sample.universal, ax)
            ax.set_title(f"β = d^(−{s_a.value:g}) = {beta:.2g}: accuracy {sample.accuracy.mean():.0%}, "
                         f"steps {int(sample.steps.max())}, reached {int(sample.reached.sum())}/{ensemble}",
                         fontsize="small")
            fig.tight_layout()
            plt.show()

    for s in (s_a, s_ell, s_m):
        s.observe(redraw, names="value")
    _first_draw(redraw)
    return W.VBox([W.HBox([s_a, s_ell, s_m]), out])


# --- Chapter 05: the paper's pictures -------------------------------------------------------------


def pictures_explorer(init_factor: float = 1.0, weight_decay: float = 0.0, width: int = 100, *, seed: int = 0):
    """Sliders init scale (β divided by a factor), λ and width m for the line picture: each move
    retrains one network on the seven points (< 1 s) and redraws its decision boundary
    (:func:`advsub.plotting.plot_decision_boundary`) with the crossing angles and distances
    (:func:`advsub.toydata.line_picture_stats`). Returns the ipywidgets box."""
    import ipywidgets as W
    import matplotlib.pyplot as plt
    import numpy as np

    from .plotting import plot_decision_boundary
    from ..experiments.toydata import line_dataset, line_picture_stats, train_picture

    _, _, P = line_dataset()
    style = {"description_width": "initial"}
    s_f = W.FloatLogSlider(value=init_factor, base=10, min=0, max=2, step=0.1, description="β_std / β",
                           continuous_update=False, readout_format=".3g", style=style)
    s_l = W.FloatSlider(value=weight_decay, min=0.0, max=8e-3, step=5e-4, description="λ (weight decay)",
                        continuous_update=False, readout_format=".4f", style=style)
    s_m = W.IntSlider(value=width, min=10, max=300, step=10, description="m (width)", continuous_update=False, style=style)
    out = W.Output()

    def redraw(*_):
        net, hist, X, y = train_picture("line", init_factor=float(s_f.value), weight_decay=float(s_l.value),
                                        width=int(s_m.value), seed=seed, max_steps=3000)
        stats = line_picture_stats(net, X, P)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(5, 5))
            plot_decision_boundary(net, ax, X=X, y=y, guide=((-1.5, -1.5), (1.5, 1.5)))
            ang = f"{np.median(stats['angle']):.0f}°" if len(stats["angle"]) else "none"
            ax.set_title(f"{'reached' if hist.all_reached else 'NOT reached'} margin 0.3 in {int(hist.steps[0])} steps\n"
                         f"median crossing angle {ang}; distance orth/along "
                         f"{np.median(stats['orth']):.2f}/{np.median(stats['along']):.2f}", fontsize="small")
            ax.legend(fontsize="x-small", loc="lower right")
            fig.tight_layout()
            plt.show()

    for s in (s_f, s_l, s_m):
        s.observe(redraw, names="value")
    _first_draw(redraw)
    return W.VBox([W.HBox([s_f, s_l, s_m]), out])


# --- Chapters 06–07: beyond the paper --------------------------------------------------------------


def draw_depth_explorer(axes, *, depth: int = 3, width: int = 40, beta_exponent: float = 0.5,
                        weight_decay: float = 0.0, d: int = 40, ell: int = 20, ensemble: int = 6, seed: int = 0):
    """Train ``ensemble`` DeepReLU nets (β = d^−a, decay λ for 300 steps if λ > 0) and draw two panels.

    Left: ‖Π∇N(x0)‖ against its typical value β√ℓ‖δ_1(x0)‖ (eq. 06 deep law), one dot per (network, point).
    Right: histogram of the smallest orthogonal flips, relative to ‖x0‖ = √d.
    """
    import numpy as np
    import torch

    from ..attacks import orthogonal_attack, orthogonal_gradient
    from ..deep import DeepReLU
    from ..geometry import Subspace, make_dataset
    from ..training import train

    P = Subspace.random(d, ell, seed=seed)
    X, y = make_dataset(P, 30, seed=seed + 1)
    Xt, _ = make_dataset(P, 15, seed=seed + 2)
    net = DeepReLU(d, [width] * (depth - 1), ensemble=ensemble, seed=seed + 3, init_scale=float(d) ** -beta_exponent)
    decay = weight_decay > 0
    hist = train(net, X, y, lr=0.3, weight_decay=weight_decay, max_steps=300 if decay else 3000,
                 target_margin=1e9 if decay else 0.3, progress=False)
    g = orthogonal_gradient(net, Xt, P).norm(dim=-1).flatten().numpy()
    pred = (net.beta * (ell * net.first_layer_signal(Xt).pow(2).sum(-1)).sqrt()).flatten().numpy()
    _, size = orthogonal_attack(net, Xt, P)
    ax = axes[0]
    ax.loglog(pred, g, ".", alpha=0.6, label="(network, held-out point)")
    lim = [min(pred.min(), g.min()) * 0.8, max(pred.max(), g.max()) * 1.2]
    ax.plot(lim, lim, "k--", lw=1, label="measured = predicted")
    ax.set_xlabel(r"prediction $\beta\sqrt{\ell}\,\|\delta_1(x_0)\|$")
    ax.set_ylabel(r"$\|\Pi\nabla_x N(x_0)\|$")
    ax.set_title(f"depth {depth}, width {width}, β=d^-{beta_exponent:g}, λ={weight_decay:g}", fontsize="small")
    ax.legend(fontsize="small")
    rel = (size / d**0.5).flatten().numpy()
    rel = rel[np.isfinite(rel)]
    axes[1].hist(rel, bins=20, color="C1", alpha=0.8)
    axes[1].set_xlabel(r"smallest flip in $P^\perp$ / $\|x_0\|$")
    axes[1].set_ylabel("number of (network, point) pairs")
    axes[1].set_title(f"reached margin: {int(hist.reached.sum())}/{ensemble}; min train margin "
                      f"{float(hist.final_margin.min()):.2f}", fontsize="small")
    del torch
    return axes


def depth_explorer(depth: int = 3, width: int = 40, *, d: int = 40, ell: int = 20, ensemble: int = 6, seed: int = 0):
    """Sliders depth, width, β exponent a (β = d^−a) and weight decay; redraws :func:`draw_depth_explorer`."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    style = {"description_width": "initial"}
    s_depth = W.IntSlider(value=depth, min=2, max=5, description="depth", continuous_update=False, style=style)
    s_width = W.IntSlider(value=width, min=8, max=120, step=4, description="width", continuous_update=False, style=style)
    s_a = W.FloatSlider(value=0.5, min=0.25, max=1.5, step=0.25, description="β = d^-a, a", continuous_update=False, style=style)
    s_wd = W.FloatLogSlider(value=1e-4, base=10, min=-4, max=-1, step=0.25, description="λ (0 at far left)",
                            continuous_update=False, readout_format=".1e", style=style)
    out = W.Output()

    def redraw(*_):
        wd = 0.0 if s_wd.value <= 1e-4 else float(s_wd.value)
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
            draw_depth_explorer(axes, depth=s_depth.value, width=s_width.value, beta_exponent=s_a.value,
                                weight_decay=wd, d=d, ell=ell, ensemble=ensemble, seed=seed)
            fig.tight_layout()
            plt.show()

    for s in (s_depth, s_width, s_a, s_wd):
        s.observe(redraw, names="value")
    _first_draw(redraw)
    return W.VBox([W.HBox([s_depth, s_width]), W.HBox([s_a, s_wd]), out])


def draw_digits_explorer(axes, *, digit_a: int = 0, digit_b: int = 1, view: str = "pixels", k: int = 10,
                         beta_exponent: float = 0.5, weight_decay: float = 0.0, width: int = 100, seed: int = 0):
    """Train a two-layer net on two digit classes and draw original / perturbed test digits with predictions.

    ``axes`` is a (2, K) grid: top row test digits, bottom row the same digits moved by the smallest
    flip found in P⊥ (dead pixels, or the PCA complement), titled with the predicted labels.
    """
    import numpy as np

    from ..attacks import orthogonal_attack
    from ..digits import digits_dataset
    from ..network import TwoLayerReLU
    from .plotting import plot_digits
    from ..training import train

    X, y, P = digits_dataset((digit_a, digit_b), view=view, k=k if view == "pca" else None, seed=seed)
    K = np.asarray(axes).shape[1]
    Xt, yt, _ = digits_dataset((digit_a, digit_b), view=view, k=k if view == "pca" else None, split="test", seed=seed)
    Xt, yt = Xt[:K], yt[:K]
    net = TwoLayerReLU(64, width, seed=seed, init_scale=64.0 ** -beta_exponent)
    decay = weight_decay > 0
    train(net, X, y, lr=0.5, weight_decay=weight_decay, max_steps=500 if decay else 5000,
          target_margin=1e9 if decay else 0.3, progress=False)
    z, size = orthogonal_attack(net, Xt, P)
    name = {1.0: digit_b, -1.0: digit_a}
    pred = [name[1.0 if v >= 0 else -1.0] for v in net(Xt)[0].tolist()]
    adv = (Xt + z[0]).numpy()
    pred_adv = [name[1.0 if v >= 0 else -1.0] for v in net(Xt + z[0])[0].tolist()]
    lo, hi = float(min(Xt.min(), adv.min())), float(max(Xt.max(), adv.max()))
    plot_digits(Xt.numpy(), axes[0], titles=[f"predicted {p}" for p in pred], vmin=lo, vmax=hi)
    plot_digits(adv, axes[1], titles=[f"→ {p}, ‖z‖/‖x‖={s / 8:.2f}" for p, s in zip(pred_adv, size[0].tolist())],
                vmin=lo, vmax=hi)
    return axes


def digits_explorer(*, K: int = 5, seed: int = 0):
    """Dropdowns for the two digits and the view, sliders k, β exponent, λ; redraws :func:`draw_digits_explorer`."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    style = {"description_width": "initial"}
    a = W.Dropdown(options=list(range(10)), value=0, description="digit −1")
    b = W.Dropdown(options=list(range(10)), value=1, description="digit +1")
    view = W.Dropdown(options=["pixels", "pca"], value="pixels", description="view")
    s_k = W.IntSlider(value=10, min=2, max=40, description="k (pca)", continuous_update=False, style=style)
    s_a = W.FloatSlider(value=0.5, min=0.25, max=1.5, step=0.25, description="β = 64^-a, a", continuous_update=False, style=style)
    s_wd = W.FloatLogSlider(value=1e-4, base=10, min=-4, max=-1, step=0.25, description="λ (0 at far left)",
                            continuous_update=False, readout_format=".1e", style=style)
    out = W.Output()

    def redraw(*_):
        if a.value == b.value:
            return
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(2, K, figsize=(2.0 * K, 4.4))
            draw_digits_explorer(axes, digit_a=a.value, digit_b=b.value, view=view.value, k=s_k.value,
                                 beta_exponent=s_a.value, weight_decay=0.0 if s_wd.value <= 1e-4 else float(s_wd.value),
                                 seed=seed)
            fig.tight_layout()
            plt.show()

    for w in (a, b, view, s_k, s_a, s_wd):
        w.observe(redraw, names="value")
    _first_draw(redraw)
    return W.VBox([W.HBox([a, b, view]), W.HBox([s_k, s_a, s_wd]), out])


# --- Chapter 04: L2 regularisation (Theorem D) ---------------------------------------------------


def draw_weight_decay_explorer(axes, *, weight_decay: float = 1e-2, ell: int = 50, m: int = 50, d: int = 100,
                               ensemble: int = 3, steps: int = 600, seed: int = 0):
    """Train ``ensemble`` networks with and without weight decay for ``steps`` GD steps (η = 0.5,
    margin never reached) and draw the decay curve (``axes[0]``) and the universal step sizes at
    held-out points (``axes[1]``); returns the two flip rates within the budget ‖z‖ = √d."""
    import numpy as np

    from ..geometry import Subspace, make_dataset
    from ..network import TwoLayerReLU
    from ..attacks import universal_perturbation
    from .plotting import plot_decay_curve
    from ..experiments.regularisation import orthogonal_decay_curve

    P = Subspace.random(d, ell, seed=seed)
    X, y = make_dataset(P, 150, seed=seed + 1, labels="linear")
    budget = d**0.5
    rates, sizes = [], []
    for lam in (0.0, weight_decay):
        net = TwoLayerReLU(d, m, ensemble=ensemble, seed=seed + 2)
        cps = np.linspace(steps / 6, steps, 6).astype(int)
        st, r = orthogonal_decay_curve(net, X[:100], y[:100], P, lr=0.5, weight_decay=lam, checkpoints=cps)
        if lam == weight_decay:
            plot_decay_curve([st], [r], 0.5, [lam], axes[0])
        size = universal_perturbation(net, X[100:], P)[0].numpy().ravel()
        sizes.append(size)
        rates.append(float((size <= budget).mean()))
    hi = max(np.log10(np.clip(s, 1e-3, 1e12)).max() for s in sizes)
    lo = min(np.log10(np.maximum(s, 1e-3)).min() for s in sizes)
    bins = np.linspace(lo, hi + 1e-9, 30)
    for s, lam, rate in zip(sizes, (0.0, weight_decay), rates):
        axes[1].hist(np.log10(np.clip(s, 1e-3, 1e12)), bins=bins, alpha=0.6, label=f"λ = {lam:g}: {rate:.0%} flipped")
    axes[1].axvline(np.log10(budget), color="k", ls="--", label=f"budget √d = {budget:.0f}")
    axes[1].set_xlabel("log10 universal step size (input units)")
    axes[1].set_ylabel("held-out points")
    axes[1].legend(fontsize="small")
    return rates


def weight_decay_explorer(weight_decay: float = 1e-2, ell: int = 50, m: int = 50, *, d: int = 100, seed: int = 0):
    """Sliders λ, ℓ, m: each move retrains small ensembles with and without weight decay (< 1 s) and
    redraws :func:`draw_weight_decay_explorer`. Returns the ipywidgets box."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    style = {"description_width": "initial"}
    s_l = W.FloatLogSlider(value=weight_decay, base=10, min=-4, max=-1, step=0.1, description="λ (weight decay)",
                           continuous_update=False, readout_format=".2g", style=style)
    s_ell = W.IntSlider(value=ell, min=1, max=d - 1, step=1, description="ℓ = dim P⊥", continuous_update=False, style=style)
    s_m = W.IntSlider(value=m, min=5, max=200, step=5, description="m (width)", continuous_update=False, style=style)
    out = W.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(1, 2, figsize=(11, 4))
            draw_weight_decay_explorer(axes, weight_decay=float(s_l.value), ell=int(s_ell.value), m=int(s_m.value),
                                       d=d, seed=seed)
            fig.tight_layout()
            plt.show()

    for s in (s_l, s_ell, s_m):
        s.observe(redraw, names="value")
    _first_draw(redraw)
    return W.VBox([W.HBox([s_l, s_ell, s_m]), out])
