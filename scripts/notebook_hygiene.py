"""Normalise the chapter notebooks: hidden boilerplate, checked parameters, 88 columns.

    .venv/bin/python scripts/notebook_hygiene.py notebooks/01_*.ipynb  # rewrite
    .venv/bin/python scripts/notebook_hygiene.py --check notebooks/*.ipynb  # exit 1?

Idempotent: a second run changes nothing (``tests/test_style.py`` checks that every
notebook is normalised). Take the notebook's lock first (see /work/TEAM.md).

Conventions (what the script recognises, and what it does)
-----------------------------------------------------------
- **Setup cell** — the first code cell, whose first line is ``# hygiene: setup``.
  Written (and rewritten) by this script from the template below: it installs advsub
  when it is not importable (Colab, Binder; from ``repository.url`` of ``_config.yml``,
  or from ``$ADVSUB_INSTALL_SOURCE`` when set, e.g. a local checkout in the launch
  test) and applies the book's figure style (``advsub.figures.style.use_book_style``:
  palette, retina PNGs).
  Tag ``remove-cell``: it runs everywhere, the book does not show it.
- **Imports cell** — the first code cell after the setup cell that comes before the
  ``parameters`` cell: tag ``hide-input`` (the reader can unfold it).
- **Parameters cell** — tag ``parameters`` (papermill's); also tagged ``remove-cell``.
  (``bookbuild.py execute`` tags papermill's ``injected-parameters`` cell
  ``remove-cell``.)
- **Parameter check** — the code cell right after the parameters cell, first line
  ``# hygiene: check-parameters``; written by this script: ``fast = check_fast(fast)``
  refuses ``papermill -p fast false`` (a string). Tag ``remove-cell``.
- **Sizes cell** — a code cell whose first line starts with ``# Sizes`` or that is
  tagged ``sizes``: tags ``sizes`` and ``remove-cell``.
- **Timer cell** — a code cell tagged ``timer`` or printing ``chapter executed in``:
  tags ``timer`` and ``remove-cell``.
- Every code cell: outputs and execution counts cleared; source formatted by
  ``ruff format`` at 88 columns (``[tool.ruff]`` in pyproject.toml). Ruff does not split
  long strings or comments: a line still over 88 characters fails
  ``tests/test_style.py`` and is yours to shorten (or move a long report print into
  a helper).
- Any other tag (``hide-input``, ``remove-input``, ``check``, …) is kept.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
SETUP_MARK = "# hygiene: setup"
CHECK_MARK = "# hygiene: check-parameters"
LINE_LENGTH = 88


def repository_url() -> str:
    """The repository named once in _config.yml (``repository.url``)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def setup_source(url: str) -> str:
    return f"""{SETUP_MARK} (scripts/notebook_hygiene.py writes it; the book hides it)
# Installs advsub where it is missing (Colab, Binder). Without torch, pip would fetch
# the large CUDA build; the CPU wheel is enough for this book:
#   pip install torch --index-url https://download.pytorch.org/whl/cpu
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("advsub") is None:
    _source = os.environ.get("ADVSUB_INSTALL_SOURCE") or "advsub @ git+{url}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", _source], check=True)

from advsub.figures.style import use_book_style

use_book_style()  # one colour-blind-safe palette, retina figures
"""


CHECK_SOURCE = f"""{CHECK_MARK} (refuses `papermill -p fast false`, a string)
from advsub.experiments.notebook import check_fast

fast = check_fast(fast)
"""


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _tags(cell) -> list[str]:
    return list(cell.metadata.get("tags", []))


def _add_tags(cell, *tags: str) -> None:
    current = _tags(cell)
    for tag in tags:
        if tag not in current:
            current.append(tag)
    cell.metadata["tags"] = current


def _code_cell(source: str, tags: list[str]):
    cell = nbformat.v4.new_code_cell(source.rstrip("\n"))
    cell.metadata["tags"] = tags
    return cell


def normalise(nb, url: str | None = None):
    """Apply the conventions of the module docstring to ``nb`` (in place); return it."""
    url = url or repository_url()
    cells = nb.cells
    code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    # Setup cell: first code cell, rewritten from the template.
    setup = next((i for i in code if _source(cells[i]).startswith(SETUP_MARK)), None)
    if setup is None:
        first = code[0] if code else len(cells)
        cells.insert(first, _code_cell(setup_source(url), ["remove-cell"]))
    else:
        cell = cells.pop(setup)
        code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
        first = code[0] if code else len(cells)
        cell.source = setup_source(url).rstrip("\n")
        _add_tags(cell, "remove-cell")
        cells.insert(first, cell)
    setup = first
    # Parameters cell and the check right after it.
    params = next((i for i, c in enumerate(cells) if "parameters" in _tags(c)), None)
    if params is not None:
        _add_tags(cells[params], "remove-cell")
        checks = [
            i
            for i, c in enumerate(cells)
            if c.cell_type == "code" and _source(c).startswith(CHECK_MARK)
        ]
        for i in reversed(checks):
            if i != params + 1:
                cells.pop(i)
        nxt = cells[params + 1] if params + 1 < len(cells) else None
        if nxt is None or not _source(nxt).startswith(CHECK_MARK):
            cells.insert(params + 1, _code_cell(CHECK_SOURCE, ["remove-cell"]))
        else:
            nxt.source = CHECK_SOURCE.rstrip("\n")
            _add_tags(nxt, "remove-cell")
        # Imports cell: the first code cell between the setup and the parameters.
        between = [i for i in range(setup + 1, params) if cells[i].cell_type == "code"]
        if between:
            _add_tags(cells[between[0]], "hide-input")
    for cell in cells:
        if cell.cell_type != "code":
            continue
        src = _source(cell)
        if src.lstrip().startswith("# Sizes") or "sizes" in _tags(cell):
            _add_tags(cell, "sizes", "remove-cell")
        if "chapter executed in" in src or "timer" in _tags(cell):
            _add_tags(cell, "timer", "remove-cell")
        cell.outputs = []
        cell.execution_count = None
        for key in ("execution", "papermill", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    for key in ("papermill", "widgets"):
        nb.metadata.pop(key, None)
    return nb


def ruff_format(nb) -> None:
    """Format the code cells with ruff at 88 columns (in place; ids kept)."""
    here = str(Path(sys.executable).parent)
    ruff = shutil.which("ruff", path=here) or shutil.which("ruff")
    if ruff is None:
        raise SystemExit("ruff is missing: pip install ruff (a dev dependency)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "nb.ipynb"
        nbformat.write(nb, path)
        proc = subprocess.run(
            [ruff, "format", "--isolated", f"--line-length={LINE_LENGTH}", str(path)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise SystemExit(f"ruff format failed:\n{proc.stderr}")
        formatted = json.loads(path.read_text())
    by_id = {c.get("id"): c for c in formatted["cells"]}
    for cell in nb.cells:
        new = by_id.get(cell.get("id"))
        if cell.cell_type == "code" and new is not None:
            cell.source = "".join(new["source"]).rstrip("\n")


def normalised_text(path: Path, url: str | None = None) -> str:
    """The normalised notebook as the text this script would write."""
    nb = nbformat.read(path, as_version=4)
    normalise(nb, url)
    ruff_format(nb)
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a notebook is not normalised",
    )
    args = parser.parse_args(argv)
    url = repository_url()
    stale = []
    for path in args.notebooks:
        old = path.read_text()
        new = normalised_text(path, url)
        if new == old:
            print(f"{path}: normalised")
            continue
        stale.append(path)
        if args.check:
            print(f"{path}: NOT normalised (run scripts/notebook_hygiene.py {path})")
        else:
            path.write_text(new)
            print(f"{path}: rewritten")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
