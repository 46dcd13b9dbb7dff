"""scripts/bookbuild.py never publishes a half-executed chapter (issue 9, item 6).

``execute`` writes each executed notebook atomically (papermill into a temporary file,
then ``os.replace``), and ``build`` refuses, before building anything, an executed copy
with an error output or a code cell that never ran, naming the notebook and the cell.
"""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest

from conftest import bookbuild

ERROR = {
    "output_type": "error",
    "ename": "ValueError",
    "evalue": "boom",
    "traceback": [],
}


def _executed_copies(tmp_path):
    """Clean executed-looking copies of every chapter (every code cell has a count)."""
    out = tmp_path / "executed"
    (out / "notebooks").mkdir(parents=True)
    for nb in bookbuild.toc_chapters():
        notebook = json.loads(nb.read_text())
        for n, cell in enumerate(notebook["cells"]):
            if cell["cell_type"] == "code":
                cell["execution_count"] = n + 1
        (out / "notebooks" / nb.name).write_text(json.dumps(notebook))
    return out


def _edit(path, fn):
    notebook = json.loads(path.read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    fn(code)
    path.write_text(json.dumps(notebook))


def test_clean_executed_copies_pass_the_check(tmp_path):
    bookbuild.check_executed(_executed_copies(tmp_path))


def test_build_refuses_a_notebook_with_an_error_output(tmp_path):
    executed = _executed_copies(tmp_path)
    name = bookbuild.toc_chapters()[1].name
    _edit(executed / "notebooks" / name, lambda code: code[3]["outputs"].append(ERROR))
    with pytest.raises(SystemExit) as info:
        bookbuild.build(executed, tmp_path / "out")
    message = str(info.value)
    assert name in message and "error output ValueError: boom" in message
    assert not (tmp_path / "out").exists(), "build went ahead before refusing"


def test_build_refuses_an_unexecuted_code_cell(tmp_path):
    executed = _executed_copies(tmp_path)
    name = bookbuild.toc_chapters()[0].name

    def interrupt(code):  # an interrupted run: the last cells never ran
        for cell in code[-2:]:
            cell["execution_count"] = None

    _edit(executed / "notebooks" / name, interrupt)
    with pytest.raises(
        SystemExit, match=rf"{name} cell \d+ \(id [^)]*\): not executed"
    ):
        bookbuild.build(executed, tmp_path / "out")


def test_build_refuses_a_missing_chapter(tmp_path):
    executed = _executed_copies(tmp_path)
    (executed / "notebooks" / bookbuild.toc_chapters()[-1].name).unlink()
    with pytest.raises(SystemExit, match="missing"):
        bookbuild.build(executed, tmp_path / "out")


@pytest.mark.slow
def test_execute_one_is_atomic(tmp_path):
    """A run that fails half way leaves no executed copy (and removes a stale one);
    a run that succeeds replaces it, papermill's injected cell hidden."""
    pytest.importorskip("papermill")
    import papermill as pm

    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell("fast = False", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("assert not fast, 'stopped half way'"),
    ]
    source = tmp_path / "ch.ipynb"
    nbformat.write(nb, source)
    target = tmp_path / "out" / "notebooks" / "ch.ipynb"
    target.parent.mkdir(parents=True)
    target.write_text("stale")
    with pytest.raises(pm.PapermillExecutionError):
        bookbuild.execute_one(source, target, fast=True, timeout=120)
    assert not target.exists()
    assert list(target.parent.iterdir()) == [], (
        "a partial file was left beside the target"
    )
    assert (tmp_path / "out" / "failed" / "ch.ipynb").exists()
    bookbuild.execute_one(source, target, fast=False, timeout=120)
    cells = json.loads(target.read_text())["cells"]
    injected = [
        c for c in cells if "injected-parameters" in c["metadata"].get("tags", [])
    ]
    assert len(injected) == 1 and "remove-cell" in injected[0]["metadata"]["tags"]
    shutil.rmtree(tmp_path / "out")


def test_vendor_names_the_asset_that_failed_and_why(tmp_path, monkeypatch):
    """A fetch that fails stops with the package and npm's reason, and leaves no partial
    vendor folder (so a later run fetches again)."""
    import sys

    fail = "import sys; sys.stderr.write('npm error code E404 Not Found'); sys.exit(1)"
    monkeypatch.setattr(bookbuild, "npm_command", lambda: [sys.executable, "-c", fail])
    dest = tmp_path / "_vendor"
    with pytest.raises(SystemExit) as info:
        bookbuild.vendor(dest)
    message = str(info.value)
    for spec in bookbuild.NPM_ASSETS:
        assert f"{spec}: npm pack failed (exit 1)" in message
    assert "E404 Not Found" in message and "Nothing was executed" in message
    assert not dest.exists() and not dest.with_name("_vendor.partial").exists()


@pytest.mark.notebooks
def test_a_chapter_refuses_fast_given_as_a_string(tmp_path):
    """``papermill -p fast false`` passes the string "false" (true in Python); the
    chapter's hidden check cell (scripts/notebook_hygiene.py) stops it at once instead of
    a silent fast run (issue 9, item 6)."""
    import papermill as pm

    chapter = bookbuild.toc_chapters()[0]
    with pytest.raises(pm.PapermillExecutionError) as info:
        pm.execute_notebook(
            str(chapter),
            str(tmp_path / chapter.name),
            parameters={"fast": "false"},
            cwd=str(chapter.parent),
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=300,
        )
    assert info.value.ename == "TypeError" and "fast" in info.value.evalue


def test_jobs_default_and_env(monkeypatch):
    """`make book` runs two kernels at once on two cores; ADVSUB_JOBS overrides it and a
    bad value is refused by name (never silently replaced by the default)."""
    monkeypatch.delenv("ADVSUB_JOBS", raising=False)
    assert 1 <= bookbuild.default_jobs() <= 2
    monkeypatch.setenv("ADVSUB_JOBS", "3")
    assert bookbuild.default_jobs() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("ADVSUB_JOBS", bad)
        with pytest.raises(SystemExit, match="ADVSUB_JOBS"):
            bookbuild.default_jobs()


def test_parallel_run_reports_every_failure_after_all_finish(tmp_path, monkeypatch):
    """With several kernels at once, a failing chapter does not stop the others: every
    chapter is attempted, then the failure is raised."""
    ran = []

    def fake_execute_one(nb, target, *, fast, timeout=600):
        ran.append(nb.stem)
        if nb.stem == bookbuild.chapter_notebooks()[0].stem:
            raise RuntimeError("boom")
        target.write_text("{}")
        return target

    monkeypatch.setattr(bookbuild, "execute_one", fake_execute_one)
    with pytest.raises(RuntimeError, match="boom"):
        bookbuild.execute("fast", tmp_path, jobs=2)
    assert sorted(ran) == sorted(nb.stem for nb in bookbuild.chapter_notebooks())
    timings = json.loads((tmp_path / "timings.json").read_text())
    assert timings["jobs"] == 2 and "wall" in timings
