"""Plotting helpers: each draws one figure of the book onto a matplotlib Axes."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np


# --- Chapter 01: the orthogonal gradient (Theorem A) --------------------------------------------


def text_table(header, rows, *, floatfmt: str = ".3g") -> str:
    """A plain-text table (no pandas needed): ``header`` a list of column names, ``rows`` lists of cells.

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


def plot_gradient_components(parallel, orthogonal, ax, *, predicted=None, bins: int = 30):
    """Histograms of ‖(I−Π)∇N(x0)‖ and ‖Π∇N(x0)‖ over networks, with Theorem A's typical size.

    Parameters
    ----------
    parallel, orthogonal : array-like, shape (E,)
        Norms of the gradient's components in P and in P⊥, one held-out point per network.
    ax : matplotlib Axes
    predicted : float, optional
        Theorem A's typical size of ‖Π∇N(x0)‖ (e.g. √(kℓ/(md)) at the mean k), drawn as a vertical line.
    """
    parallel, orthogonal = np.asarray(parallel, float), np.asarray(orthogonal, float)
    hi = max(parallel.max(), orthogonal.max()) * 1.05
    edges = np.linspace(0.0, hi, bins + 1)
    ax.hist(parallel, bins=edges, alpha=0.55, label=r"in $P$: $\|(I-\Pi)\nabla_x N(x_0)\|$")
    ax.hist(orthogonal, bins=edges, alpha=0.55, label=r"in $P^\perp$: $\|\Pi\nabla_x N(x_0)\|$")
    if predicted is not None:
        ax.axvline(predicted, color="k", ls="--", label=r"theory $\sqrt{k\ell/(md)}$")
    ax.set_xlabel("gradient component norm (output units per input unit)")
    ax.set_ylabel("number of networks")
    ax.legend(fontsize="small")
    return ax


def plot_statistic_histogram(statistic, ell: int, ax, *, label: str = "measured", bins: int = 40, color=None):
    """Histogram (density) of ‖Π∇N(x0)‖²·m/(kβ²) with the χ²_ℓ density of Theorem A drawn over it.

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
    ax.hist(statistic, bins=edges, density=True, alpha=0.5, color=color, label=f"{label} ({statistic.size} networks)")
    grid = np.linspace(1e-6, hi, 400)
    ax.plot(grid, law.pdf(grid), "k-", lw=1.5, label=rf"$\chi^2_{{{ell}}}$ density (Theorem A)")
    ax.set_xlabel(r"$\|\Pi\nabla_x N(x_0)\|^2\, m/(k\beta^2)$ (dimensionless)")
    ax.set_ylabel("density")
    ax.legend(fontsize="small")
    return ax


def plot_lower_bound_success(ells, successes, trials, ax):
    """Fraction of networks with ‖Π∇N(x0)‖ ≥ √(kℓβ²/(2m)) against ℓ, with binomial error bars.

    Draws the guarantee 1 − e^{−ℓ/16} (:func:`advsub.theory.lower_bound_failure_probability`) and the
    exact probability P(χ²_ℓ ≥ ℓ/2) (from :func:`advsub.theory.orthogonal_gradient_law`).

    Parameters
    ----------
    ells, successes, trials : array-like, shape (L,)
        ℓ values, number of networks where the bound held, number of networks.
    """
    from . import theory

    ells = np.asarray(ells, int)
    successes, trials = np.asarray(successes, float), np.asarray(trials, float)
    rate = successes / trials
    se = np.sqrt(np.clip(rate * (1 - rate), 1.0 / trials, None) / trials)
    grid = np.unique(np.round(np.geomspace(1, ells.max(), 200)).astype(int))
    guarantee = [1 - theory.lower_bound_failure_probability(int(l)) for l in grid]
    exact = [
        theory.orthogonal_gradient_law(1, int(l), 1, 1.0).sf(theory.gradient_lower_bound(1, int(l), 1, int(l) + 1, 1.0) ** 2)
        for l in grid
    ]
    ax.plot(grid, exact, "C0-", lw=1, label=r"exact $P(\chi^2_\ell \geq \ell/2)$")
    ax.plot(grid, guarantee, "k--", label=r"guarantee $1-e^{-\ell/16}$")
    ax.errorbar(ells, rate, yerr=3 * se, fmt="o", color="C3", capsize=3, label=r"measured ($\pm 3$ s.e.)")
    ax.set_xscale("log")
    ax.set_xlabel(r"$\ell = \dim P^\perp$")
    ax.set_ylabel(r"fraction with $\|\Pi\nabla N\| \geq \sqrt{k\ell\beta^2/(2m)}$")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize="small", loc="lower right")
    return ax


def plot_gradient_sweep(values, mean, sem, expected, ax, *, xlabel: str, rms=None):
    """Mean ‖Π∇N(x0)‖ over networks against one swept parameter, on log-log axes, with the theory.

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
    ax.plot(values, expected, "k-", lw=1, label=r"theory $\mathbb{E}\|\Pi\nabla N(x_0)\|$")
    ax.errorbar(values, mean, yerr=3 * np.asarray(sem, float), fmt="o", color="C3", capsize=3, label=r"measured ($\pm 3$ s.e.)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Ticks at the swept values, plain numbers; a y-range of at least a factor 4 so that a flat
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
    ax.set_yticks([t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10) if lo <= t <= hi])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"mean $\|\Pi\nabla_x N(x_0)\|$")
    ax.legend(fontsize="small")
    return ax


def plot_gradient_explorer(sample, axes):
    """The chapter-01 explorer: (left) the χ²_ℓ law of the normalised statistic, (right) each network's
    ‖Π∇N(x0)‖ against Theorem A's lower bound √(kℓβ²/(2m)).

    Parameters
    ----------
    sample : advsub.GradientSample
    axes : sequence of two matplotlib Axes
    """
    ax0, ax1 = axes
    plot_statistic_histogram(sample.statistic, sample.ell, ax0, bins=30)
    bound, norm = sample.lower_bound(), sample.norm[sample.valid]
    holds = norm >= bound
    ax1.scatter(bound[holds], norm[holds], s=8, alpha=0.6, color="C0", label=f"bound holds ({holds.mean():.1%})")
    ax1.scatter(bound[~holds], norm[~holds], s=8, alpha=0.8, color="C3", label="bound fails")
    lim = [0.0, max(norm.max(), bound.max()) * 1.05]
    ax1.plot(lim, lim, "k--", lw=1, label=r"$\|\Pi\nabla N\| = \sqrt{k\ell\beta^2/(2m)}$")
    ax1.set_xlim(lim)
    ax1.set_ylim(lim)
    ax1.set_xlabel(r"lower bound $\sqrt{k\ell\beta^2/(2m)}$")
    ax1.set_ylabel(r"measured $\|\Pi\nabla_x N(x_0)\|$")
    ax1.legend(fontsize="small", loc="lower right")
    ax1.set_title(
        f"d={sample.d}, ℓ={sample.ell}, m={sample.m}, β={sample.beta:.3g}: mean norm {sample.norm.mean():.3g}",
        fontsize="small",
    )
    return axes
