"""Checks for the chapter notebooks' papermill parameters.

``papermill -p fast false`` passes the *string* ``"false"`` (papermill converts
only ``True``/``False``/``None`` and numbers), and a non-empty string is true: without
a check the chapter would silently run in fast mode. Every chapter calls
:func:`check_fast` in a hidden cell right after its parameters cell (written there by
``scripts/notebook_hygiene.py``).
"""

from __future__ import annotations

__all__ = ["check_fast"]


def check_fast(fast) -> bool:
    """Return ``fast`` as a bool; refuse anything that is not a bool.

    Parameters
    ----------
    fast : bool
        The chapter's ``fast`` parameter (a NumPy bool is accepted).

    Raises
    ------
    TypeError
        If ``fast`` is not a bool, e.g. the string ``"false"`` that
        ``papermill -p fast false`` passes; use ``-p fast False`` (capitalised) or
        ``-y "fast: false"``.
    """
    if isinstance(fast, bool):
        return fast
    if type(fast).__name__ == "bool_" and type(fast).__module__ == "numpy":
        return bool(fast)
    raise TypeError(
        "parameter fast must be a bool (True or False), "
        f"got {type(fast).__name__} {fast!r}; "
        "with papermill write -p fast False (capitalised) or -y 'fast: false'"
    )
