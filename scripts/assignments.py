"""Student notebooks and their autograder, from the instructor notebooks (one source, two outputs).

The chapter notebooks in ``notebooks/`` are the instructor version. Their exercises follow
one format (see the helpers' COMMON.md): a ``{exercise}`` box with a ``:label:``; a derivation
(or the "why" part of a coding exercise) has a ``{solution}`` box; a coding exercise has a
code cell tagged ``solution`` whose function body lies between ``# BEGIN SOLUTION`` and
``# END SOLUTION``, and a code cell tagged ``check`` (metadata ``advsub.points``) of plain
asserts, tagged ``remove-cell`` too so that the book does not show it.

nbgrader, the Jupyter project's grading tool, writes the student version: it was chosen
over otter-grader because the book's format is nbgrader's model already (solution regions
become ``raise NotImplementedError()`` stubs; a check is an autograded test cell worth
points), and it adds five small packages where otter adds thirteen. nbgrader's own
``autograde`` is not used: it runs student code unconfined, as the grading user, in the
instructor's tree, with one shared gradebook. Grading is ``grading.py``'s: a bubblewrap
sandbox per submission, the autograder's cells restored around the student's answers,
visible and hidden cases (``grading_cases.py``) compared outside the sandbox.

* ``generate`` turns each chapter into an nbgrader source notebook (solution cells become
  nbgrader solution cells, check cells locked autograded tests, each ``{solution}`` box a
  hand-graded answer cell: the model answer in the autograder, a stub for the student),
  runs ``nbgrader generate_assignment`` and writes the student notebooks to
  ``assignments/student/`` and the autograder (PRIVATE: sources, model answers, key) to
  ``assignments/autograder/``; then it runs each reference solution in the sandbox on the
  autograder's cases and keeps the values as the key.
* ``grade NOTEBOOK`` grades one filled-in notebook in the sandbox: score of every
  exercise (visible and hidden points), why points were lost, what was restored.
* ``grade-all SUBMISSIONS`` grades ``SUBMISSIONS/<student_id>/<chapter>.ipynb`` for a class
  (roster, late policy, hand-graded marks) and writes grades.csv, canvas.csv and the HTML
  feedback (see ``grading.grade_all`` and book/instructors.md).
* ``instructor`` grades the instructor notebooks themselves, which must get full marks.
* ``stage_edition`` makes the student edition of the book (``bookbuild.py build
  --edition student``): no solution, no check, launch buttons on the student notebooks.

    python scripts/assignments.py generate            # make assignments
    python scripts/assignments.py grade assignments/student/01_gradient_lower_bound.ipynb
    python scripts/assignments.py grade-all submissions --roster roster.csv
    python scripts/assignments.py instructor          # every chapter at full marks, or exit 1

Student code is never run unconfined unless ``--unsafe-no-sandbox`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import logging
import os
import re
import shutil
import sys
import warnings
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))  # grading.py and grading_cases.py
OUT = ROOT / "assignments"
EXERCISE = re.compile(
    r"^[ \t]*(`{3,}|:{3,})\{exercise\}[ \t]*([^\n]*)\n(?:.*\n)*?[ \t]*:label:[ \t]*(\S+)",
    re.MULTILINE,
)
# The opening line of a {solution}, {solution-start} or {solution-end} block.
SOLUTION_OPEN = re.compile(
    r"^[ \t]*(`{3,}|:{3,})\{(solution(?:-start|-end)?)\}[ \t]*(\S*)[^\n]*$",
    re.MULTILINE,
)
FAST_CELL_TAG = "injected-fast"
ANSWER_STUB = "_Write your answer here (Markdown, with LaTeX between dollars); it is graded by hand._"
DERIVATION_POINTS = 2.0  # a derivation's written answer, graded by hand
WHY_POINTS = 1.0  # the written "why" part of a coding exercise, graded by hand


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
                found.setdefault(
                    match.group(3),
                    {
                        "title": match.group(2).strip(),
                        "kind": "derivation",
                        "points": 0,
                    },
                )
    for cell in nb.cells:
        meta = _advsub_meta(cell)
        if cell.cell_type == "code" and "check" in _tags(cell):
            label = meta.get("exercise")
            if label not in found:
                raise ValueError(
                    f"check cell for unknown exercise {label!r}: {cell.source[:80]!r}"
                )
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
        close = re.compile(rf"^[ \t]*{re.escape(fence)}[ \t]*$", re.MULTILINE).search(
            text, match.end()
        )
        end = close.end() if close else len(text)
        pieces.append(text[pos : match.start()])
        if name == "solution":
            written.append(label)
            pieces.append(f"**Your answer to {label}** (graded by hand): ...")
        pos = end
    pieces.append(text[pos:])
    return re.sub(r"\n{3,}", "\n\n", "".join(pieces)).strip(), written


def split_written(text: str) -> list[tuple[str, object]]:
    """A markdown cell cut at its written solutions: [("text", str) | ("answer", (label, solution))].

    The ``{solution-start}``/``{solution-end}`` markers go; each ``{solution}`` block
    becomes a hand-graded answer cell (the model answer in the autograder's copy, a stub
    in the student's), so that the answer never sits inside the next exercise's text.
    """
    pieces, pos = [], 0
    while (match := SOLUTION_OPEN.search(text, pos)) is not None:
        fence, name, label = match.groups()
        close = re.compile(rf"^[ \t]*{re.escape(fence)}[ \t]*$", re.MULTILINE).search(
            text, match.end()
        )
        end = close.end() if close else len(text)
        pieces.append(("text", text[pos : match.start()]))
        if name == "solution":
            body = text[match.end() : close.start() if close else len(text)]
            body = body.lstrip("\n")
            while re.match(r"[ \t]*:[\w-]+:.*(\n|$)", body):  # the directive's options
                body = body.split("\n", 1)[1] if "\n" in body else ""
            body = body.strip()
            pieces.append(("answer", (label, body)))
        pos = end
    pieces.append(("text", text[pos:]))
    out = []
    for kind, value in pieces:
        if kind == "text":
            value = re.sub(r"\n{3,}", "\n\n", value).strip()
            if not value:
                continue
        out.append((kind, value))
    return out


def written_solutions(nb) -> list[str]:
    """Labels of the exercises that have a written ``{solution}`` block."""
    return [
        label
        for c in nb.cells
        if c.cell_type == "markdown"
        for label in strip_solutions(c.source)[1]
    ]


def instructor_to_source(nb):
    """The nbgrader source version of an instructor notebook (a new notebook).

    Solution cells -> nbgrader solution cells; check cells -> locked autograded tests;
    ``{solution}`` boxes (written solutions) and the ``{solution-start}``/``{solution-end}``
    markers are dropped; every other cell is kept as is.
    """
    nb = copy.deepcopy(nb)
    cells, checks_seen, solutions_seen = [], {}, {}
    coding = {label for label, e in exercises(nb).items() if e["kind"] == "coding"}
    for cell in nb.cells:
        meta = _advsub_meta(cell)
        tags = _tags(cell)
        if cell.cell_type == "markdown" and SOLUTION_OPEN.search(cell.source):
            for kind, text in split_written(cell.source):
                if kind == "text":
                    cells.append(
                        nbformat.v4.new_markdown_cell(
                            text, metadata=copy.deepcopy(cell.metadata)
                        )
                    )
                    continue
                label, answer = text
                points = float(
                    meta.get(
                        "manual_points",
                        WHY_POINTS if label in coding else DERIVATION_POINTS,
                    )
                )
                cells.append(
                    nbformat.v4.new_markdown_cell(
                        answer,
                        metadata={
                            "nbgrader": {
                                "grade": True,
                                "solution": True,
                                "locked": False,
                                "points": points,
                                "grade_id": f"{label}-answer",
                                "schema_version": 3,
                            }
                        },
                    )
                )
            continue
        if cell.cell_type == "code" and "solution" in tags:
            label = meta["exercise"]
            solutions_seen[label] = solutions_seen.get(label, 0) + 1
            suffix = "" if solutions_seen[label] == 1 else str(solutions_seen[label])
            cell.metadata["nbgrader"] = {
                "grade": False,
                "solution": True,
                "locked": False,
                "grade_id": f"{label}-solution{suffix}",
                "schema_version": 3,
            }
        elif cell.cell_type == "code" and "check" in tags:
            label = meta["exercise"]
            checks_seen[label] = checks_seen.get(label, 0) + 1
            cell.metadata["nbgrader"] = {
                "grade": True,
                "solution": False,
                "locked": True,
                "points": float(meta.get("points", 1)),
                "grade_id": f"{label}-check{checks_seen[label]}",
                "schema_version": 3,
            }
        cells.append(cell)
    nb.cells = cells
    return nb


def inject_fast(nb):
    """Insert ``fast = True`` after the cell tagged ``parameters`` (papermill's convention)."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if FAST_CELL_TAG not in _tags(c)]
    for i, cell in enumerate(nb.cells):
        if "parameters" in _tags(cell):
            fast = nbformat.v4.new_code_cell(
                "fast = True  # injected by the grader: CI sizes",
                metadata={"tags": [FAST_CELL_TAG]},
            )
            nb.cells.insert(i + 1, fast)
            break
    return nb


def _config(root: Path, execute: bool = True):
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = "advsub"
    c.Execute.timeout = 600
    c.Exchange.root = str(
        Path(root) / "exchange"
    )  # unused (no release/collect), but must be writable
    c.ClearSolutions.code_stub = {
        "python": "# YOUR CODE HERE\nraise NotImplementedError()"
    }
    c.ClearSolutions.text_stub = ANSWER_STUB
    if (
        not execute
    ):  # score the outputs a notebook already has (an executed instructor notebook)
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
    warnings.filterwarnings(
        "ignore", message=".*not in session.*"
    )  # nbgrader vs SQLAlchemy 2
    config = _config(root, execute)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    api.log.setLevel(logging.WARNING)
    return api


def _check(result: dict, what: str) -> None:
    if not result.get("success"):
        raise RuntimeError(
            f"nbgrader {what} failed:\n{result.get('error') or ''}\n{result.get('log') or ''}"
        )


def generate(
    out: Path = OUT,
    names: list[str] | None = None,
    notebooks: Path = ROOT / "notebooks",
    keys: bool = True,
    unsafe: bool = False,
    jobs: int | None = None,
) -> dict[str, Path]:
    """Write the nbgrader course under ``out/autograder`` and the student notebooks under
    ``out/student``; with ``keys``, run each reference solution on the autograder's cases
    (in the sandbox) and keep its values as the key. Return {chapter: student notebook}."""
    import grading

    out = Path(out).resolve()
    course = out / "autograder"
    (out / "student").mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").parent.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(
        "# nbgrader course of the advsub book, written by scripts/assignments.py generate\n"
        "c = get_config()  # noqa: F821\n"
        "c.CourseDirectory.course_id = 'advsub'\n"
    )
    (course / "README.txt").write_text(
        "PRIVATE: the full solutions, the hidden cases' key and the model answers.\n"
        "Never hand this folder out or publish it; students get assignments/student/ only.\n"
    )
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
        _check(
            api.generate_assignment(path.stem, force=True),
            f"generate_assignment {path.stem}",
        )
        released = course / "release" / path.stem / path.name
        students[path.stem] = out / "student" / path.name
        shutil.copy2(released, students[path.stem])
    if keys and students:
        from concurrent.futures import ThreadPoolExecutor

        limits = grading.Limits(cell_timeout=600, wall=1800, cpu=3600)
        jobs = max(1, min(len(students), jobs or os.cpu_count() or 1))
        with ThreadPoolExecutor(jobs) as pool:
            list(
                pool.map(
                    lambda stem: grading.make_key(course, stem, limits, unsafe),
                    students,
                )
            )
    return students


def _as_submission(notebook: Path, tmp: Path) -> Path:
    """An instructor notebook (no nbgrader metadata) marked the way the autograder's copy is."""
    nb = nbformat.read(notebook, as_version=4)
    if any("nbgrader" in c.get("metadata", {}) for c in nb.cells):
        return notebook
    target = tmp / notebook.name
    nbformat.write(instructor_to_source(nb), target)
    return target


def grade(
    notebook: Path,
    out: Path = OUT,
    student: str = "student",
    limits=None,
    unsafe: bool = False,
) -> dict:
    """Grade one filled-in notebook of a chapter in its own sandbox; return its report:
    {"notebook", "student", "exercises": {label: {"title", "kind", "score", "max", "why",
    "manual_max", ...}}, "total", "max_total", "flags", "notes"} (derivations: score None)."""
    import tempfile

    import grading

    notebook = Path(notebook)
    if not notebook.is_file():
        raise grading.GradingError(f"no such notebook: {notebook}")
    with tempfile.TemporaryDirectory() as tmp:
        return grading.grade_notebook(
            _as_submission(notebook, Path(tmp)),
            Path(out) / "autograder",
            student,
            limits,
            unsafe,
        )


def grade_instructor(
    out: Path = OUT,
    names: list[str] | None = None,
    executed: Path | None = None,
    notebooks: Path = ROOT / "notebooks",
    unsafe: bool = False,
) -> dict[str, dict]:
    """Grade the instructor notebooks: executed in the sandbox against the key, or (with
    ``executed``) their visible checks scored from the already executed copies in
    ``executed/notebooks``. Return {chapter: report}."""
    import grading

    results = {}
    paths = [
        p
        for p in chapter_notebooks(notebooks)
        if (not names or p.stem in names)
        and (Path(out) / "autograder" / "source" / p.stem).exists()
    ]
    if executed is None:  # one sandbox per core
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max(1, min(len(paths), os.cpu_count() or 1))) as pool:
            reports = pool.map(
                lambda p: grade(p, out, student="instructor", unsafe=unsafe), paths
            )
            return {p.stem: r for p, r in zip(paths, reports)}
    for path in paths:
        nb = nbformat.read(Path(executed) / "notebooks" / path.name, as_version=4)
        found = exercises(nb)
        report = {
            "notebook": path.stem,
            "exercises": {},
            "total": 0.0,
            "max_total": 0.0,
            "flags": [],
            "notes": ["visible checks only, scored from the executed copy"],
        }
        for label, e in found.items():
            entry = {
                "title": e["title"],
                "kind": e["kind"],
                "score": None,
                "max": None,
                "why": [],
            }
            if e["kind"] == "coding":
                entry["max"] = e["points"]
                cells = [
                    c
                    for c in nb.cells
                    if "check" in _tags(c) and _advsub_meta(c).get("exercise") == label
                ]
                entry["why"] = [
                    w for c in cells if (w := grading._why(c.get("outputs", [])))
                ]
                entry["why"] += [
                    "did not run" for c in cells if c.get("execution_count") is None
                ]
                entry["score"] = 0.0 if entry["why"] else e["points"]
                report["total"] += entry["score"]
                report["max_total"] += entry["max"]
            report["exercises"][label] = entry
        results[path.stem] = report
    return results


def format_report(result: dict) -> str:
    import grading

    return grading.format_report(result)


# --- the student edition of the book -------------------------------------------------------
MARKER = re.compile(r"^[ \t]*# (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def student_edition(nb):
    """An executed instructor notebook as the student edition shows it: no written solution,
    no solution code (the stub the students get), no check cell (a new notebook)."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = _tags(cell)
        if cell.cell_type == "markdown" and SOLUTION_OPEN.search(cell.source):
            cell.source = "".join(
                v for k, v in split_written(cell.source) if k == "text"
            )
            if not cell.source.strip():
                continue
        if cell.cell_type == "code" and "check" in tags:
            continue
        if (
            cell.cell_type == "code"
            and "solution" in tags
            and "# BEGIN SOLUTION" in cell.source
        ):
            lines, skipping = [], False
            for line in cell.source.split("\n"):
                if "# BEGIN SOLUTION" in line:
                    indent = line[: len(line) - len(line.lstrip())]
                    lines += [
                        indent + "# YOUR CODE HERE",
                        indent + "raise NotImplementedError()",
                    ]
                    skipping = True
                elif "# END SOLUTION" in line:
                    skipping = False
                elif not skipping:
                    lines.append(line)
            cell.source = "\n".join(lines)
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    return nb


def instructor_edition(nb):
    """The instructor book: the solutions stay, the ``# BEGIN/END SOLUTION`` lines go."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and "solution" in _tags(cell):
            cell.source = MARKER.sub("", cell.source)
    return nb


STUDENT_REPOSITORY = "https://github.com/advsub/advsub-student"


def stage_edition(src: Path, edition: str, repository: str | None = None) -> None:
    """Turn a staged book source tree (scripts/bookbuild.py stage) into one edition, in place.

    ``student``: the chapters as :func:`student_edition` shows them (so ``_sources/`` and
    the download button hold no solution), the instructor guide left out, and the launch
    buttons pointing at the repository that holds the student notebooks (``repository``,
    default :data:`STUDENT_REPOSITORY`; it must have them at ``notebooks/<chapter>.ipynb``).
    ``instructor``: only the solution markers go."""
    import yaml

    if edition not in ("instructor", "student"):
        raise ValueError(
            f"edition must be 'instructor' or 'student', got edition={edition!r}"
        )
    src = Path(src)
    for path in sorted((src / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nbformat.write(
            student_edition(nb) if edition == "student" else instructor_edition(nb),
            path,
        )
    if edition == "student":
        (src / "book" / "instructors.md").unlink(missing_ok=True)
        toc = src / "_toc.yml"
        toc.write_text(
            "".join(
                line
                for line in toc.read_text().splitlines(keepends=True)
                if "book/instructors" not in line
            )
        )
        config = src / "_config.yml"
        data = yaml.safe_load(config.read_text())
        ours = str(data.get("repository", {}).get("url", "")).rstrip("/")
        theirs = (repository or STUDENT_REPOSITORY).rstrip("/")
        data.setdefault("repository", {})["url"] = theirs
        if ours:  # links in the outputs (the explorers' Colab/Binder notes) too
            _point_links_at(src / "notebooks", ours, theirs)
        data["title"] = f"{data.get('title', 'advsub')} (student edition)"
        sphinx = data.setdefault("sphinx", {})
        (sphinx.get("config") or sphinx.setdefault("config", {}))["hide_solutions"] = (
            True  # sphinx-exercise
        )
        config.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _point_links_at(folder: Path, ours: str, theirs: str) -> None:
    """Replace the instructor repository by the student one in every link of the
    notebooks (full URLs, and the github/<owner>/<name> forms Colab and Binder use; the
    set-up cell's ``pip install git+...`` too: the student repository carries the package)."""
    from urllib.parse import urlparse

    pairs = [(ours, theirs)]
    a, b = urlparse(ours), urlparse(theirs)
    if a.netloc == b.netloc == "github.com":
        old, new = a.path.strip("/"), b.path.strip("/")
        pairs += [(f"github/{old}", f"github/{new}"), (f"gh/{old}", f"gh/{new}")]
    for path in sorted(Path(folder).glob("*.ipynb")):
        text = path.read_text()
        for x, y in pairs:  # never inside a longer name (advsub/advsub-student)
            text = re.sub(re.escape(x) + r"(?![\w-])", lambda _m, y=y: y, text)
        path.write_text(text)


def main(argv=None) -> int:
    import grading

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT,
        help="assignments directory (default: assignments/)",
    )
    unsafe_help = (
        "run student code unconfined, as you (never for a class: it can read the "
        "solutions and change grades)"
    )
    parser.add_argument(
        "--unsafe-no-sandbox", dest="unsafe_top", action="store_true", help=unsafe_help
    )
    common = argparse.ArgumentParser(add_help=False)  # the flag after the command too
    common.add_argument("--unsafe-no-sandbox", action="store_true", help=unsafe_help)
    sub = parser.add_subparsers(dest="command", required=True)
    p_gen = sub.add_parser(
        "generate",
        parents=[common],
        help="write the student notebooks, the autograder and its key",
    )
    p_gen.add_argument("--only", nargs="*", help="chapter stems (default: all)")
    p_grade = sub.add_parser(
        "grade", parents=[common], help="grade one filled-in student notebook"
    )
    p_grade.add_argument("notebook", type=Path)
    p_grade.add_argument("--student", default="student")
    p_grade.add_argument(
        "--cell-timeout", type=float, default=grading.Limits.cell_timeout
    )
    p_all = sub.add_parser(
        "grade-all",
        parents=[common],
        help="grade SUBMISSIONS/<student_id>/<chapter>.ipynb",
    )
    p_all.add_argument("submissions", type=Path)
    p_all.add_argument(
        "--roster",
        type=Path,
        help="CSV with a student_id column (and optionally name, "
        "canvas_id, sis_login_id, section)",
    )
    p_all.add_argument(
        "--jobs", type=int, default=None, help="parallel sandboxes (default: the cores)"
    )
    p_all.add_argument(
        "--chapters",
        nargs="*",
        help="chapters handed out (default: every chapter with a key)",
    )
    p_all.add_argument(
        "--cell-timeout", type=float, default=grading.Limits.cell_timeout
    )
    p_all.add_argument(
        "--wall", type=float, default=grading.Limits.wall, help="s per notebook"
    )
    p_all.add_argument(
        "--deadline",
        help="ISO 8601, e.g. 2026-12-01T23:59+01:00 (default: no late policy)",
    )
    p_all.add_argument(
        "--late-penalty",
        type=float,
        default=0.1,
        help="fraction lost per started day late",
    )
    p_all.add_argument(
        "--late-max-days", type=int, default=10, help="later than this: 0"
    )
    p_all.add_argument("--grace-minutes", type=float, default=0.0)
    p_all.add_argument(
        "--regrade", action="store_true", help="ignore the cached results"
    )
    p_ins = sub.add_parser(
        "instructor",
        parents=[common],
        help="grade the instructor notebooks (must be full marks)",
    )
    p_ins.add_argument("--only", nargs="*")
    args = parser.parse_args(argv)
    unsafe = args.unsafe_no_sandbox or args.unsafe_top
    if unsafe:
        print(
            "WARNING: --unsafe-no-sandbox: student code runs unconfined, as you, with your files.",
            file=sys.stderr,
        )
    elif (problem := grading.sandbox_problem()) is not None:
        raise grading.GradingError(
            f"{problem}\nStudent code is never run unconfined unless you ask: fix the sandbox "
            "(see book/instructors.md) or pass --unsafe-no-sandbox"
        )
    if args.command == "generate":
        students = generate(args.out, args.only, unsafe=unsafe)
        for stem, path in students.items():
            n = exercises(
                nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
            )
            print(
                f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
                f"{sum(e['kind'] == 'coding' for e in n.values())} coding, "
                f"{sum(e['kind'] == 'derivation' for e in n.values())} derivation exercises"
            )
        print(f"autograder (keep private): {Path(args.out).resolve() / 'autograder'}")
        return 0
    if args.command == "grade":
        limits = grading.Limits(cell_timeout=args.cell_timeout)
        print(
            format_report(grade(args.notebook, args.out, args.student, limits, unsafe))
        )
        return 0
    if args.command == "grade-all":
        late = grading.LatePolicy(
            grading.parse_time(args.deadline) if args.deadline else None,
            args.late_penalty,
            args.grace_minutes,
            args.late_max_days,
        )
        limits = grading.Limits(cell_timeout=args.cell_timeout, wall=args.wall)
        grading.grade_all(
            args.submissions,
            Path(args.out) / "autograder",
            args.roster,
            args.jobs,
            limits,
            unsafe,
            args.chapters,
            late,
            args.regrade,
        )
        return 0
    results = grade_instructor(args.out, args.only, unsafe=unsafe)
    failed = []
    for stem, result in results.items():
        print(format_report(result))
        if result["total"] != result["max_total"]:
            failed.append(stem)
    if failed:
        print(
            f"instructor notebooks below full marks: {', '.join(failed)}",
            file=sys.stderr,
        )
        return 1
    print(f"all {len(results)} instructor notebooks at full marks")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
