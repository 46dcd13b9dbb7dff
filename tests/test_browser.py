"""The built HTML book in a real browser: Debian's Chromium, headless, driven by Playwright.

The book is served from 127.0.0.1 and every request to any other host is blocked and
counted as a failure, so the test proves that the book reads offline (MathJax, require.js
and the widget manager come from the book's own files). Every page is opened; on each one
the test checks

- no console error, no uncaught exception, no failed or blocked request, no HTTP error;
- all maths typeset by MathJax (every math node holds an ``mjx-container``, no TeX error,
  no raw TeX such as ``\\frac`` or ``$$`` left in the text);
- every image loaded (``naturalWidth > 0``);
- as many rendered theorem-like, exercise and solution boxes as the page's source has
  directives, and no unparsed MyST (``{prf:ref}``, a fenced directive) in the text;
- on a page with widgets: the widget views rendered (sliders where the state has a slider)
  and a static figure in a neighbouring cell for a reader without a kernel;
- the solution code of a coding exercise inside its (closed) solution dropdown;
- on chapter pages: the download (.ipynb, .md, the book's PDF) and launch (Binder, Colab)
  buttons, pointing at this repository, and no placeholder URL (example.org, ...) in the
  launch menu; the downloads are served;
- layout at 1400 px and at 390 px (a phone): no sideways scrolling of the page, no code
  block, table, figure or display equation wider than its container, and at 1400 px no
  code block whose lines are cut off (they fit in 88 columns);
- no progress bar (tqdm) or nbgrader marker text, no papermill parameters cell visible;
- on chapter pages: every figure of a cell output inside a ``<figure>`` with a caption;
- on the API page: an entry for every name in ``advsub.__all__`` and every public module.

A full-page screenshot of each page at 1400 px (and the chapter pages at 390 px) is saved
under ``_build/browser/`` and a summary in ``_build/browser/report.json``. Chromium missing (and not installable) skips the test with
that reason; it never downloads a browser.
"""
from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

pytestmark = [pytest.mark.browser, pytest.mark.book]

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps", "--disable-extensions",
]
# Text that must not survive rendering: raw TeX and unparsed MyST.
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(frac|mathbb|mathcal|lVert|rVert|sum|sqrt|begin|end|left|right)\b"
                     r"|(?<![\\\w$])\$[^\s$][^$\n]{0,300}?(?<![\s\\])\$(?![\w$])")  # or an unparsed $...$
RAW_MYST = re.compile(r"\{(prf:ref|eq|ref|doc|cite:[tp]|py:[a-z]+|numref)\}`|```\{|^:label:", re.M)
# Directive names in a page source -> the CSS selector of the rendered box.
THEOREM_LIKE = ("theorem", "lemma", "proposition", "corollary", "definition", "conjecture", "remark",
                "example", "algorithm", "axiom", "criterion", "assumption", "observation", "property")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the pytest output readable
        pass


@pytest.fixture(scope="module")
def served_book(built_book):
    """(root directory, base URL) of the built book served on 127.0.0.1."""
    root = Path(built_book)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def chromium():
    """A headless Debian Chromium driven by Playwright (skip when it is not installed)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (make test installs it when it can: "
                    "apt-get install chromium); the browser test needs it")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def book_pages(root: Path) -> list[str]:
    """Every HTML page of the book, relative to its root (theme template fragments excluded)."""
    skip = ("_static/", "_sources/", "_images/", "jupyter_execute/", "src/")
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html")
                  if not p.relative_to(root).as_posix().startswith(skip))


def source_of(root: Path, page: str) -> str:
    """The text of the page's source (notebook cells or Markdown) as served under _sources/."""
    stem = page[:-len(".html")]
    for suffix in (".ipynb", ".md"):
        path = root / "_sources" / (stem + suffix)
        if path.exists():
            if suffix == ".ipynb":
                cells = json.loads(path.read_text())["cells"]
                return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
            return path.read_text()
    return ""


def expected_boxes(source: str) -> dict[str, int]:
    """How many theorem-like, proof, exercise and solution boxes the source asks for."""
    directives = re.findall(r"^\s*(?:`{3,}|:{3,})\{([a-z:-]+)\}", source, re.M)
    return {
        "theorem": sum(d.startswith("prf:") and d[4:] in THEOREM_LIKE for d in directives),
        "proof": directives.count("prf:proof"),
        "exercise": directives.count("exercise"),
        "solution": directives.count("solution") + directives.count("solution-start"),
    }


# Runs in the page: everything the checks need, in one round trip.
INSPECT_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const imgs = Array.from(document.images);
  for (const img of imgs) { img.loading = 'eager'; }
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(r => {
      img.addEventListener('load', r); img.addEventListener('error', r); setTimeout(r, 5000); })));
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .cell_output, .output, .sig';
  const walker = document.createTreeWalker(document.querySelector('main') || document.body,
                                           NodeFilter.SHOW_TEXT);
  const texts = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement && !n.parentElement.closest(skip) && n.textContent.trim()) texts.push(n.textContent);
  }
  const math = Array.from(document.querySelectorAll('span.math, div.math'));
  const q = s => document.querySelectorAll(s).length;
  const theoremSel = %THEOREM_SEL%;
  return {
    mathjax: !!(window.MathJax && MathJax.startup),
    math_nodes: math.length,
    math_untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    math_errors: Array.from(document.querySelectorAll('mjx-merror')).map(
        e => e.getAttribute('data-mjx-error') || e.textContent),
    images: imgs.length,
    broken_images: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    text: texts.join('\\n'),
    theorem: q(theoremSel),
    proof: q('div.proof'),
    exercise: q('div.exercise'),
    solution: q('div.solution'),
    solution_hidden: Array.from(document.querySelectorAll('div.solution')).filter(
        s => s.classList.contains('dropdown') || s.classList.contains('toggle-hidden')
             || s.querySelector('.toggle-hidden, details:not([open])')).length,
    solution_code_outside: Array.from(document.querySelectorAll('.cell.tag_solution')).filter(
        c => !c.closest('div.solution')).length,
    widgets_without_figure: Array.from(document.querySelectorAll(
        'script[type="application/vnd.jupyter.widget-view+json"]')).filter(s => {
      const cell = s.closest('.cell');
      if (!cell) return true;
      const cells = Array.from(document.querySelectorAll('.cell'));
      const i = cells.indexOf(cell);
      return !cells.slice(Math.max(0, i - 2), i + 3).some(c => c !== cell && c.querySelector('img'));
    }).length,
    // an explorer on the static site is a note; its picture must be close by
    explorers_without_figure: Array.from(document.querySelectorAll('.advsub-explorer-note')).filter(n => {
      const cells = Array.from(document.querySelectorAll('.cell'));
      const i = cells.indexOf(n.closest('.cell'));
      return !cells.slice(Math.max(0, i - 1), i + 3).some(c => c.querySelector('img'));
    }).length,
    widget_views: q('script[type="application/vnd.jupyter.widget-view+json"]'),
    widget_state: Array.from(document.querySelectorAll(
        'script[type="application/vnd.jupyter.widget-state+json"]')).map(s => s.textContent).join(''),
    widgets_rendered: q('.jupyter-widgets.widget-container, .jupyter-widgets.widget-inline-hbox, .widget-vbox, .widget-hbox'),
    sliders: q('.widget-slider, .jupyter-widgets .slider, .widget-hslider, .widget-vslider'),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href')),
    launch_links: Array.from(document.querySelectorAll(
        '.dropdown-launch-buttons a[href], .launch-buttons a[href], a[href*="colab"], a[href*="binder"], '
        + 'a[href*="git-pull"]')).map(a => a.getAttribute('href')),
    // the page's text less literal blocks written in prose (a page that documents the
    // nbgrader markers may show them in a code example; a cell or an output may not)
    body_text: (() => {
      const main = (document.querySelector('main') || document.body).cloneNode(true);
      main.querySelectorAll('pre, code').forEach(p => { if (!p.closest('.cell')) p.remove(); });
      return main.textContent;
    })(),
    parameter_cells: q('.cell.tag_parameters, .cell.tag_injected-parameters')
        + Array.from(document.querySelectorAll('.cell_input pre')).filter(
            p => /^\\s*(# Parameters\\s*)?fast = (True|False)\\s*$/.test(p.textContent)).length,
    uncaptioned_figures: Array.from(document.querySelectorAll('.cell_output img')).filter(img => {
      const fig = img.closest('figure');
      const cap = fig && fig.querySelector('figcaption');
      return !(cap && cap.textContent.trim());
    }).map(img => (img.getAttribute('alt') || img.getAttribute('src') || '').slice(-60)),
    ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  };
}
"""


# Layout, run at each width: the page and every wide block fit their container.
LAYOUT_JS = """
(cutoff) => {
  const W = document.documentElement.clientWidth;
  const out = {page: [document.documentElement.scrollWidth, W], overflow: [], cut: []};
  const visible = e => { const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'
           && !e.closest('.bd-sidebar-secondary, .bd-sidebar-primary, dialog, details:not([open])'); };
  const sel = 'main pre, main div.highlight, main table, main figure, main img, main mjx-container, '
            + 'main .cell_output, main div.math';
  for (const e of document.querySelectorAll(sel)) {
    if (!visible(e)) continue;
    let box = e.parentElement;
    while (box && getComputedStyle(box).display.startsWith('inline')) box = box.parentElement;
    if (!box) continue;
    // an ancestor that scrolls sideways holds the overflow (a table or an equation that scrolls)
    let scroller = e.parentElement, scrolls = false;
    while (scroller && scroller !== document.body) {
      if (['auto', 'scroll'].includes(getComputedStyle(scroller).overflowX)) { scrolls = true; break; }
      scroller = scroller.parentElement;
    }
    const r = e.getBoundingClientRect(), b = box.getBoundingClientRect();
    if (!scrolls && (r.right > b.right + 1 || r.right > W + 1))
      out.overflow.push(e.tagName.toLowerCase() + ' ' + Math.round(r.width) + ' px in '
                        + Math.round(b.width) + ' px: ' + (e.textContent || '').trim().slice(0, 50));
    if (cutoff && e.tagName === 'PRE' && e.scrollWidth > e.clientWidth + 1)
      out.cut.push(Math.round(e.scrollWidth) + ' px of code in ' + e.clientWidth + ' px: '
                   + e.textContent.trim().slice(0, 50));
  }
  return out;
}
"""
WIDTHS = (1400, 390)
PLACEHOLDER = re.compile(r"example\.(org|com|net)|jupyterhub\.example|your[-_]?hub|localhost", re.I)
TQDM = re.compile(r"\d+%\|[^\n]*\|\s*\d+/\d+|\d+(\.\d+)?it/s\]|\d+/\d+ \[\d\d:\d\d")
NBGRADER = re.compile(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS)|YOUR CODE HERE|raise NotImplementedError\(\)")


def check_layout(tab, width: int) -> list[str]:
    """Problems of the page's layout at the tab's current viewport width."""
    facts = tab.evaluate(LAYOUT_JS, width >= 1000)
    problems = []
    if facts["page"][0] > facts["page"][1] + 1:
        problems.append(f"{width} px: the page scrolls sideways ({facts['page'][0]} px wide)")
    problems += [f"{width} px: wider than its container: {o}" for o in facts["overflow"][:10]]
    problems += [f"{width} px: code cut off: {c}" for c in facts["cut"][:10]]
    return problems


def _theorem_selector() -> str:
    return json.dumps(", ".join(f"div.proof.{name}" for name in THEOREM_LIKE))


def inspect_page(browser, base: str, root: Path, page: str, shot: Path) -> tuple[dict, list[str]]:
    """Open one page; return (facts, problems)."""
    problems: list[str] = []
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900}, service_workers="block")
    tab = context.new_page()
    host = urlparse(base).netloc

    def route(r):
        if urlparse(r.request.url).netloc == host or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            problems.append(f"blocked request to another host: {r.request.url}")
            r.abort()

    tab.route("**/*", route)
    tab.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    tab.on("pageerror", lambda e: problems.append(f"uncaught exception: {e}"))
    tab.on("requestfailed", lambda r: problems.append(f"failed request: {r.url} ({r.failure})")
           if urlparse(r.url).netloc == host else None)
    tab.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    tab.goto(base + page, wait_until="networkidle", timeout=60_000)
    has_views = tab.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if has_views:
        try:  # the HTML manager renders the saved widget views after the page loads
            tab.wait_for_selector(".jupyter-widgets", timeout=20_000)
            tab.wait_for_timeout(500)
        except Exception:
            problems.append("widget views present but nothing rendered by the widget manager")
    facts = tab.evaluate(INSPECT_JS.replace("%THEOREM_SEL%", _theorem_selector()))
    facts["widget_views"] = max(facts["widget_views"], has_views)  # counted before rendering
    problems += check_layout(tab, WIDTHS[0])
    shot.parent.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(shot), full_page=True)
    for width in WIDTHS[1:]:
        tab.set_viewport_size({"width": width, "height": 844})
        tab.wait_for_timeout(300)
        problems += check_layout(tab, width)
        if page.startswith("notebooks/"):
            tab.screenshot(path=str(shot.with_name(f"{shot.stem}_{width}px.png")), full_page=False)
    facts["downloads"] = {}
    for href in facts["links"]:
        if "_sources/" in href and href.endswith((".ipynb", ".md")):
            url = base + str(Path(page).parent / href) if not href.startswith("http") else href
            facts["downloads"][href] = tab.request.get(url).status
    context.close()
    return facts, problems


def check_facts(page: str, facts: dict, root: Path, config: dict) -> list[str]:
    """The assertions of the module docstring, as a list of problems."""
    problems = []
    if facts["math_nodes"] and not facts["mathjax"]:
        problems.append("maths on the page but MathJax did not load")
    problems += [f"maths not typeset: {t!r}" for t in facts["math_untypeset"]]
    problems += [f"MathJax error: {t!r}" for t in facts["math_errors"]]
    problems += [f"image not loaded: {src}" for src in facts["broken_images"]]
    for match in RAW_TEX.finditer(facts["text"]):
        around = facts["text"][max(0, match.start() - 40):match.end() + 40].replace("\n", " ")
        problems.append(f"raw TeX in the text: ...{around}...")
    for match in RAW_MYST.finditer(facts["text"]):
        around = facts["text"][max(0, match.start() - 40):match.end() + 40].replace("\n", " ")
        problems.append(f"unparsed MyST in the text: ...{around}...")
    expected = expected_boxes(source_of(root, page))
    expected["proof"] += expected["theorem"]  # a proof box is a div.proof, so is a theorem box
    for kind, n in expected.items():
        if facts[kind] < n:
            problems.append(f"{n} {kind} directive(s) in the source, {facts[kind]} rendered")
    if facts["solution_code_outside"]:
        problems.append(f"{facts['solution_code_outside']} solution code cell(s) outside a solution dropdown")
    if facts["solution_hidden"] < facts["solution"]:
        problems.append(f"{facts['solution'] - facts['solution_hidden']} solution(s) not gated in a dropdown")
    if facts["explorers_without_figure"]:
        problems.append(f"{facts['explorers_without_figure']} explorer(s) without their picture "
                        "in a neighbouring cell (the static site shows the default state)")
    if facts["widget_views"]:
        if facts["widgets_rendered"] == 0:
            problems.append(f"{facts['widget_views']} widget view(s) but no widget rendered")
        if "SliderModel" in facts["widget_state"] and facts["sliders"] == 0:
            problems.append("the widget state has sliders but no slider is rendered")
        if facts["widgets_without_figure"]:
            problems.append(f"{facts['widgets_without_figure']} widget(s) without a static fallback figure "
                            "in a neighbouring cell (for a reader without a kernel)")
    if page.startswith("notebooks/"):
        links = facts["links"]
        repo = config["repository"]["url"].rstrip("/")
        owner_repo = urlparse(repo).path.strip("/")
        name = Path(page).stem
        wanted = {
            ".ipynb download": lambda h: h.endswith(f"_sources/notebooks/{name}.ipynb"),
            ".md download": lambda h: h.endswith(f"_sources/notebooks/{name}.md"),
            "Binder launch": lambda h: "/v2/gh/" + owner_repo in h and f"notebooks/{name}.ipynb" in h,
            "Colab launch": lambda h: h.startswith("https://colab.research.google.com/github/" + owner_repo)
            and h.endswith(f"notebooks/{name}.ipynb"),
            "book PDF download": lambda h: h.endswith("advsub.pdf"),
        }
        for what, ok in wanted.items():
            if not any(ok(h) for h in links):
                problems.append(f"no {what} button")
        problems += [f"download {h} answered {s}" for h, s in facts["downloads"].items() if s != 200]
        problems += [f"placeholder URL in the launch menu: {h}" for h in facts["launch_links"]
                     if PLACEHOLDER.search(h)]
        problems += [f"figure without a captioned <figure>: {src}" for src in facts["uncaptioned_figures"]]
    for match in TQDM.finditer(facts["body_text"]):
        problems.append(f"progress bar text: {match.group(0)!r}")
    for match in NBGRADER.finditer(facts["body_text"]):
        problems.append(f"nbgrader marker text: {match.group(0)!r}")
    if facts["parameter_cells"]:
        problems.append(f"{facts['parameter_cells']} papermill parameters cell(s) visible")
    if page == "book/api.html":
        import advsub

        ids = set(facts["ids"])
        problems += [f"API page has no entry for advsub.{n}" for n in advsub.__all__
                     if f"advsub.{n}" not in ids and f"module-advsub.{n}" not in ids]
        import pkgutil

        problems += [f"API page has no entry for {name}, which {', '.join(sorted(chapters))} call(s)"
                     for name, chapters in api_names_used_by_chapters().items() if name not in ids]
        problems += [f"API page has no section for module advsub.{m.name}"
                     for m in pkgutil.iter_modules(advsub.__path__)
                     if not m.name.startswith("_") and f"module-advsub.{m.name}" not in ids]
    return problems


def api_names_used_by_chapters() -> dict[str, set[str]]:
    """{documented id on the API page: chapters} for every advsub object a chapter's code uses."""
    import ast
    import importlib

    import advsub

    used: dict[str, set[str]] = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
        tree = ast.parse(code)
        bound: dict[str, list[str]] = {}  # local name -> dotted path under advsub
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "advsub":
                        bound[a.asname or "advsub"] = a.name.split(".") if a.asname else ["advsub"]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "advsub":
                for a in node.names:
                    bound[a.asname or a.name] = node.module.split(".") + [a.name]
        chains = []
        for node in ast.walk(tree):
            parts = []
            while isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name) and node.id in bound:
                chains.append(bound[node.id] + parts[::-1])
        for chain in chains:
            obj, path_ = advsub, ["advsub"]
            for part in chain[1:]:
                if part.startswith("_"):
                    break
                try:
                    obj = getattr(obj, part)
                except AttributeError:
                    if type(obj).__name__ != "module":
                        break
                    try:
                        obj = importlib.import_module(f"{obj.__name__}.{part}")
                    except ImportError:
                        break
                path_.append(part)
                if type(obj).__name__ == "module":
                    # an old path (advsub.plotting) is the module it names now
                    path_ = obj.__name__.split(".")
                elif path_[1] in getattr(advsub, "__compat__", {}) and hasattr(obj, "__qualname__"):
                    # a name re-exported by an old path (advsub.beyond.x): where it is defined
                    path_ = obj.__module__.split(".") + [obj.__qualname__]
            if len(path_) < 2:
                continue
            if type(obj).__name__ == "module":
                key = f"module-{'.'.join(path_)}"
            elif len(path_) >= 3 and type(getattr(advsub, path_[1], None)).__name__ == "module" \
                    and path_[2] in advsub.__all__ \
                    and type(getattr(advsub, path_[2])).__name__ != "module" \
                    and getattr(advsub, path_[2]) is getattr(importlib.import_module(".".join(path_[:2])), path_[2]):
                key = ".".join(["advsub"] + path_[2:])  # documented once, under the package
            else:
                key = ".".join(path_)
            used.setdefault(key, set()).add(path.stem)
    return used


def test_every_page_in_chromium(served_book, chromium):
    root, base = served_book
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    pages = book_pages(root)
    assert "index.html" in pages and "book/api.html" in pages, pages
    assert any(p.startswith("notebooks/") for p in pages), "no chapter page was built"
    report, failures = {}, {}
    for page in pages:
        shot = SHOTS / (page.replace("/", "__")[:-len(".html")] + ".png")
        facts, problems = inspect_page(chromium, base, root, page, shot)
        problems += check_facts(page, facts, root, config)
        report[page] = {k: facts[k] for k in ("math_nodes", "images", "theorem", "proof", "exercise",
                                              "solution", "widget_views", "sliders")}
        report[page]["problems"] = problems
        if problems:
            failures[page] = problems
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "report.json").write_text(json.dumps(report, indent=2))
    summary = "\n".join(f"{page}:\n  " + "\n  ".join(dict.fromkeys(p)) for page, p in failures.items())
    assert not failures, f"{len(failures)} of {len(pages)} pages have problems:\n{summary}"


# A chapter's cold first load (HTML, CSS, scripts, fonts and the figures of its first
# screen; issue 11, item 14): 8.0-8.6 MB when every page loaded the ipywidgets manager and
# all of Font Awesome, about 2.5 MB after. The budget leaves room for a figure or two.
FIRST_LOAD_BUDGET = 3_500_000


def test_chapter_first_load_is_small(served_book, chromium):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "page_weight", ROOT / "scripts" / "page_weight.py")
    page_weight = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(page_weight)
    root, base = served_book
    heavy = {}
    for page in sorted(p for p in book_pages(root) if p.startswith("notebooks/")):
        weight = page_weight.first_load(chromium, base + page)
        if weight["total"] > FIRST_LOAD_BUDGET:
            top = ", ".join(f"{u.rsplit('/', 1)[-1][:40]} {s / 1e3:.0f} kB"
                            for s, u in weight["files"][:4])
            heavy[page] = f"{weight['total'] / 1e6:.2f} MB ({top})"
    assert not heavy, f"first load over {FIRST_LOAD_BUDGET / 1e6} MB: {heavy}"
