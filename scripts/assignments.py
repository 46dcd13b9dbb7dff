"""Student notebooks and their autograder, from the instructor notebooks (one source, two outputs).

The chapter notebooks in ``notebooks/`` are the instructor version. Their exercises follow
one format (see the helpers' COMMON.md): a ``{exercise}`` box with a ``:label:``; a derivation
has a ``{solution}`` box; a coding exercise has a code cell tagged ``solution`` whose
function body lies between ``# BEGIN SOLUTION`` and ``# END SOLUTION``, and a code cell
tagged ``check`` (metadata ``advsub.points``) of plain asserts.

The grading is done by nbgrader, the Jupyter project's grading tool. It was chosen over
otter-grader because the book's format is nbgrader's model already (solution regions
between ``# BEGIN SOLUTION``/``# END SOLUTION`` become ``raise NotImplementedError()``
stubs; a check cell is an autograded test cell worth points, locked and checksummed), it
grades in the local environment without Docker, and it adds five small packages where
otter adds thirteen (pandas, pydantic, python-on-whales, ...) and its own notebook markup.

* ``generate`` turns each chapter into an nbgrader source notebook (solution cells become
  nbgrader solution cells, check cells locked autograded tests worth their points; the
  written solutions and the solution dropdown markers are removed) and runs
  ``nbgrader generate_assignment``, which replaces every solution region with
  ``raise NotImplementedError()``, clears the outputs and records checksums of the
  checks. Student notebooks land in ``assignments/student/``, the autograder (the
  nbgrader course: sources, gradebook, configuration) in ``assignments/autograder/``.
* ``grade NOTEBOOK`` runs ``nbgrader autograde`` on a filled-in student notebook (checks
  restored from the gradebook, so editing them does not help; the notebook runs with
  ``fast = True`` injected after its parameters cell, as in CI) and prints the score of
  every exercise and the total, also written as JSON next to the autograded copy.
* ``instructor`` grades the instructor notebooks themselves, which must get full marks.

    python scripts/assignments.py generate            # make assignments
    python scripts/assignments.py grade assignments/student/01_gradient_lower_bound.ipynb
    python scripts/assignments.py instructor          # every chapter at full marks, or exit 1
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import logging
import os
import re
import shutil
import sys
import warnings
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "assignments"
EXERCISE = re.compile(r"^[ \t]*(`{3,}|:{3,})\{exercise\}[ \t]*([^\n]*)\n(?:.*\n)*?[ \t]*:label:[ \t]*(\S+)", re.M)
# The opening line of a {solution}, {solution-start} or {solution-end} block.
SOLUTION_OPEN = re.compile(r"^[ \t]*(`{3,}|:{3,})\{(solution(?:-start|-end)?)\}[ \t]*(\S*)[^\n]*$", re.M)
FAST_CELL_TAG = "injected-fast"


def chapter_notebooks(directory: Path = ROOT / "notebooks") -> list[Path]:
    """The instructor notebooks, in order."""
    return sorted(Path(directory).glob("[0-9][0-9]_*.ipynb"))


def _advsub_meta(cell) -> dict:
    return cell.get("metadata", {}).get("advsub", {}) or {}


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def exercises(nb) -> dict[str, dict]:
    """Every exercise of a notebook: {label: {"title", "kind", "points"}} in order.

    A coding exercise is one with a ``check`` cell; its points are the sum over its checks.
    """
    found: dict[str, dict] = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for match in EXERCISE.finditer(cell.source):
                found.setdefault(match.group(3), {"title": match.group(2).strip(), "kind": "derivation",
                                                  "points": 0})
    for cell in nb.cells:
        meta = _advsub_meta(cell)
        if cell.cell_type == "code" and "check" in _tags(cell):
            label = meta.get("exercise")
            if label not in found:
                raise ValueError(f"check cell for unknown exercise {label!r}: {cell.source[:80]!r}")
            found[label]["kind"] = "coding"
            found[label]["points"] += float(meta.get("points", 1))
    return found


def strip_solutions(text: str) -> tuple[str, list[str]]:
    """Remove the solution blocks of a markdown cell; return (text, labels of written solutions).

    A ``{solution}`` block (a written solution) leaves a line for the student's answer; the
    ``{solution-start}`` and ``{solution-end}`` markers around solution code just go.
    """
    written, pos, pieces = [], 0, []
    while (match := SOLUTION_OPEN.search(text, pos)) is not None:
        fence, name, label = match.groups()
        close = re.compile(rf"^[ \t]*{re.escape(fence)}[ \t]*$", re.M).search(text, match.end())
        end = close.end() if close else len(text)
        pieces.append(text[pos:match.start()])
        if name == "solution":
            written.append(label)
            pieces.append(f"**Your answer to {label}** (graded by hand): ...")
        pos = end
    pieces.append(text[pos:])
    return re.sub(r"\n{3,}", "\n\n", "".join(pieces)).strip(), written


def written_solutions(nb) -> list[str]:
    """Labels of the exercises that have a written ``{solution}`` block."""
    return [label for c in nb.cells if c.cell_type == "markdown" for label in strip_solutions(c.source)[1]]


def instructor_to_source(nb):
    """The nbgrader source version of an instructor notebook (a new notebook).

    Solution cells -> nbgrader solution cells; check cells -> locked autograded tests;
    ``{solution}`` boxes (written solutions) and the ``{solution-start}``/``{solution-end}``
    markers are dropped; every other cell is kept as is.
    """
    nb = copy.deepcopy(nb)
    cells, checks_seen, solutions_seen = [], {}, {}
    for cell in nb.cells:
        meta = _advsub_meta(cell)
        tags = _tags(cell)
        if cell.cell_type == "markdown" and SOLUTION_OPEN.search(cell.source):
            cell.source = strip_solutions(cell.source)[0]
            if not cell.source:
                continue
        if cell.cell_type == "code" and "solution" in tags:
            label = meta["exercise"]
            solutions_seen[label] = solutions_seen.get(label, 0) + 1
            suffix = "" if solutions_seen[label] == 1 else str(solutions_seen[label])
            cell.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False,
                                         "grade_id": f"{label}-solution{suffix}", "schema_version": 3}
        elif cell.cell_type == "code" and "check" in tags:
            label = meta["exercise"]
            checks_seen[label] = checks_seen.get(label, 0) + 1
            cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                         "points": float(meta.get("points", 1)),
                                         "grade_id": f"{label}-check{checks_seen[label]}",
                                         "schema_version": 3}
        cells.append(cell)
    nb.cells = cells
    return nb


def inject_fast(nb):
    """Insert ``fast = True`` after the cell tagged ``parameters`` (papermill's convention)."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if FAST_CELL_TAG not in _tags(c)]
    for i, cell in enumerate(nb.cells):
        if "parameters" in _tags(cell):
            fast = nbformat.v4.new_code_cell("fast = True  # injected by the grader: CI sizes",
                                             metadata={"tags": [FAST_CELL_TAG]})
            nb.cells.insert(i + 1, fast)
            break
    return nb


def _config(root: Path, execute: bool = True):
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = "advsub"
    c.Execute.timeout = 600
    c.Exchange.root = str(Path(root) / "exchange")  # unused (no release/collect), but must be writable
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    if not execute:  # score the outputs a notebook already has (an executed instructor notebook)
        c.Execute.enabled = False
        c.ClearOutput.enabled = False
    return c


def _api(root: Path, execute: bool = True):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    # nbgrader runs the `alembic` and `jupyter` commands of this environment.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader vs SQLAlchemy 2
    config = _config(root, execute)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    api.log.setLevel(logging.WARNING)
    return api


def _check(result: dict, what: str) -> None:
    if not result.get("success"):
        raise RuntimeError(f"nbgrader {what} failed:\n{result.get('error') or ''}\n{result.get('log') or ''}")


def generate(out: Path = OUT, names: list[str] | None = None,
             notebooks: Path = ROOT / "notebooks") -> dict[str, Path]:
    """Write the nbgrader course under ``out/autograder`` and the student notebooks under
    ``out/student``; return {chapter: student notebook}."""
    out = Path(out).resolve()
    course = out / "autograder"
    (out / "student").mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").parent.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(
        "# nbgrader course of the advsub book, written by scripts/assignments.py generate\n"
        "c = get_config()  # noqa: F821\n"
        "c.CourseDirectory.course_id = 'advsub'\n"
        "c.Execute.timeout = 600\n")
    api = _api(course)
    students = {}
    for path in chapter_notebooks(notebooks):
        if names and path.stem not in names:
            continue
        nb = nbformat.read(path, as_version=4)
        if not any(e["kind"] == "coding" for e in exercises(nb).values()):
            continue
        source = course / "source" / path.stem / path.name
        source.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(instructor_to_source(nb), source)
        _check(api.generate_assignment(path.stem, force=True), f"generate_assignment {path.stem}")
        released = course / "release" / path.stem / path.name
        students[path.stem] = out / "student" / path.name
        shutil.copy2(released, students[path.stem])
    return students


def grade(notebook: Path, out: Path = OUT, student: str = "student", execute: bool = True) -> dict:
    """Autograde one filled-in notebook of a chapter; return the score report.

    The report: {"notebook", "exercises": {label: {"title", "kind", "score", "max"}},
    "total", "max_total"}; derivation exercises have score None (graded by hand).
    """
    notebook = Path(notebook).resolve()
    course = Path(out).resolve() / "autograder"
    chapter = notebook.stem
    if not (course / "source" / chapter / notebook.name).exists():
        raise SystemExit(f"no autograder for {chapter}: run `make assignments` first")
    nb = nbformat.read(notebook, as_version=4)
    if not any("nbgrader" in c.get("metadata", {}) for c in nb.cells):
        nb = instructor_to_source(nb)  # an instructor notebook: mark its cells as nbgrader does
    submitted = course / "submitted" / student / chapter / notebook.name
    if submitted.parent.exists():
        shutil.rmtree(submitted.parent)
    submitted.parent.mkdir(parents=True)
    nbformat.write(inject_fast(nb) if execute else nb, submitted)
    api = _api(course, execute)
    _check(api.autograde(chapter, student, force=True), f"autograde {chapter}")
    return report(course, chapter, student)


def report(course: Path, chapter: str, student: str) -> dict:
    """The per-exercise scores of an autograded submission, from the nbgrader gradebook."""
    from nbgrader.api import Gradebook

    source = nbformat.read(course / "source" / chapter / f"{chapter}.ipynb", as_version=4)
    found = exercises(source)
    scores = {label: 0.0 for label, e in found.items() if e["kind"] == "coding"}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "advsub") as gb:
        submission = gb.find_submission_notebook(chapter, chapter, student)
        for g in submission.grades:
            label = g.name.rsplit("-check", 1)[0]
            scores[label] += float(g.auto_score or 0.0)
    exercises_report = {
        label: {"title": e["title"], "kind": e["kind"],
                "score": scores.get(label) if e["kind"] == "coding" else None,
                "max": e["points"] if e["kind"] == "coding" else None}
        for label, e in found.items()
    }
    result = {
        "notebook": chapter,
        "exercises": exercises_report,
        "total": sum(scores.values()),
        "max_total": sum(e["points"] for e in found.values()),
    }
    target = course / "autograded" / student / chapter / "scores.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2))
    return result


def format_report(result: dict) -> str:
    lines = [f"{result['notebook']}:"]
    for label, e in result["exercises"].items():
        score = "by hand" if e["score"] is None else f"{e['score']:g} / {e['max']:g}"
        lines.append(f"  {label:40s} {score:>10s}   {e['title']}")
    lines.append(f"  {'total':40s} {result['total']:g} / {result['max_total']:g}")
    return "\n".join(lines)


def grade_instructor(out: Path = OUT, names: list[str] | None = None,
                     executed: Path | None = None, notebooks: Path = ROOT / "notebooks") -> dict[str, dict]:
    """Grade the instructor notebooks (executing them, or scoring the already executed
    copies in ``executed/notebooks``); return {chapter: report}."""
    results = {}
    for path in chapter_notebooks(notebooks):
        if names and path.stem not in names:
            continue
        if not (Path(out) / "autograder" / "source" / path.stem).exists():
            continue
        target = path if executed is None else Path(executed) / "notebooks" / path.name
        results[path.stem] = grade(target, out, student="instructor", execute=executed is None)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="assignments directory (default: assignments/)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_gen = sub.add_parser("generate", help="write the student notebooks and the autograder")
    p_gen.add_argument("--only", nargs="*", help="chapter stems (default: all)")
    p_grade = sub.add_parser("grade", help="grade one filled-in student notebook")
    p_grade.add_argument("notebook", type=Path)
    p_grade.add_argument("--student", default="student")
    p_ins = sub.add_parser("instructor", help="grade the instructor notebooks (must be full marks)")
    p_ins.add_argument("--only", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "generate":
        students = generate(args.out, args.only)
        for stem, path in students.items():
            n = exercises(nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4))
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
                  f"{sum(e['kind'] == 'coding' for e in n.values())} coding, "
                  f"{sum(e['kind'] == 'derivation' for e in n.values())} derivation exercises")
        print(f"autograder: {Path(args.out).resolve() / 'autograder'} (nbgrader course)")
        return 0
    if args.command == "grade":
        print(format_report(grade(args.notebook, args.out, args.student)))
        return 0
    results = grade_instructor(args.out, args.only)
    failed = []
    for stem, result in results.items():
        print(format_report(result))
        if result["total"] != result["max_total"]:
            failed.append(stem)
    if failed:
        print(f"instructor notebooks below full marks: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"all {len(results)} instructor notebooks at full marks")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
