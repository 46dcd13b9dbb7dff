"""Interactive explorers (ipywidgets) for JupyterLab; each chapter also draws a static
fallback figure.

Every explorer is one call of :func:`explorer`: a dict of named controls, the rows they
are laid out in, and a ``draw(axes, **values)`` function that computes and draws one
figure from the controls' current values. The scaffold does the rest, the same way for
all seven: it observes every control, redraws into one ``Output`` area, keeps dependent
limits in step (``limits``) without redrawing twice, and skips the first draw in batch
runs (:func:`first_draw`). The controls come from :func:`int_slider`,
:func:`float_slider`, :func:`log_slider` and :func:`dropdown` (labels that fit, updates
on release).
"""

from __future__ import annotations

import functools
import io
import os

import numpy as np

from ..attacks import orthogonal_attack, orthogonal_gradient, universal_perturbation
from ..deep import DeepReLU
from ..digits import digits_dataset
from ..experiments.attack_samples import attack_experiment
from ..experiments.gradient_law import gradient_law_experiment
from ..experiments.regularisation import orthogonal_decay_curve
from ..experiments.toydata import line_dataset, line_picture_stats, train_picture
from ..geometry import Subspace, make_dataset
from ..network import TwoLayerReLU
from ..training import train
from ..training.loop import num_threads as torch_threads
from .plotting import (
    plot_decay_curve,
    plot_decision_boundary,
    plot_digits,
    plot_gradient_explorer,
    plot_sandwich,
    plot_size_vs_output,
)
from .style import colour

__all__ = [
    "BATCH_ENV",
    "first_draw",
    "explorer",
    "torch_threads",
    "EXPLORER_THREADS",
    "EXPLORER_DPI",
    "show_png",
    "int_slider",
    "float_slider",
    "log_slider",
    "dropdown",
    "gradient_explorer",
    "universal_explorer",
    "small_init_explorer",
    "pictures_explorer",
    "draw_depth_explorer",
    "depth_explorer",
    "draw_digits_explorer",
    "digits_explorer",
    "draw_weight_decay_explorer",
    "weight_decay_explorer",
]

BATCH_ENV = "ADVSUB_BATCH"
STYLE = {"description_width": "initial"}
#: torch threads while an explorer redraws: its problems are small, and with two
#: threads on a busy machine the synchronisation costs more than the work
#: (benchmarks/explorers.py measured 1.5-3.5x faster redraws with one).
EXPLORER_THREADS = 1
#: resolution of an explorer's live picture (dots per inch; the static figures use the
#: book's savefig.dpi of 200): rendering time grows with the pixels.
EXPLORER_DPI = 100
#: zlib level of the live picture's PNG (1: fast, a larger file on a local connection)
PNG_COMPRESSION = 1


# --- the scaffold ---------------------------------------------------------------------
def first_draw(redraw) -> None:
    """Draw the explorer's first figure, except in batch execution (papermill, nbval,
    grading).

    Outputs captured by an ipywidgets ``Output`` during a headless run travel as comm
    messages, and nbclient occasionally deadlocks on them (jupyter/nbclient#312); the
    rendered book shows each chapter's static fallback figure instead, and the sliders
    still render from the saved widget state. ``ADVSUB_BATCH=1`` marks batch runs.
    """
    if os.environ.get(BATCH_ENV) != "1":
        redraw()


def int_slider(description: str, value: int, low: int, high: int, step: int = 1):
    """An integer slider that updates on release."""
    import ipywidgets as W

    return W.IntSlider(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        continuous_update=False,
        style=STYLE,
    )


def float_slider(
    description: str,
    value: float,
    low: float,
    high: float,
    step: float,
    fmt: str | None = None,
):
    """A float slider that updates on release (``fmt``: its readout format)."""
    import ipywidgets as W

    extra = {} if fmt is None else {"readout_format": fmt}
    return W.FloatSlider(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        continuous_update=False,
        style=STYLE,
        **extra,
    )


def log_slider(
    description: str,
    value: float,
    low_exp: float,
    high_exp: float,
    step: float,
    fmt: str,
):
    """A base-10 logarithmic slider from 10^low_exp to 10^high_exp that updates on
    release."""
    import ipywidgets as W

    return W.FloatLogSlider(
        value=value,
        base=10,
        min=low_exp,
        max=high_exp,
        step=step,
        description=description,
        continuous_update=False,
        readout_format=fmt,
        style=STYLE,
    )


def dropdown(description: str, options, value):
    """A drop-down list."""
    import ipywidgets as W

    return W.Dropdown(options=list(options), value=value, description=description)


def explorer(
    controls: dict,
    draw,
    *,
    rows,
    figsize,
    grid=(1, 1),
    limits=None,
    skip=None,
    threads: int | None = None,
):
    """Lay out ``controls`` in ``rows`` above one figure that ``draw`` redraws on every
    change.

    Parameters
    ----------
    controls : dict name → ipywidgets control
    draw : callable ``draw(axes, **values)``
        Computes and draws the figure for the controls' values (``axes`` as
        ``plt.subplots(*grid, figsize=figsize)`` makes them: the same axes at every
        redraw, cleared).
    rows : list of lists of control names
    limits : callable ``limits(controls)``, optional
        Brings dependent limits in step before a redraw (e.g. ℓ ≤ d − 1); the changes it
        causes do not trigger redraws of their own.
    skip : callable ``skip(values) -> bool``, optional
        Values for which nothing is drawn (e.g. the same digit twice).
    threads : int, optional
        torch threads during a redraw (default :data:`EXPLORER_THREADS`, read at each
        redraw; ``EXPLORER_THREADS = None`` leaves torch's setting alone).

    Returns
    -------
    ipywidgets.VBox
        Its ``redraw()`` redraws on demand, and it keeps ``controls``, ``skip`` and
        ``canvas`` (the ``_Canvas``; for benchmarks/explorers.py and the tests).

    Notes
    -----
    One figure serves every redraw (``_Canvas``): its axes are cleared and drawn
    again, the layout is computed once (``tight_layout`` on the first draw), and the
    picture is a PNG at :data:`EXPLORER_DPI` shown by :func:`show_png`, not the inline
    backend's retina ``bbox_inches="tight"`` rendering (which draws the figure twice).
    """
    import ipywidgets as W

    out = W.Output()
    holding = [False]
    canvas = _Canvas(grid, figsize)

    def redraw(*_):
        if holding[0]:
            return
        if limits is not None:
            holding[0] = True
            try:
                limits(controls)
            finally:
                holding[0] = False
        values = {name: c.value for name, c in controls.items()}
        if skip is not None and skip(values):
            return
        with torch_threads(threads or EXPLORER_THREADS):
            axes = canvas.clear()
            draw(axes, **values)
            png = canvas.png()
        with out:
            out.clear_output(wait=True)
            show_png(png)

    for control in controls.values():
        control.observe(redraw, names="value")
    first_draw(redraw)
    box = W.VBox([W.HBox([controls[name] for name in row]) for row in rows] + [out])
    box.redraw = redraw
    box.canvas = canvas
    box.controls = controls
    box.skip = skip
    return box


class _Canvas:
    """The one figure an explorer draws into, kept between redraws.

    Creating a figure, laying it out (``tight_layout`` measures every text) and
    rendering it through a fresh canvas (which loses matplotlib's text and mathtext
    caches) cost more than most explorers' training: a redraw here clears the axes the
    figure was made with, removes what a drawing added (colorbars), puts the axes back
    where the first layout placed them, and renders with the same Agg canvas.
    """

    def __init__(self, grid, figsize):
        self.grid, self.figsize = tuple(grid), tuple(figsize)
        self.figure = None
        self.axes = None
        self._specs = None
        self.laid_out = False

    def clear(self):
        """The axes, empty, in the first layout's places (made on first use)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        if self.figure is None:
            self.figure = Figure(figsize=self.figsize, dpi=EXPLORER_DPI)
            FigureCanvasAgg(self.figure)
            self.axes = self.figure.subplots(*self.grid)
            flat = np.ravel(self.axes)
            self._specs = [ax.get_subplotspec() for ax in flat]
            return self.axes
        flat = list(np.ravel(self.axes))
        for ax in list(self.figure.axes):
            if not any(ax is own for own in flat):
                self.figure.delaxes(ax)  # e.g. a colorbar
        for ax, spec in zip(flat, self._specs):
            ax.clear()
            ax.set_subplotspec(spec)  # a colorbar made with ax= had split it
        if self.figure._suptitle is not None:
            self.figure._suptitle.set_text("")
        return self.axes

    def png(self) -> bytes:
        """The figure as PNG at :data:`EXPLORER_DPI` (laid out at the first call)."""
        if not self.laid_out:
            self.figure.tight_layout()
            # no engine at all (tight_layout leaves a placeholder, and savefig draws a
            # figure with an engine twice)
            self.figure.set_layout_engine(None)
            self.laid_out = True
        buffer = io.BytesIO()
        self.figure.savefig(
            buffer,
            format="png",
            dpi=EXPLORER_DPI,
            pil_kwargs={"compress_level": PNG_COMPRESSION},
        )
        return buffer.getvalue()


def show_png(png: bytes) -> None:
    """Display an explorer's picture (PNG bytes) in the current output area."""
    from IPython.display import Image, display

    display(Image(data=png, format="png"))


def _ell_below_d(controls):
    controls["ell"].max = controls["d"].value - 1


# --- Chapter 01: the orthogonal gradient (Theorem A) ----------------------------------
def gradient_explorer(
    d: int = 40,
    ell: int = 20,
    m: int = 50,
    beta: float | None = None,
    *,
    ensemble: int = 300,
    n: int = 20,
    seed: int = 0,
):
    """Sliders d, ℓ, m, β: each move trains up to ``ensemble`` networks and redraws
    :func:`advsub.plotting.plot_gradient_explorer` (the χ²_ℓ law and the lower bound).

    To redraw within a quarter of a second a move trains at most 3·10⁵/(m·max(d, 20))
    networks (150 at d = 40, m = 50; at least 30), for at most 60 GD steps; the
    histogram's legend and the title give the number drawn. β starts at the standard
    1/√d; ℓ is capped at d − 1. Returns the ipywidgets box.
    """
    controls = {
        "d": int_slider("d", d, 4, 200),
        "ell": int_slider("ℓ = dim P⊥", ell, 1, d - 1),
        "m": int_slider("m (width)", m, 2, 300),
        "beta": log_slider(
            "β (init scale)", 1.0 / d**0.5 if beta is None else beta, -3, 0, 0.05, ".3g"
        ),
    }

    def draw(axes, d, ell, m, beta):
        # Keep an update within ~250 ms: fewer networks for large m·d, and at most 60
        # GD steps (Theorem A holds at every step, whether or not the margin is
        # reached).
        E = int(min(ensemble, max(30, 3e5 // (m * max(d, 20)))))
        sample = gradient_law_experiment(
            d,
            min(ell, d - 1),
            m,
            ensemble=E,
            n=n,
            init_scale=float(beta),
            max_steps=60,
            seed=seed,
        )
        plot_gradient_explorer(sample, axes)
        axes[0].figure.suptitle(
            f"{int(sample.reached.sum())}/{len(sample)} networks reached margin 0.3 "
            "within 60 steps",
            fontsize="small",
        )

    return explorer(
        controls,
        draw,
        rows=[["d", "ell"], ["m", "beta"]],
        grid=(1, 2),
        figsize=(10, 3.8),
        limits=_ell_below_d,
    )


# --- Chapter 02: the universal direction (Theorem B) ----------------------------------
def universal_explorer(
    d: int = 100,
    ell: int = 60,
    m: int = 50,
    *,
    ensemble: int = 4,
    n: int = 40,
    n_test: int = 100,
    seed: int = 0,
):
    """Sliders ℓ, m, d: each move trains ``ensemble`` networks (< 1 s) and redraws the
    universal step against |N(x0)| (:func:`advsub.plotting.plot_size_vs_output`) with
    the flip rate. Returns the box."""
    controls = {
        "ell": int_slider("ℓ = dim P⊥", ell, 1, d - 1),
        "m": int_slider("m (width)", m, 2, 400),
        "d": int_slider("d", d, 10, 200),
    }

    def draw(ax, ell, m, d):
        ell = min(ell, d - 1)
        sample = attack_experiment(
            d,
            ell,
            m,
            ensemble=ensemble,
            n=n,
            n_test=n_test,
            attack=False,
            max_steps=500,
            seed=seed,
        )
        plot_size_vs_output(sample.output, sample.universal, sample.k, m, d, ell, ax)
        ax.set_title(
            f"d={d}, ℓ={ell}, m={m}: {sample.flip_rate(d**0.5):.0%} flipped with ‖z‖ ≤ "
            "‖x0‖; "
            f"{int(sample.reached.sum())}/{ensemble} nets trained",
            fontsize="small",
        )

    return explorer(
        controls, draw, rows=[["ell", "m", "d"]], figsize=(6.5, 4), limits=_ell_below_d
    )


# --- Chapter 03: small initialisation (Theorem C) -------------------------------------
def small_init_explorer(
    beta_exponent: float = 0.5,
    ell: int = 60,
    m: int = 50,
    *,
    d: int = 100,
    ensemble: int = 4,
    n: int = 40,
    n_test: int = 100,
    seed: int = 0,
):
    """Sliders β = d^(−a), ℓ, m: each move trains ``ensemble`` networks on linearly
    labelled data and shows the certified radius, the orthogonal attack and the
    universal step per held-out point (:func:`advsub.plotting.plot_sandwich`), with the
    accuracy and the steps needed. Returns the box."""
    controls = {
        "a": float_slider("β = d^(−a), a", beta_exponent, 0.5, 1.5, 0.125),
        "ell": int_slider("ℓ = dim P⊥", ell, 1, d - 1),
        "m": int_slider("m (width)", m, 2, 300),
    }

    def draw(ax, a, ell, m):
        beta = d**-a
        sample = attack_experiment(
            d,
            ell,
            m,
            ensemble=ensemble,
            n=n,
            n_test=n_test,
            init_scale=beta,
            labels="linear",
            max_steps=1000,
            seed=seed,
        )
        plot_sandwich(sample.certified, sample.orthogonal, sample.universal, ax)
        ax.set_title(
            f"β = d^(−{a:g}) = {beta:.2g}: accuracy {sample.accuracy.mean():.0%}, "
            f"steps {int(sample.steps.max())}, reached "
            f"{int(sample.reached.sum())}/{ensemble}",
            fontsize="small",
        )

    return explorer(controls, draw, rows=[["a", "ell", "m"]], figsize=(6.5, 4))


# --- Chapter 04: L2 regularisation (Theorem D) ----------------------------------------
@functools.lru_cache(maxsize=32)
def _decay_run(lam, d, ell, m, ensemble, steps, seed, lr=0.5):
    """One λ of :func:`draw_weight_decay_explorer`: decay curve and universal sizes.

    Cached: the λ = 0 run does not depend on the λ slider, and a slider moved back
    finds its figure's numbers again (the same deterministic computation).
    """
    P = Subspace.random(d, ell, seed=seed)
    X, y = make_dataset(P, 150, seed=seed + 1, labels="linear")
    net = TwoLayerReLU(d, m, ensemble=ensemble, seed=seed + 2)
    cps = np.linspace(steps / 6, steps, 6).astype(int)
    st, r = orthogonal_decay_curve(
        net, X[:100], y[:100], P, lr=lr, weight_decay=lam, checkpoints=cps
    )
    size = universal_perturbation(net, X[100:], P)[0].numpy().ravel()
    for array in (st, r, size):
        array.flags.writeable = False
    return st, r, size


def draw_weight_decay_explorer(
    axes,
    *,
    weight_decay: float = 1e-2,
    ell: int = 50,
    m: int = 50,
    d: int = 100,
    ensemble: int = 3,
    steps: int = 600,
    lr: float = 0.5,
    seed: int = 0,
):
    """Train ``ensemble`` networks with and without weight decay for ``steps`` GD steps
    (η = ``lr``, margin never reached) and draw the decay curve (``axes[0]``) and the
    universal step sizes at held-out points (``axes[1]``); returns the two flip rates
    within the budget ‖z‖ = √d."""
    budget = d**0.5
    rates, sizes = [], []
    for lam in (0.0, weight_decay):
        st, r, size = _decay_run(float(lam), d, ell, m, ensemble, steps, seed, lr)
        if lam == weight_decay:
            plot_decay_curve([st], [r], lr, [lam], axes[0])
        sizes.append(size)
        rates.append(float((size <= budget).mean()))
    hi = max(np.log10(np.clip(s, 1e-3, 1e12)).max() for s in sizes)
    lo = min(np.log10(np.maximum(s, 1e-3)).min() for s in sizes)
    bins = np.linspace(lo, hi + 1e-9, 30)
    for s, lam, rate in zip(sizes, (0.0, weight_decay), rates):
        axes[1].hist(
            np.log10(np.clip(s, 1e-3, 1e12)),
            bins=bins,
            alpha=0.6,
            label=f"λ = {lam:g}: {rate:.0%} flipped",
        )
    axes[1].axvline(
        np.log10(budget), color="k", ls="--", label=f"budget √d = {budget:.0f}"
    )
    axes[1].set_xlabel("log10 universal step size (input units)")
    axes[1].set_ylabel("held-out points")
    axes[1].legend(fontsize="small")
    return rates


def weight_decay_explorer(
    weight_decay: float = 1e-2,
    ell: int = 50,
    m: int = 50,
    *,
    d: int = 100,
    steps: int = 300,
    lr: float = 1.0,
    seed: int = 0,
):
    """Sliders λ, ℓ, m: each move retrains small ensembles with and without weight decay
    and redraws :func:`draw_weight_decay_explorer`. Returns the ipywidgets box.

    To redraw within a quarter of a second the explorer trains ``steps`` = 300 GD steps
    at η = ``lr`` = 1, not the chapter's 600 at η = 0.5: the same ηλt, so the same
    predicted factor (1 − ηλ)^t up to O(η²λ²t) (at λ = 10⁻², 0.049 either way), and at
    the defaults the same flip rates within 1–2 points (measured for λ from 10⁻⁴ to
    10⁻¹, ℓ = 50 and 90, m = 50 and 200). The figure's title says so. A λ = 0 run is
    cached: moving λ retrains one ensemble, moving ℓ or m two.
    """
    controls = {
        "weight_decay": log_slider(
            "λ (weight decay)", weight_decay, -4, -1, 0.1, ".2g"
        ),
        "ell": int_slider("ℓ = dim P⊥", ell, 1, d - 1),
        "m": int_slider("m (width)", m, 5, 200, 5),
    }

    def draw(axes, weight_decay, ell, m):
        draw_weight_decay_explorer(
            axes,
            weight_decay=float(weight_decay),
            ell=int(ell),
            m=int(m),
            d=d,
            steps=steps,
            lr=lr,
            seed=seed,
        )
        axes[0].set_title(
            f"{steps} GD steps at η = {lr:g} (ηλt as 600 steps at η = 0.5)",
            fontsize="small",
        )

    return explorer(
        controls,
        draw,
        rows=[["weight_decay", "ell", "m"]],
        grid=(1, 2),
        figsize=(11, 4),
    )


# --- Chapter 05: the paper's pictures -------------------------------------------------
def pictures_explorer(
    init_factor: float = 1.0,
    weight_decay: float = 0.0,
    width: int = 100,
    *,
    seed: int = 0,
):
    """Sliders init scale (β divided by a factor), λ and width m for the line picture:
    each move retrains one network on the seven points (< 1 s) and redraws its decision
    boundary (:func:`advsub.plotting.plot_decision_boundary`) with the crossing angles
    and distances (:func:`advsub.toydata.line_picture_stats`). Returns the ipywidgets
    box."""
    _, _, P = line_dataset()
    controls = {
        "init_factor": log_slider("β_std / β", init_factor, 0, 2, 0.1, ".3g"),
        "weight_decay": float_slider(
            "λ (weight decay)", weight_decay, 0.0, 8e-3, 5e-4, ".4f"
        ),
        "width": int_slider("m (width)", width, 10, 300, 10),
    }

    def draw(ax, init_factor, weight_decay, width):
        net, hist, X, y = train_picture(
            "line",
            init_factor=float(init_factor),
            weight_decay=float(weight_decay),
            width=int(width),
            seed=seed,
            max_steps=3000,
        )
        stats = line_picture_stats(net, X, P)
        plot_decision_boundary(net, ax, X=X, y=y, guide=((-1.5, -1.5), (1.5, 1.5)))
        ang = f"{np.median(stats['angle']):.0f}°" if len(stats["angle"]) else "none"
        ax.set_title(
            f"{'reached' if hist.all_reached else 'NOT reached'} margin 0.3 in "
            f"{int(hist.steps[0])} steps\n"
            f"median crossing angle {ang}; distance orth/along "
            f"{np.median(stats['orth']):.2f}/{np.median(stats['along']):.2f}",
            fontsize="small",
        )
        ax.legend(fontsize="x-small", loc="lower right")

    return explorer(
        controls, draw, rows=[["init_factor", "weight_decay", "width"]], figsize=(5, 5)
    )


# --- Chapters 06–07: beyond the paper -------------------------------------------------
def draw_depth_explorer(
    axes,
    *,
    depth: int = 3,
    width: int = 40,
    beta_exponent: float = 0.5,
    weight_decay: float = 0.0,
    d: int = 40,
    ell: int = 20,
    ensemble: int = 6,
    seed: int = 0,
):
    """Train ``ensemble`` DeepReLU nets (β = d^−a, decay λ for 300 steps if λ > 0) and
    draw two panels.

    Left: ‖Π∇N(x0)‖ against its typical value β√ℓ‖δ_1(x0)‖ (eq. 06 deep law), one dot
    per (network, point). Right: histogram of the smallest orthogonal flips, relative to
    ‖x0‖ = √d.
    """
    P = Subspace.random(d, ell, seed=seed)
    X, y = make_dataset(P, 30, seed=seed + 1)
    Xt, _ = make_dataset(P, 15, seed=seed + 2)
    net = DeepReLU(
        d,
        [width] * (depth - 1),
        ensemble=ensemble,
        seed=seed + 3,
        init_scale=float(d) ** -beta_exponent,
    )
    decay = weight_decay > 0
    hist = train(
        net,
        X,
        y,
        lr=0.3,
        weight_decay=weight_decay,
        max_steps=300 if decay else 3000,
        target_margin=1e9 if decay else 0.3,
        progress=False,
    )
    g = orthogonal_gradient(net, Xt, P).norm(dim=-1).flatten().numpy()
    pred = (
        (net.beta * (ell * net.first_layer_signal(Xt).pow(2).sum(-1)).sqrt())
        .flatten()
        .numpy()
    )
    _, size = orthogonal_attack(net, Xt, P)
    ax = axes[0]
    ax.loglog(pred, g, ".", alpha=0.6, label="(network, held-out point)")
    lim = [min(pred.min(), g.min()) * 0.8, max(pred.max(), g.max()) * 1.2]
    ax.plot(lim, lim, "k--", lw=1, label="measured = predicted")
    ax.set_xlabel(r"prediction $\beta\sqrt{\ell}\,\|\delta_1(x_0)\|$")
    ax.set_ylabel(r"$\|\Pi\nabla_x N(x_0)\|$")
    ax.set_title(
        f"depth {depth}, width {width}, β=d^-{beta_exponent:g}, λ={weight_decay:g}",
        fontsize="small",
    )
    ax.legend(fontsize="small")
    rel = (size / d**0.5).flatten().numpy()
    rel = rel[np.isfinite(rel)]
    axes[1].hist(rel, bins=20, color=colour(1), alpha=0.8)
    axes[1].set_xlabel(r"smallest flip in $P^\perp$ / $\|x_0\|$")
    axes[1].set_ylabel("number of (network, point) pairs")
    axes[1].set_title(
        f"reached margin: {int(hist.reached.sum())}/{ensemble}; min train margin "
        f"{float(hist.final_margin.min()):.2f}",
        fontsize="small",
    )
    return axes


def _decay_or_zero(value: float) -> float:
    """The λ slider's far left (10⁻⁴) means no weight decay."""
    return 0.0 if value <= 1e-4 else float(value)


def depth_explorer(
    depth: int = 3,
    width: int = 40,
    *,
    d: int = 40,
    ell: int = 20,
    ensemble: int = 6,
    seed: int = 0,
):
    """Sliders depth, width, β exponent a (β = d^−a) and weight decay; redraws
    :func:`draw_depth_explorer`."""
    controls = {
        "depth": int_slider("depth", depth, 2, 5),
        "width": int_slider("width", width, 8, 120, 4),
        "a": float_slider("β = d^-a, a", 0.5, 0.25, 1.5, 0.25),
        "weight_decay": log_slider("λ (0 at far left)", 1e-4, -4, -1, 0.25, ".1e"),
    }

    def draw(axes, depth, width, a, weight_decay):
        draw_depth_explorer(
            axes,
            depth=depth,
            width=width,
            beta_exponent=a,
            weight_decay=_decay_or_zero(weight_decay),
            d=d,
            ell=ell,
            ensemble=ensemble,
            seed=seed,
        )

    return explorer(
        controls,
        draw,
        rows=[["depth", "width"], ["a", "weight_decay"]],
        grid=(1, 2),
        figsize=(10, 3.6),
    )


def draw_digits_explorer(
    axes,
    *,
    digit_a: int = 0,
    digit_b: int = 1,
    view: str = "pixels",
    k: int = 10,
    beta_exponent: float = 0.5,
    weight_decay: float = 0.0,
    width: int = 100,
    seed: int = 0,
):
    """Train a two-layer net on two digit classes and draw original / perturbed test
    digits with predictions.

    ``axes`` is a (2, K) grid: top row test digits, bottom row the same digits moved by
    the smallest flip found in P⊥ (dead pixels, or the PCA complement), titled with the
    predicted labels. Both rows share a diverging map centred at 0 (white 0, dark
    positive, red negative intensities), as the chapter's other digit figures.

    Returns
    -------
    ndarray (K,)
        ‖z‖ / ‖x0‖ of each digit's flip (``inf`` where none was found).
    """
    X, y, P = digits_dataset(
        (digit_a, digit_b), view=view, k=k if view == "pca" else None, seed=seed
    )
    K = np.asarray(axes).shape[1]
    Xt, yt, _ = digits_dataset(
        (digit_a, digit_b),
        view=view,
        k=k if view == "pca" else None,
        split="test",
        seed=seed,
    )
    Xt, yt = Xt[:K], yt[:K]
    net = TwoLayerReLU(64, width, seed=seed, init_scale=64.0**-beta_exponent)
    decay = weight_decay > 0
    train(
        net,
        X,
        y,
        lr=0.5,
        weight_decay=weight_decay,
        max_steps=500 if decay else 5000,
        target_margin=1e9 if decay else 0.3,
        progress=False,
    )
    z, size = orthogonal_attack(net, Xt, P)
    name = {1.0: digit_b, -1.0: digit_a}
    pred = [name[1.0 if v >= 0 else -1.0] for v in net(Xt)[0].tolist()]
    adv = (Xt + z[0]).numpy()
    pred_adv = [name[1.0 if v >= 0 else -1.0] for v in net(Xt + z[0])[0].tolist()]
    # one symmetric range for both rows, set by the clean digits (0 is white; larger
    # perturbed intensities saturate), as in the chapter's figure of perturbed digits
    hi = float(Xt.abs().max())
    plot_digits(
        Xt.numpy(),
        axes[0],
        titles=[f"predicted {p}" for p in pred],
        vmin=-hi,
        vmax=hi,
        cmap="RdGy",
    )
    plot_digits(
        adv,
        axes[1],
        titles=[
            f"→ {p}, ‖z‖/‖x‖={s / 8:.2f}" for p, s in zip(pred_adv, size[0].tolist())
        ],
        vmin=-hi,
        vmax=hi,
        cmap="RdGy",
    )
    return (size[0] / 8).numpy()


def digits_explorer(*, K: int = 5, seed: int = 0):
    """Dropdowns for the two digits and the view, sliders k, β exponent, λ; redraws
    :func:`draw_digits_explorer`."""
    controls = {
        "digit_a": dropdown("digit −1", range(10), 0),
        "digit_b": dropdown("digit +1", range(10), 1),
        "view": dropdown("view", ["pixels", "pca"], "pixels"),
        "k": int_slider("k (pca)", 10, 2, 40),
        "a": float_slider("β = 64^-a, a", 0.5, 0.25, 1.5, 0.25),
        "weight_decay": log_slider("λ (0 at far left)", 1e-4, -4, -1, 0.25, ".1e"),
    }

    def draw(axes, digit_a, digit_b, view, k, a, weight_decay):
        draw_digits_explorer(
            axes,
            digit_a=digit_a,
            digit_b=digit_b,
            view=view,
            k=k,
            beta_exponent=a,
            weight_decay=_decay_or_zero(weight_decay),
            seed=seed,
        )

    return explorer(
        controls,
        draw,
        rows=[["digit_a", "digit_b", "view"], ["k", "a", "weight_decay"]],
        grid=(2, K),
        figsize=(2.0 * K, 4.4),
        skip=lambda v: v["digit_a"] == v["digit_b"],
    )
