"""Every chapter notebook runs in fast mode (papermill), passes nbval, and its outputs hold no error."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import CHAPTERS, ROOT

pytestmark = pytest.mark.notebooks


def test_there_are_chapters():
    assert "01_gradient_lower_bound" in CHAPTERS


@pytest.mark.parametrize("stem", CHAPTERS)
def test_notebook_has_parameters_cell(stem):
    nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{stem} must have exactly one cell tagged 'parameters'"
    assert "fast = False" in "".join(tagged[0]["source"])


@pytest.mark.parametrize("stem", CHAPTERS)
def test_notebook_sources_have_no_outputs(stem):
    """Committed notebooks are kept clean: outputs live only in the executed copies."""
    nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    with_outputs = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and c.get("outputs")]
    assert not with_outputs, f"{stem}: cells {with_outputs} have committed outputs"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_notebook_executes_in_fast_mode(executed_fast, stem):
    directory, failures = executed_fast
    assert stem not in failures, f"{stem} failed under papermill: {failures.get(stem)}"
    nb = json.loads((directory / "notebooks" / f"{stem}.ipynb").read_text())
    errors = [
        o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
    injected = [c for c in nb["cells"] if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    assert injected and "fast = True" in "".join(injected[0]["source"])


def test_nbval_on_executed_notebooks(executed_fast):
    """nbval re-runs the executed notebooks in a fresh kernel (--nbval-lax: errors fail, outputs are not compared)."""
    directory, failures = executed_fast
    paths = [str(directory / "notebooks" / f"{s}.ipynb") for s in CHAPTERS if s not in failures]
    assert paths
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-cell-timeout=600", "-q", "-p", "no:cacheprovider", "--rootdir", str(directory), *paths],
        cwd=ROOT / "notebooks",
        capture_output=True,
        text=True,
    )
    tail = "\n".join(proc.stdout.splitlines()[-30:])
    assert proc.returncode == 0, f"nbval failed:\n{tail}\n{proc.stderr[-2000:]}"
    assert " passed" in proc.stdout
