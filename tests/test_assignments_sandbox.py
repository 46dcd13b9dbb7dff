"""A class of adversarial students, graded by `grade-all` in the sandbox (issue 12).

One batch of submissions of two chapters (02: two coding exercises and a "why"; 07: one
coding exercise, numpy accepted) is graded once with two parallel sandboxes, a small cell
timeout and a small per-case timeout; each test then reads its case from the result:

- correct: the reference solution (full marks), a numpy alternative (full marks);
- wrong: a hand-written mistake, the right function off by a factor, a plain bisection
  (passes the visible check, fails the hidden three-crossing network), an empty notebook;
- gaming: a deleted check with no work, an edited check (``pass``), stripped metadata
  (found by the function name), a renamed function, reordered cells, a renamed file
  (identified by content) submitted late, ``torch.allclose``/``np.allclose`` replaced and
  an answer computed from the check's own variables;
- escaping: an infinite loop (timeout), a submission that looks for the instructor
  notebooks and the autograder (finds nothing), one that writes outside its folder,
  edits the key, the gradebook and another student's notebook, and starts background
  processes -- nothing it does survives or reaches anybody else;
- a roster student without a submission (0, "missing"); a manual mark and its comment in
  the export; the Canvas CSV and the HTML feedback.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import re
import subprocess
import uuid
from pathlib import Path

import nbformat
import pytest
from test_assignments import assignments, grading

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CH02, CH07 = "02_universal_perturbation", "07_beyond_manifolds_and_digits"
TOKEN = uuid.uuid4().hex[:10]
SLEEP = "4242.5"  # a background process's signature

# A plausible wrong answer: the right function whose result is off by a factor 3/2 and a
# shift (a wrong constant, a forgotten square root), or negated if it is boolean.
WRONG = """

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
"""


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


def replace_solution(source: str, body: str) -> str:
    head, rest = source.split("# BEGIN SOLUTION", 1)
    indent = head.rsplit("\n", 1)[-1]
    tail = rest.split("# END SOLUTION", 1)[1]
    return (
        head.rstrip(" ") + "\n".join(indent + line for line in body.splitlines()) + tail
    )


NUMPY_07 = """def dead_pixel_basis(images):
    import numpy as np
    a = np.asarray(images)
    cols = [j for j in range(a.shape[1]) if not a[:, j].any()]
    out = np.zeros((a.shape[1], len(cols)))
    for k, j in enumerate(cols):
        out[j, k] = 1.0
    return out
"""
PLAIN_BISECTION = """def first_flip(net, x0, e, t_max):
    f = lambda t: float(net((x0 + t * e)[None])[0, 0])
    s = 1.0 if f(0.0) >= 0 else -1.0
    if s * f(t_max) >= 0:
        return math.inf
    lo, hi = 0.0, t_max
    while hi - lo > 1e-8 * hi:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if s * f(mid) < 0 else (mid, hi)
    return hi
"""
MONKEYPATCH = """import numpy as np
import torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
np.allclose = lambda *a, **k: True


def universal_from_weights(W, u, C):
    return advsub.universal_direction(_net, _P)  # the check's own variables
"""
LOOP = """def dead_pixel_basis(images):
    while True:
        pass
"""


def snoop(course: Path) -> str:
    return f'''def dead_pixel_basis(images):
    """Look for the solution in the instructor's files; answer right only if one is found."""
    import glob
    from pathlib import Path
    import advsub
    places = [Path(advsub.__file__).resolve().parents[1] / "notebooks", Path("{ROOT}") / "notebooks",
              Path("{course}"), Path("{ROOT}") / "assignments", Path.home()]
    found = [p for d in places for p in glob.glob(str(d) + "/**/*.ipynb", recursive=True)
             if "BEGIN SOLUTION" in open(p).read()]
    if found:
        return torch.eye(64, dtype=images.dtype)[:, (images == 0).all(dim=0)]
    return torch.zeros(64, 1, dtype=images.dtype)
'''


def escape(course: Path, submissions: Path) -> str:
    targets = [
        course / "key" / f"{CH07}.npz",
        course / "key" / f"{CH07}.json",
        submissions / "grades.csv",
        submissions / "s-empty-07" / f"{CH07}.ipynb",
        submissions / ".grading" / "pwned.json",
        ROOT / "advsub" / f"pwned_{TOKEN}.py",
        ROOT / "notebooks" / f"pwned_{TOKEN}.txt",
        Path("/tmp") / f"pwned_{TOKEN}",
        Path("/root") / f"pwned_{TOKEN}",
        Path("..") / f"pwned_{TOKEN}",
    ]
    return f'''import os, subprocess, time
_hits = []
for _t in {[str(t) for t in targets]!r}:
    try:
        with open(_t, "w") as _fh:
            _fh.write("pass  # pwned")
        _hits.append(_t)
    except OSError:
        pass
subprocess.Popen(["sleep", "{SLEEP}"], start_new_session=True)
os.system("nohup sleep {SLEEP} >/dev/null 2>&1 &")
if os.fork() == 0:  # a daemon that would write later
    os.setsid()
    time.sleep(20)
    open("/tmp/pwned_{TOKEN}_late", "w").write("late")
    os._exit(0)


def dead_pixel_basis(images):
    return torch.eye(images.shape[1], dtype=images.dtype)[:, (images == 0).all(dim=0)]
'''


def set_answers(nb, answers: dict[str, str]) -> None:
    """Put source into the answer cells whose grade id starts with a key of ``answers``."""
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        for prefix, source in answers.items():
            if gid.startswith(prefix) and gid.endswith(("-solution", "-solution2")):
                cell.source = source


def reference(stem: str) -> dict[str, str]:
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    return {
        c.metadata["advsub"]["exercise"]: c.source
        for c in nb.cells
        if "solution" in c.metadata.get("tags", [])
    }


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """(course, submissions, result of grade_all, key hashes before) for the batch above."""
    if (problem := grading.sandbox_problem()) is not None:
        pytest.skip(problem)
    out = tmp_path_factory.mktemp("assignments")
    assignments.generate(out, [CH02, CH07])
    course = out / "autograder"
    subs = tmp_path_factory.mktemp("submissions")
    released = {
        s: nbformat.read(course / "release" / s / f"{s}.ipynb", as_version=4)
        for s in (CH02, CH07)
    }
    ref02, ref07 = reference(CH02), reference(CH07)

    def submit(student, stem, edit=None, name=None):
        nb = nbformat.reads(nbformat.writes(released[stem]), as_version=4)
        if edit:
            edit(nb)
        path = subs / student / f"{name or stem}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path

    # chapter 02
    submit("s-reference", CH02, lambda nb: set_answers(nb, ref02))
    submit("s-empty-02", CH02)
    wrong = dict(ref02)
    wrong["ex-02-universal-from-weights"] = replace_solution(
        ref02["ex-02-universal-from-weights"],
        'v = torch.einsum("em,emd->ed", u, W) @ C @ C.T\nreturn v',
    )
    submit("s-wrong", CH02, lambda nb: set_answers(nb, wrong))
    factor = dict(ref02)
    src = ref02["ex-02-universal-from-weights"]
    factor["ex-02-universal-from-weights"] = src + WRONG.replace(
        "{name}", solved_function(src)
    )
    submit("s-factor", CH02, lambda nb: set_answers(nb, factor))
    submit(
        "s-plain-bisection",
        CH02,
        lambda nb: set_answers(
            nb,
            {
                "ex-02-universal-from-weights": ref02["ex-02-universal-from-weights"],
                "ex-02-bisection": PLAIN_BISECTION,
            },
        ),
    )

    def delete_checks(nb):
        nb.cells = [
            c
            for c in nb.cells
            if not c.metadata.get("nbgrader", {}).get("grade") or c.cell_type != "code"
        ]

    submit("s-deleted-check", CH02, delete_checks)
    submit(
        "s-monkeypatch",
        CH02,
        lambda nb: set_answers(nb, {"ex-02-universal-from-weights": MONKEYPATCH}),
    )
    # chapter 07
    submit("s-numpy", CH07, lambda nb: set_answers(nb, {"ex-07": NUMPY_07}))
    submit("s-empty-07", CH07)

    def stripped(nb):
        set_answers(nb, ref07)
        for c in nb.cells:
            c.metadata = {}

    submit("s-stripped", CH07, stripped)
    submit(
        "s-renamed-function",
        CH07,
        lambda nb: set_answers(
            nb,
            {
                "ex-07": ref07["ex-07-dead-pixels"].replace(
                    "def dead_pixel_basis", "def dead_pixels"
                )
            },
        ),
    )
    submit("s-loop", CH07, lambda nb: set_answers(nb, {"ex-07": LOOP}))
    submit("s-snoop", CH07, lambda nb: set_answers(nb, {"ex-07": snoop(course)}))
    submit(
        "s-escape", CH07, lambda nb: set_answers(nb, {"ex-07": escape(course, subs)})
    )

    def reorder(nb):
        set_answers(nb, ref07)
        i = next(
            i
            for i, c in enumerate(nb.cells)
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
        )
        nb.cells.insert(i - 1, nb.cells.pop(i))

    submit("s-reordered", CH07, reorder)

    def edited(nb):
        for c in nb.cells:
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code":
                c.source = "pass"

    submit("s-edited-check", CH07, edited)
    submit(
        "s-late", CH07, lambda nb: set_answers(nb, ref07), name=f"Copy of {CH07} (1)"
    )
    # The others' times are their files' (now): before the deadline.
    deadline = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    (subs / "submitted_at.csv").write_text(
        f"student_id,chapter,submitted_at\ns-late,{CH07},{(deadline + dt.timedelta(hours=30)).isoformat()}\n"
    )
    students = sorted(p.name for p in subs.iterdir() if p.is_dir())
    roster = subs.parent / f"{subs.name}-roster.csv"
    roster.write_text(
        "student_id,name\n"
        + "".join(f"{s},Student {s}\n" for s in students + ["s-missing"])
    )
    before = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (course / "key").iterdir()
    }
    empty_before = (subs / "s-empty-07" / f"{CH07}.ipynb").read_bytes()
    limits = grading.Limits(cell_timeout=30, case_timeout=3, wall=300)
    late = grading.LatePolicy(deadline, penalty=0.25)
    result = grading.grade_all(
        subs, course, roster, jobs=2, limits=limits, late=late, chapters=[CH02, CH07]
    )
    return {
        "course": course,
        "subs": subs,
        "result": result,
        "before": before,
        "roster": roster,
        "empty_before": empty_before,
        "limits": limits,
        "late": late,
    }


def rows(klass, student, chapter=None):
    with open(klass["subs"] / "grades.csv") as fh:
        return {
            r["exercise"]: r
            for r in csv.DictReader(fh)
            if r["student_id"] == student
            and (chapter is None or r["chapter"] == chapter)
        }


def report(klass, student, chapter):
    return klass["result"]["reports"][(student, chapter)]


def auto(klass, student, chapter, label):
    e = report(klass, student, chapter)["exercises"][label]
    return e["score"], e["max"]


def test_correct_answers_get_full_marks(klass):
    for label in ("ex-02-universal-from-weights", "ex-02-bisection"):
        score, maximum = auto(klass, "s-reference", CH02, label)
        assert score == maximum == 4, grading.format_report(
            report(klass, "s-reference", CH02)
        )
    assert auto(klass, "s-numpy", CH07, "ex-07-dead-pixels") == (4, 4), (
        grading.format_report(report(klass, "s-numpy", CH07))
    )
    assert not report(klass, "s-reference", CH02)["flags"]


def test_wrong_answers_lose_their_points_and_no_other(klass):
    for student in ("s-wrong", "s-factor"):
        r = report(klass, student, CH02)
        assert auto(klass, student, CH02, "ex-02-universal-from-weights")[0] == 0, (
            grading.format_report(r)
        )
        assert auto(klass, student, CH02, "ex-02-bisection")[0] == 4, (
            grading.format_report(r)
        )


def test_plain_bisection_fails_the_hidden_multi_crossing_network(klass):
    r = report(klass, "s-plain-bisection", CH02)
    e = r["exercises"]["ex-02-bisection"]
    assert e["hidden"]["score"] == 0 and e["score"] < e["max"], grading.format_report(r)
    assert any("crossings" in w for w in e["why"]), e["why"]
    assert (
        auto(klass, "s-plain-bisection", CH02, "ex-02-universal-from-weights")[0] == 4
    )


def test_empty_and_deleted_checks_score_zero_under_their_own_id(klass):
    for student in ("s-empty-02", "s-deleted-check"):
        r = report(klass, student, CH02)
        assert r["total"] == 0 and r["max_total"] == 8, grading.format_report(r)
    assert "check-restored" in report(klass, "s-deleted-check", CH02)["flags"]
    assert any("restored" in n for n in report(klass, "s-deleted-check", CH02)["notes"])
    edited = report(klass, "s-edited-check", CH07)
    assert edited["total"] == 0 and "check-restored" in edited["flags"], (
        grading.format_report(edited)
    )


def test_replaced_comparisons_and_the_checks_variables_do_not_help(klass):
    r = report(klass, "s-monkeypatch", CH02)
    assert r["total"] == 0, grading.format_report(r)
    why = " ".join(r["exercises"]["ex-02-universal-from-weights"]["why"])
    # _net and _P are gone when the autograder's cases run
    assert "NameError" in why, why
    assert "library-patched" in r["flags"], r["flags"]


def test_stripped_metadata_reordered_cells_and_renamed_file(klass):
    for student, flag in (
        ("s-stripped", "answer-found-by-name"),
        ("s-reordered", "reordered"),
        ("s-late", "renamed-file"),
    ):
        r = report(klass, student, CH07)
        assert r["total"] == 4, grading.format_report(r)
        assert flag in r["flags"], (student, r["flags"])


def test_renamed_function_scores_zero_with_a_reason(klass):
    r = report(klass, "s-renamed-function", CH07)
    assert r["total"] == 0
    assert any(
        "no function named dead_pixel_basis" in w
        for w in r["exercises"]["ex-07-dead-pixels"]["why"]
    )
    assert "function-missing" in r["flags"], r["flags"]


def test_infinite_loop_hits_the_timeout(klass):
    r = report(klass, "s-loop", CH07)
    assert r["total"] == 0 and "timeout" in r["flags"], grading.format_report(r)
    assert r["seconds"] < klass["limits"].wall, r["seconds"]


def test_the_instructor_notebooks_and_the_autograder_are_out_of_reach(klass):
    r = report(klass, "s-snoop", CH07)
    assert r["total"] == 0, grading.format_report(
        r
    )  # it would have scored 4 had it found one


def test_nothing_a_submission_does_survives_or_reaches_anybody_else(klass):
    r = report(klass, "s-escape", CH07)
    assert r["total"] == 4, grading.format_report(r)
    course, subs = klass["course"], klass["subs"]
    after = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (course / "key").iterdir()
    }
    assert after == klass["before"], "the key changed"
    assert (subs / "s-empty-07" / f"{CH07}.ipynb").read_bytes() == klass["empty_before"]
    assert report(klass, "s-empty-07", CH07)["total"] == 0
    leftovers = [
        p
        for p in (
            ROOT / "advsub",
            ROOT / "notebooks",
            Path("/tmp"),
            Path("/root"),
            subs.parent,
            subs / ".grading",
        )
        for p in p.glob(f"pwned*{TOKEN}*")
    ]
    leftovers += list((subs / ".grading").glob("pwned*"))
    assert not leftovers, leftovers
    ps = subprocess.run(
        ["ps", "-eo", "uid,args"], capture_output=True, text=True
    ).stdout
    assert SLEEP not in ps, [line for line in ps.splitlines() if SLEEP in line]
    assert not [
        line for line in ps.splitlines() if line.split()[0] == str(grading.SANDBOX_UID)
    ]
    assert "pwned" not in (subs / "grades.csv").read_text()


def test_exports_missing_student_late_penalty_and_manual_marks(klass):
    subs = klass["subs"]
    missing = rows(klass, "s-missing")
    assert missing and all(
        r["score"] == "0" and "missing" in r["flags"] for r in missing.values()
    )
    late = rows(klass, "s-late", CH07)["ex-07-dead-pixels"]
    assert late["score"] == "2" and "late-2d" in late["flags"], (
        late
    )  # 4 x (1 - 2 x 0.25)
    with open(subs / "grades.csv") as fh:
        assert next(csv.reader(fh)) == [
            "student_id",
            "chapter",
            "exercise",
            "score",
            "max_score",
            "flags",
        ]
    # The instructor marks a derivation by hand; the export picks it up without re-running.
    manual = subs / "manual_grades.csv"
    lines = manual.read_text().splitlines()
    assert lines[0] == "student_id,chapter,exercise,score,max_score,comment"
    lines = [
        line.replace(
            "s-reference,02_universal_perturbation,ex-02-self-term,,2,",
            "s-reference,02_universal_perturbation,ex-02-self-term,1.5,2,cross terms missing",
        )
        for line in lines
    ]
    manual.write_text("\n".join(lines) + "\n")
    start = dt.datetime.now()
    grading.grade_all(
        subs,
        klass["course"],
        klass["roster"],
        jobs=2,
        limits=klass["limits"],
        late=klass["late"],
        chapters=[CH02, CH07],
        log=lambda *a: None,
    )
    assert (dt.datetime.now() - start).total_seconds() < 60, (
        "the cached results were not reused"
    )
    mine = rows(klass, "s-reference", CH02)
    assert (
        mine["ex-02-self-term"]["score"] == "1.5"
        and mine["ex-02-self-term"]["max_score"] == "2"
    )
    assert (
        "manual-pending" in mine["ex-02-bisection"]["flags"]
    )  # its "why" answer is not marked yet
    feedback = (subs / "feedback" / "s-reference.html").read_text()
    assert "cross terms missing" in feedback
    plain = (subs / "feedback" / "s-plain-bisection.html").read_text()
    assert "hidden case" in plain and "crossings" in plain
    with open(subs / "canvas.csv") as fh:
        canvas = list(csv.DictReader(fh))
    assert canvas[0]["Student"] == "Points Possible"
    ids = {r["SIS User ID"] for r in canvas[1:]}
    assert "s-missing" in ids and "s-reference" in ids
    assert (subs / "answers" / f"{CH02}.html").exists()
    assert os.path.getsize(subs / "answers" / f"{CH02}.html") > 0
