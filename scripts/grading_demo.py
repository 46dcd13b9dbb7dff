"""A demo class of mixed submissions, to try `make grade-all` on (and to time it).

    python scripts/grading_demo.py DEMO_DIR [--students 20] [--chapters 02_universal_perturbation ...]
    make grade-all SUBMISSIONS=DEMO_DIR ROSTER=DEMO_DIR/../roster.csv

Writes ``DEMO_DIR/<student_id>/<chapter>.ipynb`` from the autograder's copies (run
``make assignments`` first) and a roster beside the folder. Student ``k`` of 20 hands in,
by ``k``: the reference solution (0-7), an untouched notebook (8-9), the first function
off by a factor (10-12), ``torch.allclose`` replaced and zeros returned (13), the checks
deleted (14), the metadata stripped (15), the file renamed (16), the cells reordered (17),
an infinite loop (18), an extra cell of its own (19); the roster adds one student with
no submission.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

OFF_BY_A_FACTOR = """

def _scaled(value):
    import numpy as np
    import torch
    if isinstance(value, torch.Tensor):
        return ~value if value.dtype == torch.bool else (1.5 * value + 1).to(value.dtype)
    if isinstance(value, np.ndarray):
        return ~value if value.dtype == bool else (1.5 * value + 1).astype(value.dtype)
    if isinstance(value, (tuple, list)):
        return type(value)(_scaled(v) for v in value)
    return 1.5 * value + 1


_right_{name} = {name}


def {name}(*args, **kwargs):
    return _scaled(_right_{name}(*args, **kwargs))
"""
KINDS = (
    ["reference"] * 8
    + ["empty"] * 2
    + ["factor"] * 3
    + [
        "monkeypatch",
        "deleted-checks",
        "stripped",
        "renamed-file",
        "reordered",
        "loop",
        "extra-cell",
    ]
)


def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def submission(kind: str, released, source):
    """One student's notebook of the given kind (a new notebook)."""
    nb = nbformat.reads(nbformat.writes(released), as_version=4)
    answers = {
        _nbg(c)["grade_id"]: c.source
        for c in source.cells
        if _nbg(c).get("solution") and c.cell_type == "code"
    }
    cells = [c for c in nb.cells if _nbg(c).get("solution") and c.cell_type == "code"]
    if kind != "empty":
        for c in cells:
            c.source = answers[_nbg(c)["grade_id"]]
    first = cells[0]
    name = re.search(r"^def (\w+)", first.source, re.MULTILINE).group(1)
    if kind == "factor":
        first.source += OFF_BY_A_FACTOR.replace("{name}", name)
    elif kind == "monkeypatch":
        for c in cells:
            c.source = re.sub(
                r"# BEGIN SOLUTION.*?# END SOLUTION",
                "return torch.zeros(1)",
                c.source,
                flags=re.DOTALL,
            )
        first.source = (
            "torch.allclose = lambda *a, **k: True\nnp.allclose = torch.allclose\n"
            + first.source
        )
    elif kind == "deleted-checks":
        nb.cells = [
            c for c in nb.cells if not (_nbg(c).get("grade") and c.cell_type == "code")
        ]
    elif kind == "stripped":
        for c in nb.cells:
            c.metadata = {}
    elif kind == "reordered":
        i = nb.cells.index(first)
        nb.cells.insert(max(0, i - 2), nb.cells.pop(i))
    elif kind == "loop":
        first.source = f"def {name}(*args, **kwargs):\n    while True:\n        pass\n"
    elif kind == "extra-cell":
        nb.cells.insert(
            nb.cells.index(first), nbformat.v4.new_code_cell("print('my scratch cell')")
        )
    return nb


def make_class(
    folder: Path, course: Path, chapters: list[str], students: int = 20
) -> list[str]:
    folder = Path(folder)
    ids = [f"student{k:03d}" for k in range(students)]
    for stem in chapters:
        released = nbformat.read(
            course / "release" / stem / f"{stem}.ipynb", as_version=4
        )
        source = nbformat.read(course / "source" / stem / f"{stem}.ipynb", as_version=4)
        for k, student in enumerate(ids):
            kind = KINDS[k % len(KINDS)]
            name = f"Copy of {stem}" if kind == "renamed-file" else stem
            path = folder / student / f"{name}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(submission(kind, released, source), path)
    roster = folder.parent / f"{folder.name}-roster.csv"
    roster.write_text(
        "student_id,name\n"
        + "".join(f"{s},Student {s[-3:]}\n" for s in ids + ["absent"])
    )
    return ids


def main(argv=None) -> int:
    import grading

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--chapters", nargs="*")
    parser.add_argument("--out", type=Path, default=ROOT / "assignments")
    args = parser.parse_args(argv)
    course = args.out / "autograder"
    chapters = args.chapters or grading.known_chapters(course)
    if not chapters:
        raise SystemExit(f"no autograder in {course}: run `make assignments` first")
    ids = make_class(args.folder, course, chapters, args.students)
    print(
        f"{len(ids)} students x {len(chapters)} chapters in {args.folder}; roster "
        f"{args.folder.parent / (args.folder.name + '-roster.csv')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
