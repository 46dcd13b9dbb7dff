"""`make lab` starts JupyterLab with live widgets.

The Makefile's own ``lab`` target runs in a scratch copy of the project (its Makefile, this
.venv, a notebooks/ folder with one small widget notebook) with ``make -o .venv/.installed``
so that it never reinstalls anything. Headless Chromium opens the notebook, runs the cell,
and a slider must appear: the widget manager of the lab (jupyterlab_widgets) talks to the
kernel.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from test_browser import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    if shutil.which("make") is None or not (ROOT / ".venv" / "bin" / "jupyter").exists():
        pytest.skip("make lab needs make and the project's .venv")
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import ipywidgets as widgets\nwidgets.IntSlider(value=3, min=1, max=10, description='ell')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "notebooks" / "widget.ipynb")
    port, token = _free_port(), "advsub-lab-test"
    args = f"--no-browser --port={port} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={token}"
    proc = subprocess.Popen(["make", "-o", ".venv/.installed", "lab", f"LAB_ARGS={args}"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("make lab exited:\n" + proc.stdout.read().decode(errors="replace")[-3000:])
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        yield url, token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_make_lab_renders_live_widgets(lab):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("Debian's chromium is not installed; the lab test needs it")
    sync_api = pytest.importorskip("playwright.sync_api")
    url, token = lab
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/lab/tree/widget.ipynb?token={token}", timeout=90_000)
        page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=90_000)
        time.sleep(2)  # the cell runs as soon as the kernel is up
        page.click(".jp-Cell .jp-InputArea-editor")
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector(".jp-OutputArea .widget-slider", timeout=90_000)
        (ROOT / "_build" / "browser").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ROOT / "_build" / "browser" / "make-lab.png"))
        browser.close()
