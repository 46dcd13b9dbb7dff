"""advsub.experiments.prose: the chapters' glue (myst-nb's output, without its import
cost) and HTML tables."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from advsub.experiments.prose import GLUE_PREFIX, glue, table


def _glued(fn, *args, **kwargs):
    InteractiveShell.instance()
    with capture_output() as cap:
        fn(*args, **kwargs)
    return [(o.data, o.metadata) for o in cap.outputs]


def test_glue_writes_what_myst_nb_glue_writes():
    from myst_nb import glue as myst_glue

    for value in (0.5, 3, "text"):
        assert _glued(glue, "k", value) == _glued(myst_glue, "k", value, display=False)
    assert _glued(glue, "k", 2.5, display=True) == _glued(myst_glue, "k", 2.5)


def test_glue_stores_numpy_scalars_as_python_numbers():
    ((data, meta),) = _glued(glue, "x", np.float64(0.25))
    assert data == {GLUE_PREFIX + "text/plain": "0.25"}
    assert meta["scrapbook"] == {"name": "x", "mime_prefix": GLUE_PREFIX}
    ((data, _),) = _glued(glue, "n", np.int64(7))
    assert data == {GLUE_PREFIX + "text/plain": "7"}


def test_glue_refuses_a_bad_name():
    with pytest.raises(TypeError, match="name"):
        glue(3, 1.0)
    with pytest.raises(ValueError, match="name"):
        glue("", 1.0)


def test_table_is_html_without_index():
    html = table([["a", 0.123456], ["b", 2.0]], ["name", "value"]).to_html()
    assert "<table" in html and "0.123" in html and "0.123456" not in html
    assert ">0<" not in html  # no index column
