"""Shared fixtures: the chapter notebooks executed once in fast mode, and the book built from them.

Both are session-scoped and built under ``_build/fast`` so that the notebook tests,
nbval, the book tests and the browser test share one execution and one build.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# ADVSUB_BOOK_DIR=/tmp/me/fast: use the notebooks already executed (and the book already
# built) there instead of executing into _build/fast (for one helper's own checks).
PREBUILT = os.environ.get("ADVSUB_BOOK_DIR")
FAST_DIR = Path(PREBUILT) if PREBUILT else ROOT / "_build" / "fast"

os.environ.setdefault("MPLBACKEND", "Agg")
# Kernels started by the tests (papermill, nbval, grading) are batch runs: see advsub.figures.widgets.first_draw.
os.environ["ADVSUB_BATCH"] = "1"


def _load_bookbuild():
    spec = importlib.util.spec_from_file_location("bookbuild", ROOT / "scripts" / "bookbuild.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bookbuild = _load_bookbuild()
CHAPTERS = [p.stem for p in bookbuild.chapter_notebooks()]


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """The package tests use tiny tensors: one intra-op thread is faster than two, and much faster
    on a loaded machine. (Notebook kernels are separate processes and keep their own setting.)"""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def executed_fast():
    """Execute every chapter notebook with papermill (fast=True).

    Returns (directory, failures) where ``failures`` maps a notebook stem to the
    error papermill raised; each notebook's own test reports it.
    """
    import papermill as pm

    failures: dict[str, str] = {}
    if PREBUILT:
        return FAST_DIR, failures
    (FAST_DIR / "notebooks").mkdir(parents=True, exist_ok=True)
    for stem in CHAPTERS:
        try:
            bookbuild.execute("fast", FAST_DIR, [stem])
        except pm.PapermillExecutionError as exc:
            failures[stem] = f"{exc.ename}: {exc.evalue}"
    return FAST_DIR, failures


@pytest.fixture(scope="session")
def built_book(executed_fast):
    """Build the HTML book from the fast-executed notebooks; return the html directory."""
    directory, _ = executed_fast
    if PREBUILT and (FAST_DIR / "_build" / "html" / "index.html").exists():
        return FAST_DIR / "_build" / "html"
    index = bookbuild.build(directory, FAST_DIR)
    return index.parent
