"""Plotting helpers: each draws one figure of the book onto a matplotlib Axes.

Colours come from the book's colour-blind-safe palette (:mod:`advsub.figures.style`:
``colour(i)``, the i-th colour of the cycle) and colour maps from its ``SEQUENTIAL`` /
``DIVERGING`` choices, so a figure drawn outside the book looks as it does inside."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt  # noqa: F401  (the figures layer needs matplotlib)
import numpy as np

from .style import SEQUENTIAL, colour

# --- Chapter 01: the orthogonal gradient (Theorem A) ----------------------------------


def text_table(header, rows, *, floatfmt: str = ".3g") -> str:
    """A plain-text table (no pandas needed): ``header`` a list of column names,
    ``rows`` lists of cells.

    Floats are formatted with ``floatfmt``; columns are left-aligned and padded.
    """

    def fmt(cell):
        if isinstance(cell, (float, np.floating)):
            return format(float(cell), floatfmt)
        return str(cell)

    cells = [[str(h) for h in header]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(r[j]) for r in cells) for j in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plot_gradient_components(
    parallel, orthogonal, ax, *, predicted=None, bins: int = 30
):
    """Histograms of ‖(I−Π)∇N(x0)‖ and ‖Π∇N(x0)‖ over networks, with Theorem A's typical
    size.

    Parameters
    ----------
    parallel, orthogonal : array-like, shape (E,)
        Norms of the gradient's components in P and in P⊥, one held-out point per
        network.
    ax : matplotlib Axes
    predicted : float, optional
        Theorem A's typical size of ‖Π∇N(x0)‖ (e.g. √(kℓ/(md)) at the mean k), drawn as
        a vertical line.
    """
    parallel, orthogonal = np.asarray(parallel, float), np.asarray(orthogonal, float)
    hi = max(parallel.max(), orthogonal.max()) * 1.05
    edges = np.linspace(0.0, hi, bins + 1)
    ax.hist(
        parallel, bins=edges, alpha=0.55, label=r"in $P$: $\|(I-\Pi)\nabla_x N(x_0)\|$"
    )
    ax.hist(
        orthogonal,
        bins=edges,
        alpha=0.55,
        label=r"in $P^\perp$: $\|\Pi\nabla_x N(x_0)\|$",
    )
    if predicted is not None:
        ax.axvline(predicted, color="k", ls="--", label=r"theory $\sqrt{k\ell/(md)}$")
    ax.set_xlabel("gradient component norm (output units per input unit)")
    ax.set_ylabel("number of networks")
    ax.legend(fontsize="small")
    return ax


def plot_statistic_histogram(
    statistic, ell: int, ax, *, label: str = "measured", bins: int = 40, color=None
):
    """Histogram (density) of ‖Π∇N(x0)‖²·m/(kβ²) with the χ²_ℓ density of Theorem A
    drawn over it.

    Parameters
    ----------
    statistic : array-like, shape (E,)
        One value per network.
    ell : int
        Degrees of freedom ℓ = dim P⊥.
    ax : matplotlib Axes
    """
    from scipy import stats

    statistic = np.asarray(statistic, float)
    law = stats.chi2(ell)
    hi = max(np.quantile(statistic, 0.999), law.ppf(0.999))
    edges = np.linspace(0.0, hi, bins + 1)
    ax.hist(
        statistic,
        bins=edges,
        density=True,
        alpha=0.5,
        color=color,
        label=f"{label} ({statistic.size} networks)",
    )
    grid = np.linspace(1e-6, hi, 400)
    ax.plot(
        grid,
        law.pdf(grid),
        "k-",
        lw=1.5,
        label=rf"$\chi^2_{{{ell}}}$ density (exact law)",
    )
    ax.set_xlabel(r"$\|\Pi\nabla_x N(x_0)\|^2\, m/(k\beta^2)$ (dimensionless)")
    ax.set_ylabel("density")
    ax.legend(fontsize="small")
    return ax


def plot_lower_bound_success(ells, successes, trials, ax):
    r"""Fraction of networks with ‖Π∇N(x0)‖ ≥ √(kℓβ²/(2m)) against ℓ, with binomial
    error bars.

    Draws the guarantee :math:`1 - e^{-\ell/16}`
    (:func:`advsub.theory.lower_bound_failure_probability`) and the exact probability
    P(χ²_ℓ ≥ ℓ/2) (from :func:`advsub.theory.orthogonal_gradient_law`).

    Parameters
    ----------
    ells, successes, trials : array-like, shape (L,)
        ℓ values, number of networks where the bound held, number of networks.
    """
    from .. import theory

    ells = np.asarray(ells, int)
    successes, trials = np.asarray(successes, float), np.asarray(trials, float)
    rate = successes / trials
    se = np.sqrt(np.clip(rate * (1 - rate), 1.0 / trials, None) / trials)
    grid = np.unique(np.round(np.geomspace(1, ells.max(), 200)).astype(int))
    guarantee = [1 - theory.lower_bound_failure_probability(int(l)) for l in grid]
    exact = [
        theory.orthogonal_gradient_law(1, int(l), 1, 1.0).sf(
            theory.gradient_lower_bound(1, int(l), 1, int(l) + 1, 1.0) ** 2
        )
        for l in grid
    ]
    ax.plot(grid, exact, "C0-", lw=1, label=r"exact $P(\chi^2_\ell \geq \ell/2)$")
    ax.plot(grid, guarantee, "k--", label=r"guarantee $1-e^{-\ell/16}$")
    ax.errorbar(
        ells,
        rate,
        yerr=3 * se,
        fmt="o",
        color=colour(3),
        capsize=3,
        label=r"measured ($\pm 3$ s.e.)",
    )
    ax.set_xscale("log")
    ax.set_xlabel(r"$\ell = \dim P^\perp$")
    ax.set_ylabel(r"fraction with $\|\Pi\nabla N\| \geq \sqrt{k\ell\beta^2/(2m)}$")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize="small", loc="lower right")
    return ax


def plot_gradient_sweep(values, mean, sem, expected, ax, *, xlabel: str, rms=None):
    """Mean ‖Π∇N(x0)‖ over networks against one swept parameter, on log-log axes, with
    the theory.

    Parameters
    ----------
    values : array-like, shape (V,)
        The swept parameter (ℓ, m or d).
    mean, sem : array-like, shape (V,)
        Measured mean of ‖Π∇N(x0)‖ over networks and its standard error.
    expected : array-like, shape (V,)
        Exact expectation E‖Π∇N(x0)‖ given the measured k (mean over networks).
    rms : array-like, shape (V,), optional
        The root mean square √(kℓβ²/m) = √(kℓ/(md)) at the mean k.
    """
    values = np.asarray(values, float)
    if rms is not None:
        ax.plot(values, rms, "k:", label=r"$\sqrt{k\ell/(md)}$")
    ax.plot(
        values, expected, "k-", lw=1, label=r"theory $\mathbb{E}\|\Pi\nabla N(x_0)\|$"
    )
    ax.errorbar(
        values,
        mean,
        yerr=3 * np.asarray(sem, float),
        fmt="o",
        color=colour(3),
        capsize=3,
        label=r"measured ($\pm 3$ s.e.)",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Ticks at the swept values, plain numbers; a y-range of at least a factor 4 so that
    # a flat
    # curve looks flat on log axes.
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.set_xticks(values)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ys = np.concatenate([np.asarray(mean, float), np.asarray(expected, float)])
    lo, hi = ys.min() / 1.3, ys.max() * 1.3
    if hi / lo < 4:
        mid = math.sqrt(lo * hi)
        lo, hi = mid / 2, mid * 2
    ax.set_ylim(lo, hi)
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.set_yticks(
        [
            t
            for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10)
            if lo <= t <= hi
        ]
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"mean $\|\Pi\nabla_x N(x_0)\|$")
    ax.legend(fontsize="small")
    return ax


def plot_gradient_explorer(sample, axes):
    """The chapter-01 explorer: (left) the χ²_ℓ law of the normalised statistic, (right)
    each network's ‖Π∇N(x0)‖ against Theorem A's lower bound √(kℓβ²/(2m)).

    Parameters
    ----------
    sample : advsub.GradientSample
    axes : sequence of two matplotlib Axes
    """
    ax0, ax1 = axes
    plot_statistic_histogram(sample.statistic, sample.ell, ax0, bins=30)
    bound, norm = sample.lower_bound(), sample.norm[sample.valid]
    holds = norm >= bound
    ax1.scatter(
        bound[holds],
        norm[holds],
        s=8,
        alpha=0.6,
        color=colour(0),
        label=f"bound holds ({holds.mean():.1%})",
    )
    ax1.scatter(
        bound[~holds],
        norm[~holds],
        s=8,
        alpha=0.8,
        color=colour(3),
        label="bound fails",
    )
    lim = [0.0, max(norm.max(), bound.max()) * 1.05]
    ax1.plot(
        lim, lim, "k--", lw=1, label=r"$\|\Pi\nabla N\| = \sqrt{k\ell\beta^2/(2m)}$"
    )
    ax1.set_xlim(lim)
    ax1.set_ylim(lim)
    ax1.set_xlabel(r"lower bound $\sqrt{k\ell\beta^2/(2m)}$")
    ax1.set_ylabel(r"measured $\|\Pi\nabla_x N(x_0)\|$")
    ax1.legend(fontsize="small", loc="lower right")
    ax1.set_title(
        f"d={sample.d}, ℓ={sample.ell}, m={sample.m}, β={sample.beta:.3g}: mean norm "
        f"{sample.norm.mean():.3g}",
        fontsize="small",
    )
    return axes


# --- Chapters 02 and 03: the universal direction, attacks and certificates ------------


def plot_size_vs_ell(ells, ratios, slopes, ax, *, reference: float = -0.5):
    """log-log: size/|N(x0)| of the universal step against ℓ, one line per seed, with
    the fitted slope.

    Parameters
    ----------
    ells : array (L,)
    ratios : array (S, L)
        Median over points of ‖z‖/|N(x0)|, one row per seed.
    slopes : array (S,)
        Fitted log-log slopes, one per seed.
    reference : float
        The exponent the theory predicts (−1/2); −1 (the summary's claim) is drawn too.
    """
    ells, ratios, slopes = (
        np.asarray(ells, float),
        np.asarray(ratios, float),
        np.asarray(slopes, float),
    )
    for s, row in enumerate(ratios):
        ax.plot(
            ells,
            row,
            "o-",
            color=colour(0),
            alpha=0.35,
            lw=1,
            label="median per seed" if s == 0 else None,
        )
    geo = np.exp(np.log(ratios).mean(0))
    anchor = geo[len(ells) // 2] / ells[len(ells) // 2] ** reference
    ax.plot(
        ells,
        anchor * ells**reference,
        "k--",
        label=rf"theory $\propto \ell^{{{reference:g}}}$ ($\sqrt{{d/\ell}}$)",
    )
    anchor1 = geo[len(ells) // 2] / ells[len(ells) // 2] ** -1.0
    ax.plot(
        ells,
        anchor1 * ells**-1.0,
        ":",
        color=colour(3),
        label=r"summary's claim $\propto \ell^{-1}$",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\ell = \dim P^\perp$")
    ax.set_ylabel(r"$\|z\|/|N(x_0)|$ (input units per output unit)")
    ax.set_title(
        f"fitted exponent {slopes.mean():.3f} ± "
        f"{slopes.std(ddof=1) if len(slopes) > 1 else 0:.3f} (sd over {len(slopes)} "
        "seeds)",
        fontsize="small",
    )
    ax.legend(fontsize="small")
    return ax


def plot_size_vs_output(
    output, size, k, m: int, d: int, ell: int, ax, *, beta=None, max_points: int = 2000
):
    """Scatter of the universal size against |N(x0)|, with Theorem B's line
    |N|·(m/k̄)·√(d/ℓ)."""
    from ..theory import predicted_universal_size

    out, size, k = (np.abs(np.asarray(a, float)).ravel() for a in (output, size, k))
    keep = np.isfinite(size) & (k > 0)
    out, size, k = out[keep][:max_points], size[keep][:max_points], k[keep][:max_points]
    sc = ax.scatter(
        out, size, c=k / m, s=8, cmap=SEQUENTIAL, alpha=0.7, label="held-out points"
    )
    ax.figure.colorbar(sc, ax=ax, label="k/m (active fraction)")
    grid = np.linspace(0, out.max() * 1.05, 50)
    ax.plot(
        grid,
        predicted_universal_size(
            grid, np.full_like(grid, k.mean()), m, d, ell, beta=beta
        ),
        "k--",
        label=r"theory $|N(x_0)|\,(m/\bar k)\,\sqrt{d/\ell}$",
    )
    ax.set_xlabel(r"$|N(x_0)|$ (output units)")
    ax.set_ylabel(r"universal step $\|z\|$ (input units)")
    ax.legend(fontsize="small")
    return ax


def plot_sandwich(certified, orthogonal, universal, ax, *, unconstrained=None):
    """Per point, sorted by the orthogonal attack: certified radius ≤ orthogonal attack
    ≤ universal step."""
    c, o, u = (np.asarray(a, float).ravel() for a in (certified, orthogonal, universal))
    order = np.argsort(o)
    x = np.arange(len(o))
    ax.plot(
        x, u[order], ".", ms=3, color=colour(3), label="universal step (upper bound)"
    )
    ax.plot(
        x,
        o[order],
        "-",
        lw=1.5,
        color=colour(0),
        label="orthogonal attack (DeepFool in $P^\\perp$)",
    )
    ax.plot(
        x, c[order], ".", ms=3, color=colour(2), label="certified radius (lower bound)"
    )
    if unconstrained is not None:
        ax.plot(
            x,
            np.asarray(unconstrained, float).ravel()[order],
            ".",
            ms=2,
            color="0.5",
            alpha=0.6,
            label="unconstrained attack (all of $\\mathbb{R}^d$)",
        )
    ax.set_yscale("log")
    ax.set_xlabel("held-out point (sorted by the orthogonal attack)")
    ax.set_ylabel(r"$\ell_2$ size of the perturbation (input units)")
    ax.legend(fontsize="small")
    return ax


def plot_regime_sweep(
    ells, ms, agreement, agreement_theory, flip_rate, size_ratio_q, axes
):
    """Where Theorem B's clean argument holds: everything against m/ℓ, one colour per ℓ.

    Parameters
    ----------
    ells, ms : arrays (R,)
        The configurations.
    agreement, agreement_theory : arrays (R,)
        Measured fraction of neurons moved the self term's way, and its exact law.
    flip_rate : array (R,)
        Fraction of held-out points flipped within the budget ‖z‖ ≤ ‖x0‖.
    size_ratio_q : array (R, 3)
        10%, 50%, 90% quantiles of measured size / predicted size.
    axes : two Axes
    """
    ells, ms = np.asarray(ells), np.asarray(ms)
    agreement, agreement_theory, flip_rate = (
        np.asarray(a, float) for a in (agreement, agreement_theory, flip_rate)
    )
    q = np.asarray(size_ratio_q, float)
    for j, ell in enumerate(np.unique(ells)):
        sel = np.flatnonzero(ells == ell)
        sel = sel[np.argsort(ms[sel] / ell)]
        r = ms[sel] / ell
        c = colour(j)
        axes[0].plot(
            r,
            agreement[sel],
            "o",
            color=c,
            label=f"ℓ={ell}: neurons moved the self term's way",
        )
        axes[0].plot(r, agreement_theory[sel], "--", color=c, lw=1)
        axes[0].plot(
            r,
            flip_rate[sel],
            "s-",
            color=c,
            mfc="none",
            label=rf"ℓ={ell}: points flipped, $\|z\|\leq\|x_0\|$",
        )
        axes[1].errorbar(
            r,
            q[sel, 1],
            yerr=[q[sel, 1] - q[sel, 0], q[sel, 2] - q[sel, 1]],
            fmt="o-",
            color=c,
            capsize=3,
            label=f"ℓ={ell}: median, 10%–90%",
        )
    axes[0].plot(
        [],
        [],
        "k--",
        lw=1,
        label=r"theory $\mathbb{E}\,\Phi(\sqrt{\chi^2_\ell/(m-1)})$",
    )
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(r"$m/\ell$")
    axes[0].set_ylim(0.45, 1.03)
    axes[0].set_ylabel("fraction")
    axes[0].legend(fontsize="x-small")
    axes[1].axhline(1.0, color="k", ls="--", lw=1, label="theory (ratio 1)")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("measured / predicted universal size")
    axes[1].legend(fontsize="x-small")
    return axes


def plot_beta_sweep(betas, curves, ax, *, ylabel: str, slopes=None):
    """log-log curves against β, each ``curves[name] = (values (B,), theory_slope)``
    with its fitted slope.

    A dashed line of the theory slope is anchored at the first β of each curve.
    """
    betas = np.asarray(betas, float)
    for j, (name, (values, slope)) in enumerate(curves.items()):
        values = np.asarray(values, float)
        fit = np.polyfit(np.log(betas), np.log(values), 1)[0]
        ax.plot(
            betas,
            values,
            "o-",
            color=colour(j),
            label=f"{name} (fitted slope {fit:.2f})",
        )
        ax.plot(
            betas,
            values[0] * (betas / betas[0]) ** slope,
            "--",
            color=colour(j),
            lw=1,
            alpha=0.7,
            label=f"theory slope {slope:g}",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"initialisation scale $\beta$")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    return ax


def plot_price(betas, steps, reached, accuracy, axes, *, dead=None):
    """What small initialisation costs, against β: training steps (mean, max) and the
    fraction of networks that reached the margin (``axes[0]``), held-out accuracy (and
    the fraction of dead points) (``axes[1]``).

    ``steps`` (B, E), ``reached`` (B,), ``accuracy`` (B, E), ``dead`` (B,) or None.
    """
    betas = np.asarray(betas, float)
    steps, accuracy = np.asarray(steps, float), np.asarray(accuracy, float)
    ax = axes[0]
    ax.plot(betas, steps.mean(1), "o-", label="mean steps to margin 0.3")
    ax.plot(betas, steps.max(1), "s--", label="max steps")
    ax.set_xscale("log")
    ax.set_xlabel(r"initialisation scale $\beta$")
    ax.set_ylabel("gradient steps")
    ax2 = ax.twinx()
    ax2.plot(
        betas,
        np.asarray(reached, float),
        "^:",
        color=colour(3),
        label="networks that reached the margin",
    )
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("fraction of networks", color=colour(3))
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, [h.get_label() for h in lines], fontsize="small")
    ax = axes[1]
    ax.errorbar(
        betas,
        accuracy.mean(1),
        yerr=accuracy.std(1, ddof=1) / np.sqrt(accuracy.shape[1]),
        fmt="o-",
        capsize=3,
        label="held-out accuracy (mean ± s.e. over networks)",
    )
    if dead is not None:
        ax.plot(
            betas,
            np.asarray(dead, float),
            "x:",
            color=colour(3),
            label="held-out points with no active neuron",
        )
    ax.set_xscale("log")
    ax.set_xlabel(r"initialisation scale $\beta$")
    ax.set_ylabel("fraction")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small")
    return axes


# --- Chapter 05: the paper's pictures -------------------------------------------------


def _slice_grid(origin, axes, extent, resolution):
    """Points origin + a·axes[0] + b·axes[1] on a resolution² grid over extent (a0, a1,
    b0, b1): (r², d)."""
    import torch

    a = np.linspace(extent[0], extent[1], resolution)
    b = np.linspace(extent[2], extent[3], resolution)
    A, B = np.meshgrid(a, b)  # rows: b, columns: a
    pts = (
        origin[None, :]
        + A.reshape(-1, 1) * axes[0][None, :]
        + B.reshape(-1, 1) * axes[1][None, :]
    )
    return torch.as_tensor(pts, dtype=torch.float64), A, B


def scatter_labels(ax, points, y, *, size: float, edge: str) -> None:
    """Scatter 2-D ``points`` (n, 2) on ``ax``: label +1 as blue circles, −1 as red
    squares, each with its legend entry."""
    for lab, col, mk in ((1.0, "tab:blue", "o"), (-1.0, "tab:red", "s")):
        sel = y == lab
        ax.scatter(
            points[sel, 0],
            points[sel, 1],
            c=col,
            marker=mk,
            s=size,
            edgecolors=edge,
            zorder=3,
            label=f"label {int(lab):+d}",
        )


def plot_decision_boundary(
    net,
    ax,
    *,
    X=None,
    y=None,
    member: int = 0,
    origin=None,
    axes=None,
    extent=(-1.5, 1.5, -1.5, 1.5),
    resolution: int = 201,
    guide=None,
    guide_label: str = "data line",
    labels=("$x_1$", "$x_2$"),
):
    """The decision regions and boundary {N = 0} of one member on a 2D slice of R^d.

    Parameters
    ----------
    net : TwoLayerReLU
    ax : matplotlib Axes
    X, y : tensors (n, d), (n,), optional
        Training points; those lying on the slice are drawn (blue +1, red −1).
    member : int
        Which ensemble member to draw.
    origin : array (d,), axes : array (2, d), optional
        The slice {origin + a·axes[0] + b·axes[1]}; the plane of the first two
        coordinates by default.
    extent : (a_min, a_max, b_min, b_max)
    guide : ((a0, b0), (a1, b1)), optional
        A dashed segment in slice coordinates (the data line or the trace of the data
        plane).
    """
    d = net.d
    origin = np.zeros(d) if origin is None else np.asarray(origin, float)
    axes = np.eye(d)[:2] if axes is None else np.asarray(axes, float)
    pts, A, B = _slice_grid(origin, axes, extent, resolution)
    Z = net.member(member)(pts.to(net.dtype))[0].detach().cpu().numpy().reshape(A.shape)
    ax.contourf(
        A, B, Z, levels=[-np.inf, 0.0, np.inf], colors=["#f4c7c3", "#c6dbef"], alpha=0.8
    )
    ax.contour(A, B, Z, levels=[0.0], colors="k", linewidths=1.6)
    if guide is not None:
        (a0, b0), (a1, b1) = guide
        ax.plot([a0, a1], [b0, b1], ls="--", color="0.35", lw=1.2, label=guide_label)
    if X is not None:
        Xn = np.asarray(X, float) - origin
        coords = Xn @ axes.T
        resid = np.linalg.norm(Xn - coords @ axes, axis=1)
        on = resid < 1e-9
        scatter_labels(ax, coords[on], np.asarray(y, float)[on], size=36, edge="k")
    ax.plot([], [], color="k", lw=1.6, label="boundary $N=0$")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    return ax


def plot_plane_flip_map(
    net,
    ax,
    *,
    X,
    y,
    height: float,
    member: int = 0,
    extent=(-0.25, 1.25, -0.25, 1.25),
    resolution: int = 121,
    vmin: float = 1e-2,
    vmax: float = 10.0,
):
    """Heatmap over the plane z = ``height`` of the distance |z − height| to the first
    sign change of N along the plane's normal e_z (log colour scale), with the in-plane
    boundary and the data.

    Returns the image (for a colorbar).
    """
    from matplotlib.colors import LogNorm

    from ..boundary import boundary_distance

    d = net.d
    origin = np.zeros(d)
    origin[-1] = height
    axes = np.eye(d)[:2]
    pts, A, B = _slice_grid(origin, axes, extent, resolution)
    one = net.member(member)
    normal = np.zeros(d)
    normal[-1] = 1.0
    dist = (
        boundary_distance(one, pts.to(net.dtype), np.asarray(normal))[0]
        .cpu()
        .numpy()
        .reshape(A.shape)
    )
    dist = np.clip(np.where(np.isfinite(dist), dist, vmax), vmin, vmax)
    im = ax.pcolormesh(
        A, B, dist, norm=LogNorm(vmin=vmin, vmax=vmax), cmap=SEQUENTIAL, shading="auto"
    )
    Z = one(pts.to(net.dtype))[0].detach().cpu().numpy().reshape(A.shape)
    ax.contour(A, B, Z, levels=[0.0], colors="w", linewidths=1.2)
    scatter_labels(ax, np.asarray(X, float), np.asarray(y, float), size=30, edge="w")
    ax.plot([], [], color="w", lw=1.2, label="in-plane boundary")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return im


# --- Chapters 06–07: beyond the paper -------------------------------------------------


def plot_quantile_curves(
    x,
    samples,
    ax,
    *,
    predicted=None,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
    marker: str = "o",
):
    """Medians with 25–75% bands of several measured series against ``x``, with
    predictions dashed.

    Parameters
    ----------
    x : array-like, shape (K,)
    samples : dict label → list of K array-likes (the values measured at each x)
    predicted : dict label → array-like (K,) or (x_fine, y_fine) pair, optional
        Drawn as dashed lines in the colour of the series with the same label (black
        otherwise).
    """
    x = np.asarray(x, float)
    colours = {}
    for j, (label, values) in enumerate(samples.items()):
        q = np.array(
            [np.nanquantile(np.asarray(v, float), [0.25, 0.5, 0.75]) for v in values]
        )
        (line,) = ax.plot(
            x,
            q[:, 1],
            marker=marker,
            color=colour(j),
            label=f"{label} (median, 25–75%)",
        )
        ax.fill_between(x, q[:, 0], q[:, 2], color=line.get_color(), alpha=0.2, lw=0)
        colours[label] = line.get_color()
    for label, curve in (predicted or {}).items():
        xs, ys = curve if isinstance(curve, tuple) else (x, curve)
        ax.plot(
            np.asarray(xs, float),
            np.asarray(ys, float),
            "--",
            color=colours.get(label, "k"),
            label=f"prediction: {label}",
        )
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    return ax


def plot_norm_ratios(ells, ratios, norm: str, ax):
    """size_p/size_2 of the attacks in P⊥ against ℓ, the Gaussian-gradient prediction,
    and the norm-equivalence band.

    Parameters
    ----------
    ells : array-like of int, shape (K,)
    ratios : list of K array-likes: the measured ratios at each ℓ
    norm : {"linf", "l1"}
    """
    from ..theory import norm_equivalence_bounds, predicted_norm_ratio

    ells = np.asarray(ells, int)
    fine = np.unique(np.geomspace(ells.min(), ells.max(), 60).astype(int))
    band = np.array([norm_equivalence_bounds(int(e), norm) for e in fine])
    name = r"\ell_\infty" if norm == "linf" else r"\ell_1"
    ax.fill_between(
        fine, band[:, 0], band[:, 1], color="0.85", label="norm equivalence allows"
    )
    plot_quantile_curves(
        ells,
        {f"measured ${name}/\\ell_2$": ratios},
        ax,
        predicted={"Gaussian gradient": (fine, predicted_norm_ratio(fine, norm))},
        xlabel=r"$\ell = \dim P^\perp$",
        ylabel=f"${name}$ size / $\\ell_2$ size",
        logx=True,
        logy=True,
    )
    return ax


def plot_ratio_histogram(
    ratios,
    ax,
    *,
    threshold: float = 0.99,
    label: str = "library / book",
    bins: int = 40,
):
    """Histogram of the ratio of two attack sizes per point, with the 'weak attack'
    threshold marked."""
    r = np.asarray(ratios, float).ravel()
    r = r[np.isfinite(r)]
    ax.hist(
        r, bins=bins, color=colour(0), alpha=0.7, label=f"{label} ({r.size} points)"
    )
    ax.axvline(
        threshold,
        color=colour(3),
        ls="--",
        label=f"threshold {threshold:g}: below it the book's attack is weak",
    )
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel("ratio of perturbation sizes ($\\ell_2$)")
    ax.set_ylabel("number of (network, point) pairs")
    ax.legend(fontsize="small")
    return ax


def plot_digits(
    images,
    axes,
    *,
    titles=None,
    side: int = 8,
    vmin=None,
    vmax=None,
    cmap: str = "gray_r",
):
    """Draw flattened square images (K, side²) on K axes (grey by default; a diverging
    ``cmap`` for perturbations)."""
    images = np.asarray(images, float).reshape(-1, side, side)
    lo = images.min() if vmin is None else vmin
    hi = images.max() if vmax is None else vmax
    for j, (ax, img) in enumerate(zip(np.ravel(axes), images)):
        ax.imshow(img, cmap=cmap, vmin=lo, vmax=hi)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[j], fontsize="small")
    return axes


# --- Chapter 04: L2 regularisation (Theorem D) ----------------------------------------


def plot_decay_curve(steps, ratios, lr: float, weight_decays, ax):
    r"""Measured ‖ΠW(t)‖/‖ΠW(0)‖ (markers, every member) against (1 − ηλ)^t (lines)
    and the gradient-flow limit :math:`e^{-\eta\lambda t}` (dotted), log scale, one
    colour per λ.

    Parameters
    ----------
    steps, ratios : lists (one per λ) of arrays (K, E)
        From :func:`advsub.regularisation.orthogonal_decay_curve`.
    lr : float;  weight_decays : list of float
    """
    from ..theory import weight_decay_factor

    for j, (st, r, lam) in enumerate(zip(steps, ratios, weight_decays)):
        color = colour(j)
        st, r = np.asarray(st), np.asarray(r)
        ax.semilogy(
            st.ravel(),
            r.ravel(),
            "o",
            ms=3.5,
            color=color,
            alpha=0.6,
            label=f"measured, λ = {lam:g}",
        )
        t = np.linspace(0, st.max(), 200)
        ax.semilogy(t, weight_decay_factor(lr, lam, t), "-", color=color, lw=1.2)
        ax.semilogy(t, np.exp(-lr * lam * t), ":", color="k", lw=1.0)
    ax.plot([], [], "-", color="0.3", label=r"theory $(1-\eta\lambda)^t$")
    ax.plot([], [], ":", color="k", label=r"gradient flow $e^{-\eta\lambda t}$")
    ax.set_xlabel("training step t")
    ax.set_ylabel(r"$\|\Pi W(t)\|_F \,/\, \|\Pi W(0)\|_F$")
    ax.legend(fontsize="small")
    return ax


def plot_weight_decay_tradeoff(points, axes, *, budget: float, floor: float = 1e-12):
    """The λ sweep of :func:`advsub.regularisation.weight_decay_sweep` on three Axes.

    ``axes[0]``: robustness against λ — medians of the certified orthogonal radius, the
    l2 orthogonal attack and the universal step, with Theorem D's prediction for the
    certificate (:attr:`~advsub.regularisation.SweepPoint.predicted_certified`); points
    whose factor is below ``floor`` (Π W at rounding level) are left out. ``axes[1]``:
    training margin, held-out accuracy and the universal flip rate within ``budget``
    against λ. ``axes[2]``: the trade-off — median orthogonal attack size against the
    training margin, one point per λ. λ = 0 is drawn at the left edge of the log axis.
    """
    lams = np.array([p.weight_decay for p in points], float)
    pos = lams[lams > 0]
    x0 = pos.min() / 3 if len(pos) else 1e-4
    x = np.where(lams > 0, lams, x0)
    med = lambda a: float(np.median(a))  # noqa: E731
    fac = np.array([med(p.factor) for p in points])
    keep = fac >= floor
    cert = np.array([med(p.sample.certified) for p in points])
    orth = np.array(
        [
            med(p.sample.orthogonal) if p.sample.orthogonal is not None else np.nan
            for p in points
        ]
    )
    univ = np.array([med(p.sample.universal) for p in points])
    pred = np.array([med(p.predicted_certified) for p in points])
    ax = axes[0]
    ax.loglog(x[keep], cert[keep], "o-", label="certified radius")
    ax.loglog(x[keep], orth[keep], "s-", label="orthogonal attack (l2)")
    ax.loglog(x[keep], univ[keep], "^-", label="universal step")
    ax.loglog(
        x[keep],
        pred[keep],
        "k--",
        lw=1,
        label=r"theory: $|N|/((1-\eta\lambda)^t\|W_\perp(0)\|_{op})$",
    )
    ax.axhline(budget, color="0.5", ls=":", label=f"budget ‖z‖ = {budget:g}")
    ax.set_xlabel("weight decay λ (λ = 0 at the left edge)")
    ax.set_ylabel("median size in $P^\\perp$ (input units)")
    ax.legend(fontsize="x-small")
    ax = axes[1]
    ax.semilogx(x, [med(p.margin) for p in points], "o-", label="training margin (min)")
    ax.semilogx(
        x,
        [float(np.mean(p.sample.accuracy)) for p in points],
        "s-",
        label="held-out accuracy",
    )
    ax.semilogx(
        x,
        [p.sample.flip_rate(budget) for p in points],
        "^-",
        label=f"universal flip rate, ‖z‖ ≤ {budget:g}",
    )
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("weight decay λ (λ = 0 at the left edge)")
    ax.set_ylabel("margin (output units) / fraction")
    ax.legend(fontsize="x-small")
    ax = axes[2]
    margin = np.array([med(p.margin) for p in points])
    ax.semilogy(margin[keep], orth[keep], "o-")
    for xi, yi, lam in zip(margin[keep], orth[keep], lams[keep]):
        ax.annotate(
            f"{lam:g}",
            (xi, yi),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize="x-small",
        )
    ax.set_xlabel("training margin after training (output units)")
    ax.set_ylabel("median orthogonal attack size (l2)")
    ax.set_title("trade-off (labels: λ)", fontsize="small")
    return axes
