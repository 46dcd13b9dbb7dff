"""Code style the reader sees: lines of at most 88 characters in the notebooks and
the package (the book's code column shows about 88), and every chapter notebook
normalised by ``scripts/notebook_hygiene.py`` (hidden boilerplate, checked parameters,
ruff-formatted cells, no outputs)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX = 88
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PACKAGE = sorted((ROOT / "advsub").rglob("*.py"))


def _hygiene():
    spec = importlib.util.spec_from_file_location(
        "notebook_hygiene", ROOT / "scripts" / "notebook_hygiene.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def long_lines(lines, where: str) -> list[str]:
    return [
        f"{where}:{i}: {len(line)} characters: {line[:60]}..."
        for i, line in enumerate(lines, 1)
        if len(line) > MAX
    ]


def test_long_line_detector_flags_89_characters():
    assert long_lines(["x" * 88], "f") == []
    assert len(long_lines(["x" * 89], "f")) == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_code_lines_fit_in_88_columns(path):
    cells = json.loads(path.read_text())["cells"]
    problems = []
    for n, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            source = "".join(cell["source"]).splitlines()
            problems += long_lines(source, f"{path.name} cell {n}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", PACKAGE, ids=lambda p: str(p.relative_to(ROOT)))
def test_package_lines_fit_in_88_columns(path):
    problems = long_lines(path.read_text().splitlines(), str(path.relative_to(ROOT)))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_normalised(path):
    hygiene = _hygiene()
    assert hygiene.normalised_text(path) == path.read_text(), (
        f"{path.name} is not normalised: run "
        f".venv/bin/python scripts/notebook_hygiene.py notebooks/{path.name}"
    )


def test_normaliser_is_idempotent_and_hides_the_boilerplate(tmp_path):
    """On a notebook shaped like a chapter before normalisation (a detector that cannot
    fail would be no test): the first run changes it, the second does not."""
    import nbformat

    hygiene = _hygiene()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("import math\nx  =  1"),
        nbformat.v4.new_code_cell("fast = False", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("# Sizes: small\nN = 3 if fast else 30"),
        nbformat.v4.new_markdown_cell("Text."),
        nbformat.v4.new_code_cell('print(f"chapter executed in {1.0:.1f} s")'),
    ]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="noise")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    first = hygiene.normalised_text(path)
    assert first != path.read_text()
    path.write_text(first)
    assert hygiene.normalised_text(path) == first
    cells = json.loads(first)["cells"]
    tags = [c["metadata"].get("tags", []) for c in cells]
    sources = ["".join(c["source"]) for c in cells]
    assert sources[1].startswith(hygiene.SETUP_MARK) and "remove-cell" in tags[1]
    assert "git+" + hygiene.repository_url() in sources[1]
    assert sources[2] == "import math\n\nx = 1" and "hide-input" in tags[2]
    assert {"parameters", "remove-cell"} <= set(tags[3])
    assert sources[4].startswith(hygiene.CHECK_MARK) and "remove-cell" in tags[4]
    assert {"sizes", "remove-cell"} <= set(tags[5])
    assert {"timer", "remove-cell"} <= set(tags[7])
    assert all(c.get("outputs", []) == [] for c in cells)


def test_check_fast_refuses_a_string():
    from advsub.experiments.notebook import check_fast

    assert check_fast(True) is True and check_fast(False) is False
    for bad in ("false", "False", 0, 1, None):
        with pytest.raises(TypeError, match="fast"):
            check_fast(bad)
