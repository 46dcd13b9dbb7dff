"""A chapter opened the way Colab or Binder opens it: in a Python without advsub.

A fresh virtual environment gets the kernel's dependencies (numpy, torch, ipykernel,
papermill, ...) by a ``.pth`` line pointing at this venv's site-packages, which does NOT
activate this venv's editable install of advsub, so ``import advsub`` fails there. The
chapter's hidden first cell (scripts/notebook_hygiene.py) must then install advsub —
here from a copy of the local checkout, through ``ADVSUB_INSTALL_SOURCE`` (on Colab it
is the repository of _config.yml) — and the chapter runs to the end in fast mode.
Offline: pip uses no index and no build isolation (setuptools comes through the .pth).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "03_small_initialisation"  # a short chapter (seconds in fast mode)


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


def test_launch_installs_advsub_and_runs_a_chapter(tmp_path):
    fresh = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(fresh)
    python = fresh / "bin" / "python"
    site = Path(
        _run(
            [
                str(python),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ]
        ).stdout.strip()
    )
    (site / "kernel_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # ensurepip's old setuptools would shadow the one torch's metadata asks for.
    _run([str(python), "-m", "pip", "uninstall", "-q", "-y", "setuptools"])
    probe = _run([str(python), "-c", "import advsub"], cwd=tmp_path)
    assert probe.returncode != 0, (
        "the fresh venv must not see advsub before the install"
    )
    assert (
        _run([str(python), "-c", "import torch, ipykernel, papermill"]).returncode == 0
    )

    # The install cell installs a copy of the checkout (the shared tree stays clean).
    source = tmp_path / "advsub-src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv",
            "_build",
            ".git",
            "*.egg-info",
            "__pycache__",
            "assignments",
            "build",
            ".pytest_cache",
            ".hypothesis",
            "node_modules",
            "_vendor",
        ),
    )
    env = dict(
        os.environ,
        ADVSUB_INSTALL_SOURCE=str(source),
        ADVSUB_BATCH="1",
        MPLBACKEND="module://matplotlib_inline.backend_inline",
        PIP_NO_INDEX="1",
        PIP_NO_BUILD_ISOLATION="0",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        JUPYTER_PATH=str(fresh / "share" / "jupyter"),
        PYTHONNOUSERSITE="1",
    )
    env.pop("PYTHONPATH", None)
    # The kernel is the fresh venv's Python.
    kernel = _run(
        [
            str(python),
            "-m",
            "ipykernel",
            "install",
            "--prefix",
            str(fresh),
            "--name",
            "launch-test",
        ],
        env=env,
    )
    assert kernel.returncode == 0, kernel.stderr
    out = tmp_path / f"{CHAPTER}.ipynb"
    notebook = ROOT / "notebooks" / f"{CHAPTER}.ipynb"
    run = _run(
        [
            str(python),
            "-m",
            "papermill",
            str(notebook),
            str(out),
            "-k",
            "launch-test",
            "-p",
            "fast",
            "True",
            "--cwd",
            str(ROOT / "notebooks"),
            "--no-progress-bar",
        ],
        env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    where = _run(
        [str(python), "-c", "import advsub; print(advsub.__file__)"], cwd=tmp_path
    )
    assert where.returncode == 0 and str(fresh) in where.stdout, (
        where.stdout + where.stderr
    )
