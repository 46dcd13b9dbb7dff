"""One source, two outputs: student notebooks and the nbgrader autograder (scripts/assignments.py).

- Every chapter has at least one derivation and one coding exercise, in the exercise format.
- The student notebooks carry stubs that raise NotImplementedError where the solutions were,
  no written solution, no output, and the very same checks.
- The instructor notebooks get full marks (their fast-mode executed copies, scored by the
  autograder from their outputs; and one chapter executed by the autograder itself).
- An untouched student notebook gets zero on every coding exercise, and the grader finishes.
- A plausible wrong answer fails its own check and no other: a mistake written by hand (a
  forgotten normalisation) and the right function with its result off by a factor.
- No check uses a name that only another exercise defines (static, every chapter).
"""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.notebooks

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("assignments", ROOT / "scripts" / "assignments.py")
assignments = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(assignments)

CHAPTERS = [p.stem for p in assignments.chapter_notebooks()]


def instructor(stem: str):
    return nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)


def coding_chapters() -> list[str]:
    return [s for s in CHAPTERS
            if any(e["kind"] == "coding" for e in assignments.exercises(instructor(s)).values())]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """`make assignments` into a temporary directory: (out, {chapter: student notebook})."""
    out = tmp_path_factory.mktemp("assignments")
    return out, assignments.generate(out)


@pytest.fixture(scope="module")
def quick_chapter(executed_fast):
    """The chapter the execution tests grade: most coding exercises, then fastest in fast mode."""
    directory, _ = executed_fast
    timings_file = Path(directory) / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    candidates = coding_chapters()
    if not candidates:
        pytest.fail("no chapter has a coding exercise with a check cell")

    def key(stem):
        n = sum(e["kind"] == "coding" for e in assignments.exercises(instructor(stem)).values())
        return (-min(n, 2), timings.get(stem, float("inf")))

    return min(candidates, key=key)


@pytest.mark.parametrize("stem", CHAPTERS)
def test_every_chapter_has_a_derivation_and_a_coding_exercise(stem):
    nb = instructor(stem)
    found = assignments.exercises(nb)
    kinds = [e["kind"] for e in found.values()]
    assert len(found) >= 2 and "derivation" in kinds and "coding" in kinds, (stem, found)
    for label in found:
        assert label.startswith(f"ex-{stem[:2]}-"), f"label {label} should start with ex-{stem[:2]}-"
    solutions = [c for c in nb.cells if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]
    for cell in solutions:
        assert "# BEGIN SOLUTION" in cell.source and "# END SOLUTION" in cell.source, cell.source[:200]
        assert cell.metadata.get("advsub", {}).get("exercise") in found
    coding = {label for label, e in found.items() if e["kind"] == "coding"}
    assert coding <= {c.metadata["advsub"]["exercise"] for c in solutions}, "a check without a solution cell"
    derivations = {label for label, e in found.items() if e["kind"] == "derivation"}
    written = set(assignments.written_solutions(nb))
    assert derivations <= written, f"derivation(s) without a written solution: {derivations - written}"


def test_student_notebooks_have_stubs_and_the_same_checks(course):
    out, students = course
    assert set(students) == set(coding_chapters())
    for stem, path in students.items():
        teacher, student = instructor(stem), nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in student.cells)
        assert "{solution" not in text, f"{stem}: a written solution or solution marker is left"
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in student.cells if c.cell_type == "code"), f"{stem}: outputs not cleared"
        for cell in teacher.cells:
            tags = cell.metadata.get("tags", [])
            if cell.cell_type != "code" or "solution" not in tags:
                continue
            body = cell.source.split("# BEGIN SOLUTION", 1)[1].split("# END SOLUTION", 1)[0]
            secret = [line.strip() for line in body.splitlines() if len(line.strip()) > 12]
            grade_id = f"{cell.metadata['advsub']['exercise']}-solution"
            mine = [c for c in student.cells
                    if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith(grade_id)]
            assert mine, f"{stem}: no student cell for {grade_id}"
            assert all("raise NotImplementedError()" in c.source for c in mine)
            assert not any(line in c.source for line in secret for c in mine), \
                f"{stem}: solution code left in {grade_id}"
        checks = lambda nb: [c.source for c in nb.cells if "check" in c.metadata.get("tags", [])]  # noqa: E731
        assert checks(student) == checks(teacher), f"{stem}: the checks differ"


def test_instructor_notebooks_get_full_marks(course, executed_fast):
    out, students = course
    directory, failures = executed_fast
    graded = assignments.grade_instructor(out, names=[s for s in students if s not in failures],
                                          executed=Path(directory))
    below = {s: r for s, r in graded.items() if r["total"] != r["max_total"]}
    assert not below, "\n".join(assignments.format_report(r) for r in below.values())
    assert set(graded) == set(students) - set(failures)


def test_untouched_student_notebook_scores_zero(course, quick_chapter):
    out, students = course
    result = assignments.grade(students[quick_chapter], out, student="untouched")
    coding = {k: e for k, e in result["exercises"].items() if e["kind"] == "coding"}
    assert coding and all(e["score"] == 0 for e in coding.values()), assignments.format_report(result)
    assert result["total"] == 0 and result["max_total"] > 0


# A plausible wrong answer: the right function whose result is off by a factor 3/2 and a
# shift (a wrong constant, a forgotten square root), or negated if it is boolean.
WRONG = '''

def _advsub_wrong(value):
    import numpy as np
    import torch
    if isinstance(value, (bool, np.bool_)):
        return not value
    if isinstance(value, (int, float, np.number)):
        return 1.5 * value + 1
    if isinstance(value, torch.Tensor):
        return ~value if value.dtype == torch.bool else (1.5 * value + 1).to(value.dtype)
    if isinstance(value, np.ndarray):
        return ~value if value.dtype == bool else (1.5 * value + 1).astype(value.dtype)
    if isinstance(value, (tuple, list)):
        return type(value)(_advsub_wrong(v) for v in value)
    if isinstance(value, dict):
        return {k: _advsub_wrong(v) for k, v in value.items()}
    return None


_advsub_right_{name} = {name}


def {name}(*args, **kwargs):
    return _advsub_wrong(_advsub_right_{name}(*args, **kwargs))
'''


def solved_function(source: str) -> str:
    """Name of the top-level function whose body holds the solution region."""
    name = None
    for line in source.splitlines():
        match = re.match(r"def (\w+)\s*\(", line)
        if match:
            name = match.group(1)
        if "# BEGIN SOLUTION" in line:
            return name
    raise AssertionError(f"no function around the solution region:\n{source}")


# Mistakes a student makes, written by hand for some exercises (the body that replaces the
# solution region, at its indentation).
MISTAKES = {
    "ex-02-universal-from-weights": (  # forgets to normalise
        'v = torch.einsum("em,emd->ed", u, W) @ C @ C.T\nreturn v'),
    "ex-01-from-init": (  # forgets the activation pattern: every neuron counts
        'g = torch.einsum("em,emd,dl->el", u, W0, C)\nreturn g[:, None, :].expand(active.shape[0], active.shape[1], -1)'),
}


def replace_solution(source: str, body: str) -> str:
    head, rest = source.split("# BEGIN SOLUTION", 1)
    indent = head.rsplit("\n", 1)[-1]
    tail = rest.split("# END SOLUTION", 1)[1]
    return head.rstrip(" ") + "\n".join(indent + line for line in body.splitlines()) + tail


@pytest.mark.parametrize("kind", ["by hand", "off by a factor"])
def test_wrong_answer_fails_its_own_check_only(course, quick_chapter, tmp_path, kind):
    out, _ = course
    nb = instructor(quick_chapter)
    coding = [k for k, e in assignments.exercises(nb).items() if e["kind"] == "coding"]
    target = coding[0]
    if kind == "by hand" and target not in MISTAKES:
        pytest.skip(f"no hand-written mistake for {target}")
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []) and cell.metadata["advsub"]["exercise"] == target:
            if kind == "by hand":
                cell.source = replace_solution(cell.source, MISTAKES[target])
            else:
                cell.source += WRONG.replace("{name}", solved_function(cell.source))
    wrong = tmp_path / f"{quick_chapter}.ipynb"
    nbformat.write(nb, wrong)
    result = assignments.grade(wrong, out, student="wrong")
    scores = {k: e["score"] for k, e in result["exercises"].items() if e["kind"] == "coding"}
    report = assignments.format_report(result)
    assert scores[target] == 0, f"the wrong answer to {target} passed its check:\n{report}"
    for label in coding[1:]:
        assert scores[label] == result["exercises"][label]["max"], f"{label} lost points:\n{report}"


def _assigned_and_loaded(source: str) -> tuple[set[str], set[str]]:
    import ast

    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    tree = ast.parse(code)
    stores, loads = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (stores if isinstance(node.ctx, ast.Store) else loads).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
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
    chapter: set[str] = set()        # names defined by ordinary cells
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        stores, loads = _assigned_and_loaded(cell.source)
        tags, label = cell.metadata.get("tags", []), cell.metadata.get("advsub", {}).get("exercise")
        if label and ("solution" in tags or "check" in tags):
            for name in stores:
                owner.setdefault(name, set()).add(label)
            if "check" in tags:
                cells.append((label, loads - stores, cell.source))
        else:
            chapter |= stores
    for label, loads, source in cells:
        foreign = sorted(n for n in loads if n not in chapter and owner.get(n) and label not in owner[n])
        assert not foreign, (f"{stem}: the check of {label} uses {foreign}, defined only by "
                             f"{sorted(set().union(*(owner[n] for n in foreign)))}:\n{source[:400]}")
