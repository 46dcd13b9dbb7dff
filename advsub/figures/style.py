"""The book's figure style: one colour-blind-safe palette and readable, sharp figures.

Every chapter calls :func:`use_book_style` in its first (hidden) cell, written there by
``scripts/notebook_hygiene.py``. It sets

- the colour cycle to the Okabe–Ito palette (safe for the common colour-vision
  deficiencies), so ``"C0"``, ``"C1"``, … everywhere in the book are these colours:
  ``C0`` blue, ``C1`` orange, ``C2`` bluish green, ``C3`` vermillion (a lower/upper
  bound pair drawn in ``C2``/``C3`` stays distinguishable without red–green vision);
- font sizes readable at the rendered width (figures at most ``MAX_WIDTH`` inches
  wide: stack panels rather than widen a figure);
- retina PNG output in notebooks (twice the pixels, shown at the same size).

Use ``DIVERGING`` (centred at 0 with ``vmin=-vmax``) for signed maps and
``SEQUENTIAL`` for magnitudes.
"""

from __future__ import annotations

__all__ = [
    "PALETTE",
    "COLOURS",
    "colour",
    "DIVERGING",
    "SEQUENTIAL",
    "MAX_WIDTH",
    "RC",
    "use_book_style",
]

# Okabe & Ito (2008), "Color Universal Design"; black last.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish green": "#009E73",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "sky blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
COLOURS = list(PALETTE.values())
DIVERGING = "RdBu_r"  # signed quantities, centred at 0
SEQUENTIAL = "viridis"  # magnitudes
MAX_WIDTH = 7.5  # inches: the width of the book's text column at 100 %

RC = {
    "axes.prop_cycle": None,  # filled in by use_book_style (needs matplotlib's cycler)
    "image.cmap": SEQUENTIAL,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.framealpha": 0.85,
    "savefig.dpi": 200,
}


def colour(i: int) -> str:
    """The i-th colour of the book's cycle (``"C{i}"`` once :func:`use_book_style`
    ran), whatever matplotlib's rcParams say: the plotting helpers use it so that a
    figure keeps the palette outside the book too."""
    return COLOURS[i % len(COLOURS)]


def use_book_style(formats: tuple[str, ...] = ("retina",)) -> None:
    """Apply the book's rcParams; in a kernel also set the inline figure formats."""
    import matplotlib as mpl
    from cycler import cycler

    rc = dict(RC, **{"axes.prop_cycle": cycler(color=list(PALETTE.values()))})
    mpl.rcParams.update(rc)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with every kernel
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats(*formats)
