"""Sandboxed, tamper-proof grading of student notebooks, one class at a time (issue 12).

How one submission is graded (``grade_notebook``):

1. **Compose.** The notebook that runs is the autograder's copy of the chapter (the
   handed-out student notebook), with the student's *answer cells* put in, matched by
   their nbgrader ``grade_id`` (or, if the metadata was stripped, by the function the
   cell defines). Every other cell -- the chapter's code, the checks -- comes from the
   autograder's copy: a deleted, edited or reordered check is restored, cells the
   student added are not run, and the feedback says so. ``fast = True`` is injected
   after the parameters cell (the CI sizes).
2. **Execute in a sandbox** (``sandbox_argv``): Debian's bubblewrap runs the notebook in
   a throwaway directory that holds only that notebook, with the Python installation,
   the virtual environment and the ``advsub`` package directory bound read-only -- no
   ``notebooks/``, no ``assignments/``, no gradebook, no ``.git``, no home directory --
   in new mount, pid, network (loopback only), IPC and UTS namespaces, as uid 65534
   with no capabilities, under CPU-time, address-space, process-count and file-size
   limits (prlimit), a per-cell timeout and a wall-time limit (``timeout`` outside);
   the pid namespace dies with the run, so nothing it started survives.
3. **Harness.** After the student's notebook, the sandbox runs the autograder's cases
   (``grading_cases.py``: the inputs of the visible check and fresh hidden inputs) on the
   student's functions and saves the values as plain ``.npz`` arrays.
4. **Score outside the sandbox.** A visible check's points need its cell to have run
   without error *and* the values on its inputs to match the key (the reference
   solution's values, computed once by ``make_key``); the hidden points need the hidden
   values to match. The comparison runs here, with this process's numpy, so nothing
   the student's code replaced takes part in it. Derivations and "why" answers are
   graded by hand (``manual_grades.csv``).

``grade_all`` grades a folder ``SUBMISSIONS/<student_id>/<chapter>.ipynb`` in parallel
and writes ``grades.csv``, ``canvas.csv``, ``feedback/<student_id>.html``, a
``manual_grades.csv`` to fill in and ``answers/<chapter>.html`` (every student's written
answers side by side, with the model answer, for grading by hand).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime as dt
import hashlib
import html
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import numpy as np

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))
import grading_cases

SANDBOX_DIR = "/work/submission"  # where the submission's copy is, inside the sandbox
RUNNER = "/opt/advsub-grader/runner.py"
SANDBOX_UID = 65534  # nobody
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
MAX_RESULT_BYTES = 64 * 2**20


class GradingError(SystemExit):
    """A problem the instructor must fix (a clear message, no traceback)."""


@dataclasses.dataclass
class Limits:
    cell_timeout: float = 60.0  # s per cell (the slowest fast-mode cell takes a few s)
    case_timeout: int = 10  # s per case of the autograder (SIGALRM in the harness)
    wall: float = 600.0  # s for the whole notebook
    cpu: int = 900  # s of CPU time per process
    memory: int = 6 * 2**30  # bytes of address space per process
    nproc: int = 512  # processes and threads of the sandbox user
    fsize: int = 256 * 2**20  # bytes per file written
    tmp_size: int = 512 * 2**20  # bytes of /tmp (a tmpfs)
    threads: int = 1  # torch/OpenMP threads in the kernel


# --------------------------------------------------------------------------- sandbox
def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _package_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("advsub")
    if spec is None or not spec.submodule_search_locations:
        raise GradingError(
            "the advsub package is not installed in this environment (make venv)"
        )
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def _read_only_paths() -> list[Path]:
    """What a student is given: the Python installation, the venv (its site-packages) and
    the advsub package directory (an editable install points there) -- nothing else of
    the repository."""
    paths = [
        Path(sys.base_prefix).resolve(),
        Path(sys.prefix).absolute(),
        _package_dir(),
    ]
    out = []
    for p in paths:
        if not any(p == q or q in p.parents for q in out):
            out.append(p)
    return out


def sandbox_argv(workdir: Path, argv: list[str], limits: Limits) -> list[str]:
    """The bubblewrap command line that runs ``argv`` on the submission's copy ``workdir``."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise GradingError(
            "bubblewrap is not installed: run `make bwrap` (Debian: apt-get install "
            "bubblewrap), or grade unconfined with --unsafe-no-sandbox (never for a class)"
        )
    root = os.geteuid() == 0
    cmd = [bwrap, "--die-with-parent", "--new-session"]
    if root:
        # Real root: namespaces without a user namespace, so that setpriv below can become
        # uid 65534 for real (the sandbox then holds no capability and no root-owned file).
        cmd += [
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
        ]
    else:
        cmd += ["--unshare-all", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    for name in ("usr",):
        cmd += ["--ro-bind", f"/{name}", f"/{name}"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        p = Path("/") / name
        if p.is_symlink():
            cmd += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            cmd += ["--ro-bind", str(p), str(p)]
    for etc in (
        "/etc/ld.so.cache",
        "/etc/alternatives",
        "/etc/fonts",
        "/etc/localtime",
        "/etc/passwd",
        "/etc/group",
        "/etc/ssl/certs",
    ):
        if os.path.exists(etc):
            cmd += ["--ro-bind", etc, etc]
    # The private /tmp comes before the binds: a checkout (and its .venv) that lives under
    # /tmp, as a CI clone may, is then bound on top of it instead of hidden by it.
    cmd += ["--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/tmp"]
    made = set()
    for path in [*_read_only_paths(), Path(RUNNER), Path(SANDBOX_DIR)]:
        for parent in reversed(path.parents):
            if (
                str(parent) not in made
                and str(parent) != "/"
                and not str(parent).startswith("/usr")
            ):
                made.add(str(parent))
                cmd += ["--perms", "0755", "--dir", str(parent)]
    for path in _read_only_paths():
        cmd += ["--ro-bind", str(path), str(path)]
    cmd += [
        "--ro-bind",
        str(SCRIPTS / "grading_runner.py"),
        RUNNER,
        "--bind",
        str(workdir),
        SANDBOX_DIR,
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--chdir",
        SANDBOX_DIR,
        "--clearenv",
    ]
    for key, value in _sandbox_env(limits).items():
        cmd += ["--setenv", key, value]
    if root:
        cmd += [
            "setpriv",
            f"--reuid={SANDBOX_UID}",
            f"--regid={SANDBOX_UID}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
        ]
    cmd += [
        "prlimit",
        f"--cpu={limits.cpu}",
        f"--as={limits.memory}",
        f"--nproc={limits.nproc}",
        f"--fsize={limits.fsize}",
        "--core=0",
        "--",
        *argv,
    ]
    return cmd


def sandbox_problem() -> str | None:
    """None when a sandbox starts on this machine, else bubblewrap's reason (e.g. user
    namespaces disabled for unprivileged users, as on some Ubuntu set-ups)."""
    if bwrap_path() is None:
        return "bubblewrap (bwrap) is not installed: run `make bwrap`"
    with tempfile.TemporaryDirectory(prefix="advsub-probe-") as tmp:
        if os.geteuid() == 0:
            os.chown(tmp, SANDBOX_UID, SANDBOX_UID)
        argv = sandbox_argv(
            Path(tmp),
            [str(Path(sys.prefix).absolute() / "bin" / "python"), "-c", "pass"],
            Limits(),
        )
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, check=False
        )
    if proc.returncode != 0:
        return f"the grading sandbox does not start here: {proc.stderr.strip()[-500:]}"
    return None


def _sandbox_env(limits: Limits) -> dict[str, str]:
    threads = str(limits.threads)
    return {
        "PATH": f"{Path(sys.prefix).absolute() / 'bin'}:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "ADVSUB_BATCH": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": "/tmp/mpl",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "TORCH_NUM_THREADS": threads,
        "ADVSUB_GRADING": "1",
    }


def run_notebook(
    nb, limits: Limits, unsafe: bool = False, keep: Path | None = None
) -> dict:
    """Execute ``nb`` in a throwaway directory (in the sandbox unless ``unsafe``); return
    {"executed": notebook or None, "results": {label: {...}}, "status", "seconds", "log"}."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="advsub-grade-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        (work / "results").mkdir()
        nbformat.write(nb, work / "run.ipynb")
        inner = [
            str(Path(sys.prefix).absolute() / "bin" / "python"),
            RUNNER,
            "run.ipynb",
            "out.ipynb",
            str(limits.cell_timeout),
        ]
        if unsafe:
            env = {
                **os.environ,
                **_sandbox_env(limits),
                "HOME": os.environ.get("HOME", tmp),
            }
            env.pop("MPLCONFIGDIR")
            inner[1] = str(SCRIPTS / "grading_runner.py")
            cmd, cwd = (
                ["timeout", "--kill-after=5", str(int(limits.wall)), *inner],
                work,
            )
        else:
            if os.geteuid() == 0:
                for p in [work, *work.rglob("*")]:
                    os.chown(p, SANDBOX_UID, SANDBOX_UID)
            # If the grader dies, its sandboxes die with it (bwrap --die-with-parent
            # follows timeout, which gets SIGKILL when this thread's process is gone).
            guard = (
                ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
            )
            cmd = [
                *guard,
                "timeout",
                "--kill-after=5",
                str(int(limits.wall)),
                *sandbox_argv(work, inner, limits),
            ]
            env, cwd = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, tmp
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=limits.wall + 60,
        )
        status = (
            "ok"
            if proc.returncode == 0
            else ("timeout" if proc.returncode in (124, 137) else "crashed")
        )
        executed = None
        out = work / "out.ipynb"
        if (
            out.is_file()
            and not out.is_symlink()
            and out.stat().st_size < 4 * MAX_RESULT_BYTES
        ):
            try:
                executed = nbformat.read(out, as_version=4)
            except Exception:  # noqa: BLE001 (a notebook the student's code mangled)
                executed = None
        results = _read_results(work / "results")
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            if executed is not None:
                nbformat.write(executed, keep / "executed.ipynb")
    return {
        "executed": executed,
        "results": results,
        "status": status,
        "seconds": time.perf_counter() - start,
        "log": (proc.stderr or "")[-4000:],
    }


def _read_results(directory: Path) -> dict:
    """The harness's output, read without trusting it: JSON and pickle-free npz, size-capped."""
    results = {}
    for meta in sorted(directory.glob("*.json")):
        label = meta.stem
        arrays = directory / f"{label}.npz"
        if meta.is_symlink() or meta.stat().st_size > 2**20:
            continue
        try:
            info = json.loads(meta.read_text())
            values = {}
            if (
                arrays.is_file()
                and not arrays.is_symlink()
                and arrays.stat().st_size < MAX_RESULT_BYTES
            ):
                with zipfile.ZipFile(arrays) as zf:
                    if sum(i.file_size for i in zf.infolist()) > MAX_RESULT_BYTES:
                        raise ValueError("arrays too large")
                with np.load(arrays, allow_pickle=False) as data:
                    values = {k: np.array(data[k]) for k in data.files}
        except Exception:  # noqa: BLE001 (anything malformed counts as no result)
            continue
        if isinstance(info, dict):
            results[label] = {
                "cases": info.get("cases", {}),
                "error": info.get("error"),
                "values": values,
            }
    return results


# --------------------------------------------------------------------------- harness
HARNESS_SETUP = r"""# --- advsub grader: the autograder's cases (added by the grader, never in your notebook) ---
# The notebook's private names go first, so that no answer can read a check's variables.
for __k in [__k for __k in list(globals()) if __k[:1] == "_" and __k[1:2] != "_"
            and not __import__("re").fullmatch(r"_(i+|i\d+|\d+|oh|ih|dh|)", __k)]:
    del globals()[__k]
__advsub_cases = __import__("types").ModuleType("advsub_grading_cases")
__import__("sys").modules["advsub_grading_cases"] = __advsub_cases
exec(compile(__ADVSUB_CASES_SOURCE, "grading_cases.py", "exec"), __advsub_cases.__dict__)


def __advsub_run(label, timeout):
    import json, signal, numpy, torch
    spec = __advsub_cases.CASES[label]
    info, arrays = {"cases": {}}, {}

    def on_alarm(*_):
        raise TimeoutError(f"a case ran over {timeout} s")

    f = globals().get(spec.function)
    if not callable(f):
        info["error"] = f"no function named {spec.function} is defined (was it renamed or deleted?)"
    else:
        for name, thunk in spec.cases():
            old = signal.signal(signal.SIGALRM, on_alarm)
            signal.alarm(timeout)
            try:
                values = thunk(f)
                signal.alarm(0)
                kinds = []
                for i, v in enumerate(values):
                    kinds.append(type(v).__module__ + "." + type(v).__name__)
                    if isinstance(v, torch.Tensor):
                        v = v.detach().cpu().numpy()
                    a = numpy.asarray(v)
                    if a.dtype == object:
                        raise TypeError(f"returned {kinds[-1]}, not a tensor, array or number")
                    arrays[f"{name}/{i}"] = a
                info["cases"][name] = {"ok": True, "types": kinds}
            except Exception as e:  # noqa: BLE001
                signal.alarm(0)
                info["cases"][name] = {"ok": False, "error": f"{type(e).__name__}: {e}"[:400]}
            finally:
                signal.signal(signal.SIGALRM, old)
    numpy.savez(f"results/{label}.npz", **arrays)
    with open(f"results/{label}.json", "w") as fh:
        json.dump(info, fh)
"""


def harness_cells(labels: list[str], case_timeout: int) -> list:
    source = inspect.getsource(grading_cases)
    setup = f"__ADVSUB_CASES_SOURCE = {source!r}\n" + HARNESS_SETUP
    meta = {"advsub_grader": "harness", "tags": ["advsub-grader"]}
    cells = [nbformat.v4.new_code_cell(setup, metadata=dict(meta))]
    for label in labels:
        cells.append(
            nbformat.v4.new_code_cell(
                f"__advsub_run({label!r}, {int(case_timeout)})", metadata=dict(meta)
            )
        )
    return cells


# --------------------------------------------------------------------------- compose
def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _defined_function(source: str) -> str | None:
    m = re.search(r"^def (\w+)\s*\(", source, re.MULTILINE)
    return m.group(1) if m else None


def _label(grade_id: str) -> str:
    return re.sub(r"-(solution\d*|check\d+|answer)$", "", grade_id)


def compose(template, submission, slim: bool = True) -> dict:
    """The notebook to execute: the template's cells with the submission's answers put in.

    With ``slim``, the chapter's experiments are not run: only its set-up cells (imports,
    parameters) and the cells that define a name the answers or the checks use (see
    :func:`_slim`); a skipped cell is left empty, so the cell indices do not change.

    Returns {"nb", "checks": {cell index: (label, grade_id, points)}, "answers":
    {grade_id: text}, "notes": [what was restored or ignored], "flags": [...]}.
    """
    import assignments
    from assignments import ANSWER_STUB

    notes, flags = [], set()
    sub_cells = list(submission.cells) if submission is not None else []
    by_id: dict[str, list] = {}
    for c in sub_cells:
        gid = _nbg(c).get("grade_id")
        if gid:
            by_id.setdefault(gid, []).append(c)
    template_sources = {c.source for c in template.cells}
    solution_names = {
        _defined_function(c.source): _nbg(c)["grade_id"]
        for c in template.cells
        if _nbg(c).get("solution")
        and c.cell_type == "code"
        and _defined_function(c.source)
    }
    claimed: set[int] = set()
    cells, checks, answers = [], {}, {}
    for t in template.cells:
        meta = _nbg(t)
        gid = meta.get("grade_id")
        new = copy.deepcopy(t)
        if meta.get("solution") and t.cell_type == "code":
            mine = [c for c in by_id.get(gid, []) if c.cell_type == "code"]
            if len(mine) > 1:
                notes.append(
                    f"{len(mine)} cells carry the answer id {gid}: the last one was graded"
                )
            cell = mine[-1] if mine else None
            if cell is None:
                fname = _defined_function(t.source)
                found = [
                    c
                    for c in sub_cells
                    if c.cell_type == "code"
                    and not _nbg(c)
                    and fname
                    and re.search(
                        rf"^def {re.escape(fname)}\s*\(", c.source, re.MULTILINE
                    )
                    and id(c) not in claimed
                ]
                if found:
                    cell = found[-1]
                    notes.append(
                        f"the answer cell {gid} had lost its metadata: found by its function "
                        f"`{fname}`"
                    )
                    flags.add("answer-found-by-name")
                else:
                    notes.append(
                        f"no answer cell {gid} was found (deleted or renamed?): graded as unanswered"
                    )
                    flags.add("missing-answer")
            if cell is not None:
                claimed.add(id(cell))
                new.source = cell.source
                if PATCH.search(cell.source):  # harmless here, but worth a look
                    notes.append(f"the answer cell {gid} replaces a library function")
                    flags.add("library-patched")
        elif meta.get("solution"):  # a written answer, graded by hand; not executed
            mine = by_id.get(gid, [])
            answers[gid] = mine[-1].source if mine else ""
            if not mine:
                notes.append(f"the written answer cell {gid} is missing")
                flags.add("missing-answer")
            elif mine[-1].source.strip() in ("", ANSWER_STUB, "YOUR ANSWER HERE"):
                answers[gid] = ""
        elif meta.get("grade"):
            mine = by_id.get(gid, [])
            if not mine:
                notes.append(
                    f"the check {gid} was deleted or lost its metadata: restored"
                )
                flags.add("check-restored")
            elif any(c.source != t.source for c in mine):
                notes.append(f"the check {gid} was edited: the original was run")
                flags.add("check-restored")
            checks[len(cells)] = (_label(gid), gid, float(meta.get("points", 0)))
        cells.append(new)
    # Everything else comes from the template: say what of the submission was not used.
    order = [_nbg(c).get("grade_id") for c in sub_cells if _nbg(c).get("grade_id")]
    want = [_nbg(c).get("grade_id") for c in template.cells if _nbg(c).get("grade_id")]
    if [g for g in order if g in want] != [g for g in want if g in order]:
        notes.append("graded cells were reordered: they were run in the original order")
        flags.add("reordered")
    extra = [
        c
        for c in sub_cells
        if c.cell_type == "code"
        and id(c) not in claimed
        and not _nbg(c)
        and c.source.strip()
        and c.source not in template_sources
        and _defined_function(c.source) not in solution_names
    ]
    if extra and submission is not None:
        notes.append(
            f"{len(extra)} code cell(s) you added or changed outside the answer cells were not "
            "run (write all your code in the answer cells)"
        )
        flags.add("extra-cells-ignored")
    if slim:
        _slim(cells)
    nb = copy.deepcopy(template)
    nb.cells = cells
    nb = assignments.inject_fast(nb)
    # inject_fast adds one cell before the checks: shift their indices.
    shift = next(
        (
            i
            for i, c in enumerate(nb.cells)
            if assignments.FAST_CELL_TAG in c.metadata.get("tags", [])
        ),
        None,
    )
    if shift is not None:
        checks = {(i + 1 if i >= shift else i): v for i, v in checks.items()}
    return {
        "nb": nb,
        "checks": checks,
        "answers": answers,
        "notes": notes,
        "flags": sorted(flags),
    }


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell assigns, names it loads), from its AST (magics dropped); a cell
    that does not parse assigns and loads nothing."""
    import ast

    code = "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
    )
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(), set()
    stores, loads = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (stores if isinstance(node.ctx, ast.Store) else loads).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            stores |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores.add(node.name)
    return stores, loads


def _is_setup(cell) -> bool:
    """Imports, magics, parameters and the notebook hygiene's set-up cells."""
    import ast

    tags = cell.metadata.get("tags", [])
    if "parameters" in tags or cell.source.lstrip().startswith("# hygiene:"):
        return True
    code = "\n".join(
        line
        for line in cell.source.splitlines()
        if not line.lstrip().startswith(("%", "!"))
    )
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return False
    return all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in body)


def _slim(cells) -> None:
    """Empty, in place, the chapter's code cells that grading does not need: keep the
    set-up cells, the answer and check cells, and (transitively) every earlier cell that
    assigns a name a kept cell loads."""
    code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    names = {i: _names(cells[i].source) for i in code}
    keep = {i for i in code if _nbg(cells[i]) or _is_setup(cells[i])}
    todo = list(keep)
    while todo:
        i = todo.pop()
        for name in names[i][1] - names[i][0]:
            for j in reversed([j for j in code if j < i]):
                if name in names[j][0]:
                    if j not in keep:
                        keep.add(j)
                        todo.append(j)
                    break
    for i in code:
        if i not in keep:
            cells[i].source = ""
            cells[i].metadata.setdefault("tags", []).append(
                "advsub-not-run-when-grading"
            )


# --------------------------------------------------------------------------- key
def course_paths(course: Path, chapter: str) -> dict[str, Path]:
    course = Path(course)
    return {
        "source": course / "source" / chapter / f"{chapter}.ipynb",
        "release": course / "release" / chapter / f"{chapter}.ipynb",
        "key": course / "key" / f"{chapter}.npz",
        "key_meta": course / "key" / f"{chapter}.json",
    }


def coding_labels(nb) -> list[str]:
    labels = []
    for c in nb.cells:
        gid = _nbg(c).get("grade_id", "")
        if _nbg(c).get("grade") and c.cell_type == "code" and _label(gid) not in labels:
            labels.append(_label(gid))
    return labels


def _compose_with_harness(template, submission, limits: Limits, slim: bool = True):
    comp = compose(template, submission, slim)
    labels = [
        label for label in coding_labels(template) if label in grading_cases.CASES
    ]
    comp["nb"].cells += harness_cells(labels, limits.case_timeout)
    return comp


def make_key(
    course: Path, chapter: str, limits: Limits | None = None, unsafe: bool = False
) -> dict:
    """Run the reference solution on every case (in the sandbox) and save its values as the key.

    Fails if a check of the instructor notebook fails or a case gives no value."""
    limits = limits or Limits(cell_timeout=600, wall=1800, cpu=3600)
    paths = course_paths(course, chapter)
    source = nbformat.read(paths["source"], as_version=4)
    comp = _compose_with_harness(source, source, limits, slim=False)
    run = run_notebook(comp["nb"], limits, unsafe)
    failed = [
        f"{gid}: {why}"
        for gid, why in _check_outcomes(comp, run["executed"]).items()
        if why
    ]
    if run["executed"] is not None:  # the chapter itself must run without an error
        failed += [
            f"cell {i}: {why}"
            for i, c in enumerate(run["executed"].cells)
            if c.cell_type == "code" and (why := _why(c.get("outputs", [])))
        ]
    missing = [
        f"{label}: {r.get('error') or [n for n, c in r['cases'].items() if not c.get('ok')]}"
        for label, r in run["results"].items()
        if r.get("error") or not all(c.get("ok") for c in r["cases"].values())
    ]
    labels = [label for label in coding_labels(source) if label in grading_cases.CASES]
    absent = [label for label in labels if label not in run["results"]]
    if failed or missing or absent or run["status"] != "ok":
        raise GradingError(
            f"the reference solution of {chapter} does not pass its own grading "
            f"(status {run['status']}):\n  "
            + "\n  ".join(failed + missing + absent)
            + f"\n{run['log'][-2000:]}"
        )
    arrays = {
        f"{label}::{k}": v
        for label, r in run["results"].items()
        for k, v in r["values"].items()
    }
    paths["key"].parent.mkdir(parents=True, exist_ok=True)
    np.savez(paths["key"], **arrays)
    cases = {label: sorted(r["cases"]) for label, r in run["results"].items()}
    paths["key_meta"].write_text(
        json.dumps(
            {"chapter": chapter, "cases": cases, "seconds": round(run["seconds"], 1)},
            indent=2,
        )
    )
    return cases


def load_key(course: Path, chapter: str) -> dict[str, dict[str, np.ndarray]]:
    path = course_paths(course, chapter)["key"]
    if not path.exists():
        raise GradingError(
            f"no key for {chapter} in {Path(course)}: run `make assignments` first"
        )
    key: dict[str, dict[str, np.ndarray]] = {}
    with np.load(path, allow_pickle=False) as data:
        for name in data.files:
            label, k = name.split("::", 1)
            key.setdefault(label, {})[k] = np.array(data[name])
    return key


# --------------------------------------------------------------------------- score
# An answer that assigns to an attribute of torch, numpy or advsub (torch.allclose = ...).
PATCH = re.compile(r"^\s*(torch|np|numpy|advsub|math)(\.\w+)+\s*=[^=]", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _why(outputs) -> str | None:
    for out in outputs:
        if out.get("output_type") == "error":
            line = ""  # the first line an arrow points at: the check's line that failed
            for tb in out.get("traceback", []):
                for raw in ANSI.sub("", tb).splitlines():
                    m = re.match(r"\s*-*>\s*\d*\s(.*)", raw)
                    if m and not line:
                        line = m.group(1).strip()
            what = f"{out.get('ename')}: {ANSI.sub('', str(out.get('evalue', '')))}".rstrip(
                ": "
            )
            return (what[:300] + (f" (at `{line[:160]}`)" if line else "")).strip()
    return None


def _check_outcomes(comp: dict, executed) -> dict[str, str | None]:
    """{check grade_id: None if the check cell ran without error, else why not}."""
    outcome = {}
    for index, (_, gid, _) in comp["checks"].items():
        if executed is None or index >= len(executed.cells):
            outcome[gid] = (
                "the notebook did not get to this check (time or memory limit?)"
            )
            continue
        cell = executed.cells[index]
        if cell.source != comp["nb"].cells[index].source:
            outcome[gid] = "the executed notebook was tampered with"
        elif cell.get("execution_count") is None:
            outcome[gid] = (
                "this check did not run (the notebook stopped before it: time limit?)"
            )
        else:
            outcome[gid] = _why(cell.get("outputs", []))
    return outcome


def compare(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str | None:
    """None when ``got`` matches ``want`` (shape, inf/nan pattern, values), else why not."""
    if got.shape != want.shape:
        return f"shape {tuple(got.shape)}, expected {tuple(want.shape)}"
    if want.dtype == np.bool_:
        if got.dtype != np.bool_:
            return f"dtype {got.dtype}, expected booleans"
        return (
            None
            if np.array_equal(got, want)
            else f"{int((got != want).sum())} entries differ"
        )
    if got.dtype.kind not in "biuf":
        return f"dtype {got.dtype} is not a real number type"
    g, w = got.astype(np.float64), want.astype(np.float64)
    if not np.array_equal(np.isnan(g), np.isnan(w)):
        return "NaN where the answer has none (or the reverse)"
    if not np.array_equal(np.isposinf(g), np.isposinf(w)) or not np.array_equal(
        np.isneginf(g), np.isneginf(w)
    ):
        return "infinite where the answer is finite (or the reverse)"
    fin = np.isfinite(w)
    if not fin.any():
        return None
    diff = np.abs(g[fin] - w[fin])
    bound = atol + rtol * np.abs(w[fin])
    if np.all(diff <= bound):
        return None
    j = int(np.argmax(diff - bound))
    return (
        f"values differ: largest error {diff[j]:.3g} where the answer is {w[fin][j]:.6g} "
        f"(tolerance {bound[j]:.3g})"
    )


def _score_cases(
    label: str, result: dict | None, key: dict, prefix: str
) -> tuple[bool, list[str]]:
    spec = grading_cases.CASES[label]
    names = sorted(
        {k.split("/")[0] for k in key.get(label, {}) if k.startswith(prefix)}
    )
    if not names:
        return True, []
    if result is None:
        return False, [
            "the autograder's cases did not run (the notebook stopped before them)"
        ]
    if result.get("error"):
        return False, [result["error"]]
    why = []
    for name in names:
        case = result["cases"].get(name)
        if case is None:
            why.append(f"{name}: did not run")
            continue
        if not case.get("ok"):
            why.append(f"{name}: {case.get('error')}")
            continue
        for k in sorted(k for k in key[label] if k.split("/")[0] == name):
            got = result["values"].get(k)
            if got is None:
                why.append(f"{name}: no value")
                continue
            problem = compare(got, key[label][k], spec.rtol, spec.atol)
            if problem:
                part = "" if k.endswith("/0") else f" (value {k.rsplit('/', 1)[1]})"
                why.append(f"{name}{part}: {problem}")
    return not why, why


def score(comp: dict, run: dict, key: dict, template) -> dict:
    """The per-exercise report of one executed submission."""
    import assignments

    found = assignments.exercises(template)
    outcome = _check_outcomes(comp, run["executed"])
    exercises = {}
    for label, e in found.items():
        entry = {
            "title": e["title"],
            "kind": e["kind"],
            "score": None,
            "max": None,
            "why": [],
            "manual_max": 0.0,
            "answer": None,
        }
        visible = [
            (gid, pts) for (lab, gid, pts) in comp["checks"].values() if lab == label
        ]
        if visible:
            result = run["results"].get(label)
            vmax = sum(p for _, p in visible)
            failed = [
                f"{gid}: {outcome[gid]}" for gid, _ in visible if outcome.get(gid)
            ]
            hmax = 0.0
            ok_v, why_v = True, []
            ok_h, why_h = True, []
            if label in grading_cases.CASES:
                ok_v, why_v = _score_cases(label, result, key, "visible")
                ok_h, why_h = _score_cases(label, result, key, "hidden")
                hmax = grading_cases.CASES[label].hidden_points
            entry["why"] = (
                [f"visible check {w}" for w in failed]
                + [f"visible case {w}" for w in why_v]
                + [f"hidden case {w}" for w in why_h]
            )
            entry["visible"] = {
                "score": vmax if (not failed and ok_v) else 0.0,
                "max": vmax,
            }
            entry["hidden"] = {"score": hmax if ok_h else 0.0, "max": hmax}
            entry["score"] = entry["visible"]["score"] + entry["hidden"]["score"]
            entry["max"] = vmax + hmax
        for c in template.cells:
            m = _nbg(c)
            if (
                m.get("solution")
                and c.cell_type == "markdown"
                and _label(m.get("grade_id", "")) == label
            ):
                entry["manual_max"] += float(m.get("points", 0))
                entry["answer"] = comp["answers"].get(m["grade_id"], "")
                entry["answer_id"] = m["grade_id"]
        exercises[label] = entry
    coding = [e for e in exercises.values() if e["max"] is not None]
    return {
        "exercises": exercises,
        "total": sum(e["score"] for e in coding),
        "max_total": sum(e["max"] for e in coding),
        "manual_max": sum(e["manual_max"] for e in exercises.values()),
    }


# --------------------------------------------------------------------------- one submission
def known_chapters(course: Path) -> list[str]:
    return sorted(p.stem for p in (Path(course) / "key").glob("*.npz"))


def identify_chapter(nb, filename: str, course: Path) -> tuple[str | None, str | None]:
    """(chapter, note): the chapter by file name, else by the grade ids the notebook carries."""
    known = known_chapters(course) or sorted(
        p.name for p in (Path(course) / "source").glob("*")
    )
    stem = Path(filename).stem
    if stem in known:
        return stem, None
    numbers = {
        m.group(1)
        for c in nb.cells
        for m in [re.match(r"ex-(\d\d)-", _nbg(c).get("grade_id", ""))]
        if m
    }
    if not numbers:  # stripped metadata: the function names of the answer cells
        names = {_defined_function(c.source) for c in nb.cells if c.cell_type == "code"}
        numbers = {
            label[3:5]
            for label, spec in grading_cases.CASES.items()
            if spec.function in names
        }
    matches = [ch for ch in known if ch[:2] in numbers]
    if len(matches) == 1:
        return matches[
            0
        ], f"the file {Path(filename).name} was renamed: graded as {matches[0]}"
    return None, None


def grade_notebook(
    path: Path,
    course: Path,
    student: str = "student",
    limits: Limits | None = None,
    unsafe: bool = False,
    chapter: str | None = None,
    keep: Path | None = None,
) -> dict:
    """Grade one submission in its own sandbox; return its report."""
    limits = limits or Limits()
    path = Path(path)
    if not path.is_file():
        raise GradingError(f"no such notebook: {path}")
    try:
        submission = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001
        raise GradingError(
            f"{path} is not a readable notebook ({type(exc).__name__}: {exc})"
        ) from None
    note = None
    if chapter is None:
        chapter, note = identify_chapter(submission, path.name, course)
    if chapter is None:
        raise GradingError(
            f"cannot tell which chapter {path.name} is: name it like the handed-out notebook "
            f"(one of {', '.join(known_chapters(course)) or 'none yet: run make assignments'}) "
            "and keep its exercise cells"
        )
    paths = course_paths(course, chapter)
    if not paths["release"].exists():
        raise GradingError(
            f"no autograder for {chapter} in {course}: run `make assignments` first"
        )
    template = nbformat.read(paths["release"], as_version=4)
    key = load_key(course, chapter)
    comp = _compose_with_harness(template, submission, limits)
    run = run_notebook(comp["nb"], limits, unsafe, keep)
    report = score(comp, run, key, nbformat.read(paths["source"], as_version=4))
    flags = set(comp["flags"])
    notes = list(comp["notes"])
    if note:
        notes.insert(0, note)
        flags.add("renamed-file")
    if run["status"] != "ok":
        flags.add(run["status"])
        notes.append(
            "the run was stopped by the wall-time limit"
            if run["status"] == "timeout"
            else "the run crashed (memory limit, or the kernel was killed)"
        )
    if any(
        "no function named" in w for e in report["exercises"].values() for w in e["why"]
    ):
        flags.add("function-missing")
    if any(
        "TimeoutError" in w or "CellTimeoutError" in w or "timed out" in w.lower()
        for e in report["exercises"].values()
        for w in e["why"]
    ):
        flags.add("timeout")
    report.update(
        {
            "notebook": chapter,
            "student": student,
            "file": str(path),
            "flags": sorted(flags),
            "notes": notes,
            "seconds": round(run["seconds"], 1),
            "sandboxed": not unsafe,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
    )
    return report


def format_report(result: dict) -> str:
    lines = [
        f"{result['notebook']}"
        + (f" ({result['student']})" if result.get("student") else "")
        + ":"
    ]
    for label, e in result["exercises"].items():
        score = "by hand" if e["score"] is None else f"{e['score']:g} / {e['max']:g}"
        if e["score"] is not None and e.get("manual_max"):
            score += f" + {e['manual_max']:g} by hand"
        lines.append(f"  {label:34s} {score:>18s}   {e['title']}")
        for why in e.get("why", [])[:4]:
            lines.append(f"      - {why}")
    lines.append(
        f"  {'total (automatic)':34s} {result['total']:g} / {result['max_total']:g}"
    )
    for note in result.get("notes", []):
        lines.append(f"  note: {note}")
    if result.get("flags"):
        lines.append(f"  flags: {', '.join(result['flags'])}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- a class
@dataclasses.dataclass
class LatePolicy:
    """Late submissions: ``penalty`` (a fraction) per started day after the deadline, none
    within ``grace_minutes``, a score of 0 after ``max_days``. Times come from
    ``SUBMISSIONS/submitted_at.csv`` (student_id, chapter, submitted_at: ISO 8601) when
    it has the row, else from the notebook's modification time."""

    deadline: dt.datetime | None = None
    penalty: float = 0.1
    grace_minutes: float = 0.0
    max_days: int = 10

    def fraction(self, when: dt.datetime) -> tuple[float, int]:
        """(fraction of the score kept, days late)."""
        if self.deadline is None:
            return 1.0, 0
        late = (when - self.deadline).total_seconds() - 60 * self.grace_minutes
        if late <= 0:
            return 1.0, 0
        days = int(np.ceil(late / 86400))
        return (
            0.0 if days > self.max_days else max(0.0, 1.0 - self.penalty * days)
        ), days


def parse_time(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _read_csv(path: Path) -> list[dict]:
    if not path or not Path(path).exists():
        return []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return [
            {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            for row in csv.DictReader(fh)
        ]


def grade_all(
    submissions: Path,
    course: Path,
    roster: Path | None = None,
    jobs: int | None = None,
    limits: Limits | None = None,
    unsafe: bool = False,
    chapters: list[str] | None = None,
    late: LatePolicy | None = None,
    regrade: bool = False,
    log=print,
) -> dict:
    """Grade ``submissions/<student_id>/<chapter>.ipynb`` for every student; write the exports."""
    submissions = Path(submissions).resolve()
    course = Path(course).resolve()
    if not submissions.is_dir():
        raise GradingError(f"no submissions folder {submissions}")
    late = late or LatePolicy()
    chapters = chapters or known_chapters(course)
    if not chapters:
        raise GradingError(f"no autograder in {course}: run `make assignments` first")
    jobs = max(1, jobs or os.cpu_count() or 1)
    limits = limits or Limits()
    students = sorted(
        p.name
        for p in submissions.iterdir()
        if p.is_dir()
        and not p.name.startswith((".", "_"))
        and p.name not in ("feedback", "answers")
    )
    bad = [s for s in students if not STUDENT_ID.match(s)]
    if bad:
        log(f"warning: skipping folders that are no student id: {bad}")
        students = [s for s in students if s not in bad]
    roster_rows = _read_csv(roster) if roster else []
    if roster and not roster_rows:
        raise GradingError(f"the roster {roster} is empty or missing")
    if roster_rows and "student_id" not in roster_rows[0]:
        raise GradingError(f"the roster {roster} has no student_id column")
    roster_ids = [r["student_id"] for r in roster_rows]
    not_enrolled = sorted(set(students) - set(roster_ids)) if roster_rows else []
    everyone = sorted(set(students) | set(roster_ids))
    times = {
        (r.get("student_id"), r.get("chapter")): r.get("submitted_at")
        for r in _read_csv(submissions / "submitted_at.csv")
    }
    cache_dir = submissions / ".grading"
    key_hash = {
        ch: hashlib.sha256(course_paths(course, ch)["key"].read_bytes()).hexdigest()
        for ch in chapters
    }
    tasks, reports, unknown = [], {}, {}
    for student in students:
        for nb_path in sorted((submissions / student).glob("*.ipynb")):
            try:
                chapter, _ = identify_chapter(
                    nbformat.read(nb_path, as_version=4), nb_path.name, course
                )
            except Exception:  # noqa: BLE001
                chapter = None
            if chapter is None or chapter not in chapters:
                unknown.setdefault(student, []).append(nb_path.name)
                continue
            if (student, chapter) in [(s, c) for s, c, _ in tasks]:
                unknown.setdefault(student, []).append(
                    f"{nb_path.name} (a second {chapter})"
                )
                continue
            tasks.append((student, chapter, nb_path))

    def work(task):
        student, chapter, nb_path = task
        cache = cache_dir / student / f"{chapter}.json"
        sha = hashlib.sha256(nb_path.read_bytes()).hexdigest()
        if cache.exists() and not regrade:
            old = json.loads(cache.read_text())
            if (
                old.get("sha256") == sha
                and old.get("key") == key_hash[chapter]
                and old.get("limits") == dataclasses.asdict(limits)
            ):
                return task, old
        try:
            report = grade_notebook(
                nb_path, course, student, limits, unsafe, chapter=chapter
            )
            if nb_path.stem != chapter:
                report["notes"].insert(
                    0, f"the file {nb_path.name} was renamed: graded as {chapter}"
                )
                report["flags"] = sorted(set(report["flags"]) | {"renamed-file"})
        except GradingError as exc:
            report = {
                "notebook": chapter,
                "student": student,
                "exercises": {},
                "total": 0,
                "max_total": 0,
                "flags": ["error"],
                "notes": [str(exc)],
                "sha256": sha,
            }
        report["key"] = key_hash[chapter]
        report["limits"] = dataclasses.asdict(limits)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(report, indent=1))
        return task, report

    start = time.perf_counter()
    done = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for (student, chapter, nb_path), report in pool.map(work, tasks):
            done += 1
            log(
                f"[{done}/{len(tasks)}] {student} {chapter}: {report['total']:g} / {report['max_total']:g}"
                + (f"  [{', '.join(report['flags'])}]" if report["flags"] else "")
            )
            stamp = times.get((student, chapter))
            when = (
                parse_time(stamp)
                if stamp
                else dt.datetime.fromtimestamp(nb_path.stat().st_mtime, dt.timezone.utc)
            )
            report["submitted_at"] = when.isoformat()
            report["late"] = late.fraction(when)
            reports[(student, chapter)] = report
    templates = {
        ch: nbformat.read(course_paths(course, ch)["source"], as_version=4)
        for ch in chapters
    }
    manual = _manual_grades(submissions / "manual_grades.csv", reports, templates)
    rows = _grade_rows(everyone, chapters, reports, manual, templates, unknown)
    _write_csv(
        submissions / "grades.csv",
        rows,
        ["student_id", "chapter", "exercise", "score", "max_score", "flags"],
    )
    _write_canvas(submissions / "canvas.csv", rows, roster_rows, everyone, chapters)
    for student in everyone:
        _write_feedback(
            submissions / "feedback" / f"{student}.html",
            student,
            chapters,
            reports,
            manual,
            rows,
            unknown.get(student, []),
            not_enrolled,
        )
    for chapter in chapters:
        _write_answers(
            submissions / "answers" / f"{chapter}.html",
            chapter,
            templates[chapter],
            reports,
        )
    seconds = time.perf_counter() - start
    log(
        f"graded {len(tasks)} notebooks of {len(students)} students in {seconds:.0f} s with {jobs} "
        f"parallel sandboxes; wrote {submissions / 'grades.csv'}, canvas.csv, feedback/, answers/, "
        "manual_grades.csv"
    )
    if not_enrolled:
        log(f"warning: submissions from students not on the roster: {not_enrolled}")
    return {"rows": rows, "reports": reports, "seconds": seconds, "tasks": len(tasks)}


def _manual_items(template) -> list[tuple[str, str, float]]:
    """(exercise, grade_id, points) of the hand-graded answer cells."""
    return [
        (
            _label(_nbg(c)["grade_id"]),
            _nbg(c)["grade_id"],
            float(_nbg(c).get("points", 0)),
        )
        for c in template.cells
        if _nbg(c).get("solution") and c.cell_type == "markdown"
    ]


def _manual_grades(path: Path, reports: dict, templates: dict) -> dict:
    """Read ``manual_grades.csv`` (student_id, chapter, exercise, score, max_score, comment) and
    add an empty row for every hand-graded answer not there yet (filled rows are kept)."""
    rows = _read_csv(path)
    have = {(r["student_id"], r["chapter"], r["exercise"]) for r in rows}
    for (student, chapter), _ in sorted(reports.items()):
        for label, _, points in _manual_items(templates[chapter]):
            if (student, chapter, label) not in have:
                rows.append(
                    {
                        "student_id": student,
                        "chapter": chapter,
                        "exercise": label,
                        "score": "",
                        "max_score": f"{points:g}",
                        "comment": "",
                    }
                )
    _write_csv(
        path,
        rows,
        ["student_id", "chapter", "exercise", "score", "max_score", "comment"],
    )
    marks = {}
    for r in rows:
        if r.get("score", "") != "":
            try:
                marks[(r["student_id"], r["chapter"], r["exercise"])] = (
                    float(r["score"]),
                    r.get("comment", ""),
                )
            except ValueError:
                raise GradingError(
                    f"{path}: score {r['score']!r} of {r['student_id']} {r['exercise']} "
                    "is not a number"
                ) from None
        elif r.get("comment"):
            marks[(r["student_id"], r["chapter"], r["exercise"])] = (None, r["comment"])
    return marks


def _grade_rows(students, chapters, reports, manual, templates, unknown) -> list[dict]:
    import assignments

    rows = []
    for student in students:
        for chapter in chapters:
            found = assignments.exercises(templates[chapter])
            manual_max = {
                label: pts for label, _, pts in _manual_items(templates[chapter])
            }
            report = reports.get((student, chapter))
            keep, days = report["late"] if report else (1.0, 0)
            for label in found:
                flags = []
                e = (report or {}).get("exercises", {}).get(label)
                spec_max = 0.0
                if label in grading_cases.CASES:
                    spec_max = grading_cases.CASES[label].hidden_points
                checks = sum(
                    float(_nbg(c).get("points", 0))
                    for c in templates[chapter].cells
                    if _nbg(c).get("grade")
                    and c.cell_type == "code"
                    and _label(_nbg(c)["grade_id"]) == label
                )
                auto_max = checks + spec_max if checks else 0.0
                mmax = manual_max.get(label, 0.0)
                score = 0.0
                if report is None:
                    flags.append("missing")
                elif "error" in report["flags"]:
                    flags.append("error")
                else:
                    score += (e or {}).get("score") or 0.0
                    flags += report["flags"]
                    if e and e.get("why"):
                        flags.append("failed-check")
                    if mmax:
                        mark = manual.get((student, chapter, label))
                        if mark is None or mark[0] is None:
                            flags.append("manual-pending")
                        else:
                            score += mark[0]
                    if days:
                        flags.append(f"late-{days}d")
                        score *= keep
                if auto_max + mmax == 0:
                    continue
                rows.append(
                    {
                        "student_id": student,
                        "chapter": chapter,
                        "exercise": label,
                        "score": f"{score:g}",
                        "max_score": f"{auto_max + mmax:g}",
                        "flags": ";".join(dict.fromkeys(flags)),
                    }
                )
    return rows


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _write_canvas(path: Path, rows, roster_rows, students, chapters) -> None:
    """Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then one
    column per assignment (a chapter) and a 'Points Possible' row. The student id goes to
    'SIS User ID' (Canvas matches on it); the roster's name, canvas_id, sis_login_id and
    section columns are used when present."""
    info = {r["student_id"]: r for r in roster_rows}
    totals, maxima = {}, {}
    for r in rows:
        totals[(r["student_id"], r["chapter"])] = totals.get(
            (r["student_id"], r["chapter"]), 0.0
        ) + float(r["score"])
        maxima[r["chapter"]] = maxima.get(r["chapter"], 0.0) + float(
            r["max_score"]
        ) / max(1, len(students))
    head = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *chapters]
    out = [
        dict(
            zip(
                head,
                [
                    "Points Possible",
                    "",
                    "",
                    "",
                    "",
                    *[f"{maxima.get(c, 0):g}" for c in chapters],
                ],
            )
        )
    ]
    for s in students:
        r = info.get(s, {})
        out.append(
            dict(
                zip(
                    head,
                    [
                        r.get("name", s),
                        r.get("canvas_id", ""),
                        s,
                        r.get("sis_login_id", ""),
                        r.get("section", ""),
                        *[f"{totals.get((s, c), 0):g}" for c in chapters],
                    ],
                )
            )
        )
    _write_csv(path, out, head)


FEEDBACK_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem .5rem;"
    "vertical-align:top;text-align:left}.ok{color:#0a6b2d}.bad{color:#a3140b}"
    "pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}"
)


def _write_feedback(
    path: Path, student, chapters, reports, manual, rows, unknown, not_enrolled
) -> None:
    esc = html.escape
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>Feedback: {esc(student)}</title>"
        f"<style>{FEEDBACK_CSS}</style><h1>Feedback for {esc(student)}</h1>"
    ]
    if student in not_enrolled:
        parts.append(
            "<p class=bad>You are not on the course roster: ask your instructor.</p>"
        )
    if unknown:
        parts.append(
            "<p class=bad>Files that were not graded (not a chapter notebook of this course, or "
            f"a second copy): {esc(', '.join(unknown))}</p>"
        )
    for chapter in chapters:
        report = reports.get((student, chapter))
        mine = [
            r for r in rows if r["student_id"] == student and r["chapter"] == chapter
        ]
        total = sum(float(r["score"]) for r in mine)
        maximum = sum(float(r["max_score"]) for r in mine)
        parts.append(f"<h2>{esc(chapter)}: {total:g} / {maximum:g}</h2>")
        if report is None:
            parts.append("<p class=bad>No submission was found for this chapter.</p>")
            continue
        days = report["late"][1]
        if days:
            parts.append(
                f"<p class=bad>Submitted {days} day(s) late ({esc(report['submitted_at'])}): the "
                f"score is multiplied by {report['late'][0]:g}.</p>"
            )
        if report.get("notes"):
            parts.append(
                "<p>What the grader did with your notebook:</p><ul>"
                + "".join(f"<li>{esc(n)}</li>" for n in report["notes"])
                + "</ul>"
            )
        parts.append(
            "<table><tr><th>exercise</th><th>automatic</th><th>by hand</th><th>why points were lost"
            "</th></tr>"
        )
        for label, e in report.get("exercises", {}).items():
            auto = "" if e["score"] is None else f"{e['score']:g} / {e['max']:g}"
            mark = manual.get((student, chapter, label))
            hand = ""
            if e.get("manual_max"):
                hand = (
                    f"pending / {e['manual_max']:g}"
                    if mark is None or mark[0] is None
                    else f"{mark[0]:g} / {e['manual_max']:g}"
                )
                if mark and mark[1]:
                    hand += f"<br><i>{esc(mark[1])}</i>"
            why = (
                "<br>".join(esc(w) for w in e.get("why", []))
                or "<span class=ok>all checks passed</span>"
                if e["score"] is not None
                else ""
            )
            parts.append(
                f"<tr><td>{esc(label)}<br><small>{esc(e['title'])}</small></td><td>{auto}</td>"
                f"<td>{hand}</td><td>{why}</td></tr>"
            )
        parts.append("</table>")
    parts.append(
        "<p><small>Hidden cases are inputs you did not see; a visible check counts only when its "
        "cell runs without error and your function's values on its inputs are right.</small></p>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")


def _write_answers(path: Path, chapter, template, reports) -> None:
    """Every student's written answers to one chapter, beside the model answer."""
    esc = html.escape
    items = _manual_items(template)
    if not items:
        return
    model = {
        _nbg(c)["grade_id"]: c.source for c in template.cells if _nbg(c).get("grade_id")
    }
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>{esc(chapter)}: written answers</title>"
        f"<style>{FEEDBACK_CSS}</style><h1>{esc(chapter)}: written answers (grade in manual_grades.csv)</h1>"
    ]
    for label, gid, points in items:
        parts.append(
            f"<h2>{esc(label)} ({points:g} points)</h2><details><summary>model answer</summary>"
            f"<pre>{esc(model.get(gid, ''))}</pre></details>"
        )
        for (student, ch), report in sorted(reports.items()):
            if ch != chapter:
                continue
            answer = (report.get("exercises", {}).get(label) or {}).get("answer") or ""
            parts.append(
                f"<h3>{esc(student)}</h3><pre>{esc(answer) or '<i>(no answer)</i>'}</pre>"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
