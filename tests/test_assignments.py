"""One source, two outputs: student notebooks and the autograder (scripts/assignments.py).

- Every chapter has at least one derivation and one coding exercise, in the exercise format;
  every exercise statement says what type its answer returns; every "why" has an answer cell.
- The student notebooks carry stubs that raise NotImplementedError where the solutions were,
  a hand-graded answer cell (a stub) for every written solution and no written solution, no
  output, and the very same checks; every coding exercise has autograder cases.
- The instructor notebooks get full marks on their visible checks (their fast-mode executed
  copies, scored from their outputs).
- The student edition of the book has no solution, no marker and no check; the instructor
  edition no marker.
- Composition (no execution): a deleted or edited check is restored, an answer cell that lost
  its metadata is found by its function, cells the student added are not run.
- No check uses a name that only another exercise defines (static, every chapter).

The sandboxed grading of a class of adversarial submissions is in test_assignments_sandbox.py.
"""

from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

pytestmark = pytest.mark.notebooks

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "assignments", ROOT / "scripts" / "assignments.py"
)
assignments = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(assignments)
import grading
import grading_cases

CHAPTERS = [p.stem for p in assignments.chapter_notebooks()]


def instructor(stem: str):
    return nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)


def coding_chapters() -> list[str]:
    return [
        s
        for s in CHAPTERS
        if any(
            e["kind"] == "coding" for e in assignments.exercises(instructor(s)).values()
        )
    ]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """`make assignments` without the key (no execution) into a temporary directory:
    (out, {chapter: student notebook})."""
    out = tmp_path_factory.mktemp("assignments")
    return out, assignments.generate(out, keys=False)


@pytest.mark.parametrize("stem", CHAPTERS)
def test_every_chapter_has_a_derivation_and_a_coding_exercise(stem):
    nb = instructor(stem)
    found = assignments.exercises(nb)
    kinds = [e["kind"] for e in found.values()]
    assert len(found) >= 2 and "derivation" in kinds and "coding" in kinds, (
        stem,
        found,
    )
    for label in found:
        assert label.startswith(f"ex-{stem[:2]}-"), (
            f"label {label} should start with ex-{stem[:2]}-"
        )
    solutions = [
        c
        for c in nb.cells
        if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])
    ]
    for cell in solutions:
        assert "# BEGIN SOLUTION" in cell.source and "# END SOLUTION" in cell.source, (
            cell.source[:200]
        )
        assert cell.metadata.get("advsub", {}).get("exercise") in found
    coding = {label for label, e in found.items() if e["kind"] == "coding"}
    assert coding <= {c.metadata["advsub"]["exercise"] for c in solutions}, (
        "a check without a solution cell"
    )
    derivations = {label for label, e in found.items() if e["kind"] == "derivation"}
    written = set(assignments.written_solutions(nb))
    assert derivations <= written, (
        f"derivation(s) without a written solution: {derivations - written}"
    )


def test_student_notebooks_have_stubs_and_the_same_checks(course):
    out, students = course
    assert set(students) == set(coding_chapters())
    for stem, path in students.items():
        teacher, student = instructor(stem), nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in student.cells)
        assert "{solution" not in text, (
            f"{stem}: a written solution or solution marker is left"
        )
        assert all(
            not c.get("outputs") and c.get("execution_count") is None
            for c in student.cells
            if c.cell_type == "code"
        ), f"{stem}: outputs not cleared"
        for cell in teacher.cells:
            tags = cell.metadata.get("tags", [])
            if cell.cell_type != "code" or "solution" not in tags:
                continue
            body = cell.source.split("# BEGIN SOLUTION", 1)[1].split(
                "# END SOLUTION", 1
            )[0]
            secret = [
                line.strip() for line in body.splitlines() if len(line.strip()) > 12
            ]
            grade_id = f"{cell.metadata['advsub']['exercise']}-solution"
            mine = [
                c
                for c in student.cells
                if c.metadata.get("nbgrader", {})
                .get("grade_id", "")
                .startswith(grade_id)
            ]
            assert mine, f"{stem}: no student cell for {grade_id}"
            assert all("raise NotImplementedError()" in c.source for c in mine)
            assert not any(line in c.source for line in secret for c in mine), (
                f"{stem}: solution code left in {grade_id}"
            )
        checks = lambda nb: [
            c.source for c in nb.cells if "check" in c.metadata.get("tags", [])
        ]
        assert checks(student) == checks(teacher), f"{stem}: the checks differ"
        # Every written solution became a hand-graded answer cell, with a stub, not the answer.
        answers = {
            c.metadata["nbgrader"]["grade_id"]: c
            for c in student.cells
            if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-answer")
        }
        written = assignments.written_solutions(teacher)
        assert set(answers) == {f"{label}-answer" for label in written}, (
            stem,
            sorted(answers),
        )
        for cell in answers.values():
            nbg = cell.metadata["nbgrader"]
            assert (
                cell.cell_type == "markdown"
                and nbg["grade"]
                and nbg["solution"]
                and nbg["points"] > 0
            )
            assert cell.source == assignments.ANSWER_STUB, cell.source[:200]


def test_every_coding_exercise_has_autograder_cases_and_says_what_it_returns():
    """Hidden cases exist for every coding exercise, call the function its answer cell
    defines, and the statement names the returned type (a tensor, an array or a float)."""
    for stem in coding_chapters():
        nb = instructor(stem)
        for label, e in assignments.exercises(nb).items():
            if e["kind"] != "coding":
                continue
            assert label in grading_cases.CASES, (
                f"{label} has no autograder cases in grading_cases.py"
            )
            names = {
                re.match(r"def (\w+)", c.source).group(1)
                for c in nb.cells
                if "solution" in c.metadata.get("tags", [])
                and c.metadata["advsub"]["exercise"] == label
            }
            assert grading_cases.CASES[label].function in names, (label, names)
            statement = next(
                c.source
                for c in nb.cells
                if c.cell_type == "markdown" and f":label: {label}" in c.source
            )
            statement = statement.split(f":label: {label}", 1)[1].split("```", 1)[0]
            assert re.search(r"\btensor\b|numpy array|Python `float`", statement), (
                f"{label}: the statement does not say what type it returns:\n{statement}"
            )


def test_every_why_question_has_an_answer_cell():
    for stem in CHAPTERS:
        nb = instructor(stem)
        written = set(assignments.written_solutions(nb))
        for cell in nb.cells:
            for match in assignments.EXERCISE.finditer(
                cell.source if cell.cell_type == "markdown" else ""
            ):
                label = match.group(3)
                statement = (
                    cell.source[match.start() :].split("```", 2)[1]
                    if "```" in cell.source
                    else ""
                )
                if re.search(r"\bwhy\b", statement, re.IGNORECASE):
                    assert label in written, (
                        f"{label} asks why but has no written solution (answer cell)"
                    )


def test_instructor_notebooks_get_full_marks(course, executed_fast):
    out, students = course
    directory, failures = executed_fast
    graded = assignments.grade_instructor(
        out, names=[s for s in students if s not in failures], executed=Path(directory)
    )
    below = {s: r for s, r in graded.items() if r["total"] != r["max_total"]}
    assert not below, "\n".join(assignments.format_report(r) for r in below.values())
    assert set(graded) == set(students) - set(failures)


def _assigned_and_loaded(source: str) -> tuple[set[str], set[str]]:
    import ast

    code = "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
    )
    tree = ast.parse(code)
    stores, loads = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (stores if isinstance(node.ctx, ast.Store) else loads).add(node.id)
        elif isinstance(
            node, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
        ):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                stores |= {(a.asname or a.name).split(".")[0] for a in node.names}
            else:
                stores.add(node.name)
    return stores, loads


@pytest.mark.parametrize("stem", CHAPTERS)
def test_checks_do_not_depend_on_other_exercises(stem):
    """A check may use the chapter's cells and its own solution, never a name that only
    another exercise's solution or check defines: else one wrong answer costs two scores."""
    nb = instructor(stem)
    owner: dict[str, set[str]] = {}  # name -> exercises whose cells define it
    chapter: set[str] = set()  # names defined by ordinary cells
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        stores, loads = _assigned_and_loaded(cell.source)
        tags, label = (
            cell.metadata.get("tags", []),
            cell.metadata.get("advsub", {}).get("exercise"),
        )
        if label and ("solution" in tags or "check" in tags):
            for name in stores:
                owner.setdefault(name, set()).add(label)
            if "check" in tags:
                cells.append((label, loads - stores, cell.source))
        else:
            chapter |= stores
    for label, loads, source in cells:
        foreign = sorted(
            n
            for n in loads
            if n not in chapter and owner.get(n) and label not in owner[n]
        )
        assert not foreign, (
            f"{stem}: the check of {label} uses {foreign}, defined only by "
            f"{sorted(set().union(*(owner[n] for n in foreign)))}:\n{source[:400]}"
        )


# --- the student edition --------------------------------------------------------------------
@pytest.mark.parametrize("stem", CHAPTERS)
def test_student_edition_has_no_solution_and_instructor_edition_no_marker(stem):
    nb = instructor(stem)
    student = assignments.student_edition(nb)
    text = "\n".join(c.source for c in student.cells)
    assert "# BEGIN SOLUTION" not in text and "# END SOLUTION" not in text
    assert "{solution" not in text, "a solution dropdown is left"
    assert not any("check" in c.metadata.get("tags", []) for c in student.cells), (
        "a check cell is left"
    )
    elsewhere = "\n".join(
        c.source for c in nb.cells if "solution" not in c.metadata.get("tags", [])
    )
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []):
            body = cell.source.split("# BEGIN SOLUTION", 1)[1].split(
                "# END SOLUTION", 1
            )[0]
            secret = [
                line.strip()
                for line in body.splitlines()
                if len(line.strip()) > 12 and line.strip() not in elsewhere
            ]
            assert not any(line in text for line in secret), (
                f"{stem}: solution code is left"
            )
    assert sum("raise NotImplementedError()" in c.source for c in student.cells) == sum(
        "solution" in c.metadata.get("tags", []) for c in nb.cells
    )
    teacher = assignments.instructor_edition(nb)
    assert "# BEGIN SOLUTION" not in "\n".join(c.source for c in teacher.cells)
    assert [c.cell_type for c in teacher.cells] == [c.cell_type for c in nb.cells]
    # The check cells are removed from the instructor book by their tag.
    assert all(
        "remove-cell" in c.metadata.get("tags", [])
        for c in nb.cells
        if "check" in c.metadata.get("tags", [])
    )


def test_stage_edition_student_points_launch_buttons_at_the_student_repository(
    tmp_path,
):
    import shutil

    import yaml

    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "instructors.md").write_text("# For instructors\n")
    (tmp_path / "notebooks").mkdir()
    stem = CHAPTERS[0]
    nb = instructor(stem)
    ours = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"][
        "url"
    ].rstrip("/")
    owner_name = ours.split("github.com/", 1)[-1]
    nb.cells.append(
        nbformat.v4.new_markdown_cell(
            f"[live](https://mybinder.org/v2/gh/{owner_name}/main)"
        )
    )
    nbformat.write(nb, tmp_path / "notebooks" / f"{stem}.ipynb")
    assignments.stage_edition(
        tmp_path, "student", "https://github.com/course/student-notebooks"
    )
    config = yaml.safe_load((tmp_path / "_config.yml").read_text())
    assert config["repository"]["url"] == "https://github.com/course/student-notebooks"
    assert "book/instructors" not in (tmp_path / "_toc.yml").read_text()
    assert not (tmp_path / "book" / "instructors.md").exists()
    text = (tmp_path / "notebooks" / f"{stem}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "{solution" not in text
    assert f"gh/{owner_name}/main" not in text, (
        "a link still opens the instructor notebooks"
    )
    assert "v2/gh/course/student-notebooks/main" in text
    with pytest.raises(ValueError, match="edition"):
        assignments.stage_edition(tmp_path, "teacher")


# --- composition: what of a submission is run (no execution) --------------------------------
def _released(course, stem):
    out, _ = course
    return nbformat.read(
        out / "autograder" / "release" / stem / f"{stem}.ipynb", as_version=4
    )


def test_compose_restores_checks_and_finds_answers(course):
    stem = coding_chapters()[0]
    template = _released(course, stem)
    sub = nbformat.reads(nbformat.writes(template), as_version=4)
    check = next(
        i
        for i, c in enumerate(sub.cells)
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
    )
    solution = next(
        c
        for c in sub.cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    )
    del sub.cells[check]  # a deleted check
    solution.source = (
        "torch.allclose = lambda *a, **k: True\n"
        + solution.source.replace("raise NotImplementedError()", "return 42")
    )
    solution.metadata = {}  # stripped metadata
    sub.cells.append(
        nbformat.v4.new_code_cell("import os; os.system('true')")
    )  # an added cell
    comp = grading.compose(template, sub)
    assert "check-restored" in comp["flags"] and "answer-found-by-name" in comp["flags"]
    assert "extra-cells-ignored" in comp["flags"] and "library-patched" in comp["flags"]
    run = [c.source for c in comp["nb"].cells]
    assert template.cells[check].source in run, "the deleted check was not restored"
    assert solution.source in run and "import os; os.system('true')" not in run
    assert len(comp["checks"]) == sum(
        bool(c.metadata.get("nbgrader", {}).get("grade")) and c.cell_type == "code"
        for c in template.cells
    )
    for index, (_, gid, _) in comp["checks"].items():
        assert comp["nb"].cells[index].metadata["nbgrader"]["grade_id"] == gid


def test_compose_of_an_edited_check_and_a_missing_answer(course):
    stem = coding_chapters()[0]
    template = _released(course, stem)
    sub = nbformat.reads(nbformat.writes(template), as_version=4)
    for c in sub.cells:
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code":
            c.source = "pass"
    sub.cells = [
        c
        for c in sub.cells
        if not (
            c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
        )
    ]
    comp = grading.compose(template, sub)
    assert {"check-restored", "missing-answer"} <= set(comp["flags"])
    assert not any(c.source == "pass" for c in comp["nb"].cells)


def test_compare_is_strict_on_shape_type_and_value():
    a = np.array([[1.0, np.inf], [2.0, 3.0]])
    assert grading.compare(a.copy(), a, 0, 1e-12) is None
    assert "shape" in grading.compare(a.T.reshape(4), a, 0, 1e-12)
    assert "infinite" in grading.compare(
        np.array([[1.0, 5.0], [2.0, 3.0]]), a, 0, 1e-12
    )
    assert "differ" in grading.compare(a + np.array([[0, 0], [0, 1e-6]]), a, 0, 1e-9)
    assert (
        grading.compare(a.astype(np.float32), a, 1e-6, 0) is None
    )  # float32 within tolerance
    assert "booleans" in grading.compare(np.ones(2), np.ones(2, bool), 0, 0)
    assert "not a real" in grading.compare(np.array(["x", "y"]), np.ones(2), 0, 0)


def test_the_sandbox_binds_only_what_a_student_is_given(tmp_path):
    """No repository path but the package and the venv; read-only; no network, pid namespace."""
    if grading.bwrap_path() is None:
        pytest.skip("bubblewrap is not installed (make bwrap)")
    argv = grading.sandbox_argv(tmp_path, ["python"], grading.Limits())
    binds = [
        (a, argv[i + 1], argv[i + 2])
        for i, a in enumerate(argv)
        if a in ("--bind", "--ro-bind")
    ]
    writable = [src for kind, src, _ in binds if kind == "--bind"]
    assert writable == [str(tmp_path)], writable
    repo = ROOT.resolve()
    for _, src, _ in binds:
        path = Path(src).resolve()
        if path == repo or repo in path.parents:
            assert path in (
                repo / "advsub",
                repo / "scripts" / "grading_runner.py",
            ) or (repo / ".venv") in [path, *path.parents], src
    text = " ".join(argv)
    for private in (
        "notebooks",
        "assignments",
        ".git",
        "_build",
        "scripts/assignments",
    ):
        assert f"{repo}/{private}" not in text, private
    assert (
        "--die-with-parent" in argv
        and "--unshare-pid" in text
        and "--unshare-net" in text
        or "--unshare-all" in argv
    )
    assert any(a.startswith("--cpu=") for a in argv) and any(
        a.startswith("--as=") for a in argv
    )


def test_grading_refuses_to_run_unconfined_unless_asked(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(grading, "bwrap_path", lambda: None)
    with pytest.raises(SystemExit, match="bubblewrap"):
        assignments.main(["--out", str(tmp_path), "grade", str(tmp_path / "x.ipynb")])


def test_clear_messages_for_a_missing_or_unrecognisable_notebook(course, tmp_path):
    out, _ = course
    with pytest.raises(SystemExit, match="no such notebook"):
        assignments.grade(tmp_path / "missing.ipynb", out)
    stranger = tmp_path / "my homework.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), stranger
    )
    with pytest.raises(SystemExit, match="cannot tell which chapter"):
        assignments.grade(stranger, out)
    stem = coding_chapters()[0]
    renamed = tmp_path / "Copy of homework.ipynb"
    nbformat.write(_released(course, stem), renamed)
    assert (
        grading.identify_chapter(
            nbformat.read(renamed, as_version=4), renamed.name, out / "autograder"
        )[0]
        == stem
    )


def test_late_policy():
    import datetime as dt

    deadline = dt.datetime(2026, 12, 1, 23, 59, tzinfo=dt.timezone.utc)
    policy = grading.LatePolicy(deadline, penalty=0.1, grace_minutes=10, max_days=3)
    assert policy.fraction(deadline) == (1.0, 0)
    assert policy.fraction(deadline + dt.timedelta(minutes=9)) == (1.0, 0)
    assert policy.fraction(deadline + dt.timedelta(hours=5)) == (0.9, 1)
    assert policy.fraction(deadline + dt.timedelta(days=2, hours=1)) == (0.7, 3)
    assert policy.fraction(deadline + dt.timedelta(days=4)) == (0.0, 4)
    assert grading.LatePolicy().fraction(deadline) == (1.0, 0)


def test_slim_composition_keeps_set_up_and_what_answers_use(course):
    """Grading skips the chapter's experiments but keeps imports, parameters and every cell
    that defines a name an answer or a check uses."""
    stem = coding_chapters()[0]
    template = _released(course, stem)
    sub = nbformat.reads(nbformat.writes(template), as_version=4)
    first = next(
        i
        for i, c in enumerate(sub.cells)
        if c.cell_type == "code" and not c.metadata.get("nbgrader")
    )
    helper = nbformat.v4.new_code_cell(
        "CHAPTER_CONSTANT = 3\nprint('expensive experiment')"
    )
    template.cells.insert(first + 1, helper)
    sub.cells.insert(first + 1, copy.deepcopy(helper))
    for c in sub.cells:
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code":
            c.source = c.source.replace(
                "raise NotImplementedError()", "return CHAPTER_CONSTANT"
            )
    comp = grading.compose(template, sub)
    run = [c.source for c in comp["nb"].cells if c.cell_type == "code"]
    assert helper.source in run, "a cell an answer needs was skipped"
    assert any(re.search(r"^import torch", s, re.M) for s in run), (
        "the imports were skipped"
    )
    assert any(
        c.metadata.get("tags") and "parameters" in c.metadata["tags"]
        for c in comp["nb"].cells
    )
    skipped = [
        c
        for c in comp["nb"].cells
        if "advsub-not-run-when-grading" in c.metadata.get("tags", [])
    ]
    assert skipped and all(c.source == "" for c in skipped)
    full = grading.compose(template, sub, slim=False)
    assert (
        len(full["nb"].cells) == len(comp["nb"].cells)
        and full["checks"] == comp["checks"]
    )
