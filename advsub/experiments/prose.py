"""Numbers and tables for the chapters' prose: myst-nb's ``glue`` without its cost.

``myst_nb.glue`` imports nbformat on its first call, and nbformat's validator pulls
in jsonschema's format checkers (``rfc3987_syntax`` compiles a grammar): about 3–5 s
per chapter kernel on the book's machine, for nothing a kernel needs. :func:`glue`
writes the same display output (a ``scrapbook`` metadata entry and the
``application/papermill.record/`` mime prefix that myst-nb's ``{glue:text}`` role
reads) with IPython alone.

:func:`table` renders rows as an HTML table (a pandas Styler without the index), for
outputs that read on a phone and in print instead of padded monospace text.
"""

from __future__ import annotations

import numbers

__all__ = ["GLUE_PREFIX", "glue", "table"]

GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value, display: bool = False) -> None:
    """Store ``value``'s display data under ``name`` for myst-nb's ``{glue:text}``.

    The same output as ``myst_nb.glue(name, value, display)``. NumPy scalars are stored
    as Python numbers (so a format such as ``:.3f`` applies and no ``np.float64(...)``
    repr reaches the page).

    Raises
    ------
    TypeError
        If ``name`` is not a str.
    ValueError
        If ``name`` is empty.
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    if not name:
        raise ValueError("name must be a non-empty str, got ''")
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value)
    bundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def table(rows, columns, precision: int = 3):
    """An HTML table of ``rows`` (lists of cells) under ``columns``, without an index.

    Floats are shown with ``precision`` digits after the point. Returns a pandas
    ``Styler``: the last expression of a cell displays it.
    """
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=list(columns))
    return frame.style.hide(axis="index").format(precision=precision)
