"""Sphinx extension of the advsub book.

- A ``.md`` download beside the ``.ipynb`` one. Every chapter is an executed notebook;
  sphinx-book-theme already offers the notebook itself (``.ipynb``, with outputs) and a
  print-to-PDF button; this adds the same chapter as a MyST Markdown text notebook
  (jupytext's ``md:myst`` format, no outputs), written under ``_sources/``.
- The API page (``book/api.md``) gets one autodoc section per public module of
  ``advsub``, found at build time, so that a new module appears without editing the page.
  Names re-exported by ``advsub`` itself are documented once, in the package section,
  and docstring references to them resolve under either path.
- Small fixes so that the browser console stays clean (see ``fix_page_context``).
- Site-wide presentation (issue 11): ``static/advsub.css`` (phone, print, display maths
  that scroll with a cue, no empty header band) and ``static/advsub.js`` (search snippets
  without raw TeX or menus) on every page; inline maths and the punctuation after it
  kept on one line (``keep_math_with_punctuation``).
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

API_DOCNAME = "book/api"
BOOK_PDF = "advsub.pdf"  # scripts/bookbuild.py pdf copies the LaTeX build's PDF here


def public_modules() -> list[str]:
    """Names of the public submodules of advsub (relative, dotted), layer by layer.

    ``advsub.__layers__`` lists them bottom to top (library, experiments, figures); the old
    paths kept for compatibility (``advsub.__compat__``) are not documented twice.
    """
    import advsub

    layers = getattr(advsub, "__layers__", None)
    if layers:
        return [name for names in layers.values() for name in names]
    order = ["geometry", "network", "training", "theory", "attacks", "measure", "plotting", "widgets"]
    # Every public module, subpackages' modules included (advsub.experiments.depth, ...).
    names = [m.name.removeprefix("advsub.")
             for m in pkgutil.walk_packages(advsub.__path__, "advsub.")
             if not any(part.startswith("_") for part in m.name.split("."))]

    def key(name):
        top = name.split(".")[0]
        return (order.index(top) if top in order else len(order), name)

    return sorted(names, key=key)


def api_sections() -> str:
    """MyST text documenting every public module (minus the names documented at the top)."""
    import advsub

    parts = []
    layers = getattr(advsub, "__layers__", {})
    layer_of = {name: layer for layer, names in layers.items() for name in names}
    level = "###" if layers else "##"
    current = None
    for name in public_modules():
        if layer_of.get(name) != current:
            current = layer_of.get(name)
            parts.append(f"\n## The {current} layer\n\n{LAYER_INTRO.get(current, '')}\n")
            if "." in name:  # a layer that is a subpackage: its own docstring first
                package = name.split(".")[0]
                parts.append(f"\n```{{eval-rst}}\n.. automodule:: advsub.{package}\n```\n")
        module = importlib.import_module(f"advsub.{name}")
        # documented once, in the package namespace: the names advsub re-exports from here
        exported = sorted(n for n in getattr(advsub, "__all__", [])
                          if getattr(module, n, None) is getattr(advsub, n)
                          and not isinstance(getattr(advsub, n), type(advsub)))
        options = "   :members:\n   :undoc-members:\n"
        if exported:
            options += f"   :exclude-members: {', '.join(exported)}\n"
        parts.append(f"\n{level} `advsub.{name}`\n\n```{{eval-rst}}\n.. automodule:: advsub.{name}\n{options}```\n")
        if exported:
            parts.append("\nAlso in this module, documented in the package namespace: "
                         + ", ".join(f"{{py:obj}}`advsub.{n}`" for n in exported) + ".\n")
    compat = getattr(advsub, "__compat__", {})
    if compat:
        parts.append("\n## Old module paths\n\nThese paths still import (old notebooks keep "
                     "working); their contents live in the modules named.\n")
        for old, new in compat.items():
            targets = ", ".join(f"{{py:mod}}`advsub.{t.strip()}`" for t in new.split(","))
            parts.append(f"\n```{{eval-rst}}\n.. py:module:: advsub.{old}\n```\n\n"
                         f"`advsub.{old}`: now {targets}.\n")
    return "".join(parts)


LAYER_INTRO = {
    "library": "The concepts, one module each: data geometry, networks, training, theory, attacks "
               "and certificates, decision boundaries, curved data, real data.",
    "experiments": "What the chapters run, built from the library: samples, sweeps and the "
                   "pictures' recipes. Imports the library, never the figures.",
    "figures": "Plotting and the interactive explorers: the only layer that imports matplotlib "
               "and ipywidgets.",
}


FIELD_SECTIONS = {"parameters", "other parameters", "returns", "yields", "receives", "raises", "warns",
                  "attributes", "methods", "see also", "keyword arguments", "args", "arguments"}


def _literal_formulas(lines: list[str]) -> list[str]:
    """Make a formula indented under a prose line (no blank line between) a literal block.

    Docstrings here write ``... gives\n    N(x) = Σ_i u_i σ(w_i·x),\nso ...``; reStructuredText
    reads that as a broken definition list. Only prose is touched: not the NumPy field
    sections (Parameters, Returns, ...), whose indented descriptions are meant.
    """
    out, section, i = [], None, 0
    indent = lambda t: len(t) - len(t.lstrip())  # noqa: E731
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and line.strip() and set(lines[i + 1].strip()) == {"-"}:
            section = line.strip().lower()
        prev = out[-1] if out else ""
        if (section not in FIELD_SECTIONS and line.strip() and prev.strip()
                and indent(line) >= indent(prev) + 4 and not prev.rstrip().endswith("::")
                and not prev.lstrip().startswith((".. ", ">>>", "- ", "* "))):
            base = indent(prev)
            out += ["", " " * base + "::", ""]
            while i < len(lines) and (not lines[i].strip() or indent(lines[i]) > base):
                out.append(lines[i])
                i += 1
            if i < len(lines):
                out.append("")
            continue
        out.append(line)
        i += 1
    return out


def rst_docstring(app, what, name, obj, options, lines):
    """Let docstrings use the book's habits; autodoc reads them as reStructuredText.

    A MyST role ``{cite:p}`key``` becomes ``:cite:p:`key```; a bar (|x| for an absolute
    value, a substitution in reStructuredText) is escaped outside inline literals and
    roles; a formula indented under a line of prose becomes a literal block.
    """
    for i, line in enumerate(lines):
        line = MYST_ROLE.sub(r":\1:`", line)
        if "|" in line:
            pieces = re.split(r"(`[^`]*`)", line)
            line = "".join(p if p.startswith("`") else p.replace("|", "\\|") for p in pieces)
        lines[i] = line
    lines[:] = _literal_formulas(lines)


MYST_ROLE = re.compile(r"\{([a-z]+(?::[a-z]+)?)\}`")


def skip_class_data(app, what, name, obj, skip, options):
    """With ``:undoc-members:`` (every function a chapter calls appears, docstring or not),
    leave the data attributes of a class to its docstring's Attributes section."""
    import inspect

    if what == "class" and not (inspect.isroutine(obj) or isinstance(obj, (property, type))
                                or inspect.isdatadescriptor(obj) and getattr(obj, "fget", None)):
        return True
    return None


def _aliases(target: str, context_module: str | None) -> list[str]:
    """Names under which a reference from a docstring may be documented."""
    import advsub

    exported = set(getattr(advsub, "__all__", []))
    modules = public_modules()
    parts = target.split(".")
    if parts[0] == "advsub":
        # An old module path (advsub.toydata.x) -> where it lives now (advsub.experiments.toydata.x)
        compat = getattr(advsub, "__compat__", {})
        if len(parts) >= 3 and parts[1] in compat:
            return [".".join(["advsub", t.strip(), *parts[2:]]) for t in compat[parts[1]].split(",")]
        # advsub.training.train -> advsub.train (documented once, in the package namespace)
        for cut in range(len(parts) - 1, 1, -1):
            if ".".join(parts[1:cut]) in modules and parts[cut] in exported:
                return [".".join(["advsub"] + parts[cut:])]
        return []
    # An unqualified name in a docstring (`train`, `Manifold.sphere`): the context module,
    # the package namespace, then every public module.
    prefixes = [context_module] if context_module else []
    prefixes += ["advsub"] + [f"advsub.{m}" for m in modules]
    candidates = []
    for prefix in dict.fromkeys(prefixes):
        candidates.append(f"{prefix}.{target}")
        candidates += _aliases(f"{prefix}.{target}", None)
    return candidates


def resolve_reexports(app, env, node, contnode):
    """Resolve docstring references to names documented under another path of advsub."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target:
        return None
    domain = env.get_domain("py")
    for alias in _aliases(target.lstrip(".~"), node.get("py:module")):
        if alias == target:
            continue
        found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], alias, node, contnode)
        if found is not None:
            return found
    return None


def add_api_sections(app, docname, source):
    if docname == API_DOCNAME:
        source[0] += api_sections()


def add_markdown_download(app, pagename, templatename, context, doctree):
    """Write ``_sources/<page>.md`` for a notebook page and add it to the download menu."""
    if doctree is None or app.builder.format != "html":
        return
    source = Path(app.env.doc2path(pagename))
    if source.suffix != ".ipynb":
        return
    import jupytext

    notebook = jupytext.read(source)
    target = Path(app.outdir) / "_sources" / f"{pagename}.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(jupytext.writes(notebook, fmt="md:myst"), encoding="utf-8")
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(1, {
                "type": "link",
                "url": f"{context['pathto']('_sources', 1)}/{pagename}.md",
                "text": ".md",
                "tooltip": "Download the chapter as a MyST Markdown notebook",
                "icon": "fas fa-file-lines",
                "label": "download-markdown-button",
            })
            # The whole book as one PDF (`make pdf` writes it beside index.html).
            group["buttons"].append({
                "type": "link",
                "url": context["pathto"](BOOK_PDF, 1),
                "text": "book .pdf",
                "tooltip": "Download the whole book as one PDF",
                "icon": "fas fa-book",
                "label": "download-book-pdf-button",
            })


def fix_page_context(app, pagename, templatename, context, doctree):
    """Two theme glitches that print errors in the browser console.

    pydata-sphinx-theme 0.17 writes ``dataset.mode = ... || "{{ default_mode }}"`` but no
    longer defines ``default_mode``, so a first visit logs "invalid theme mode"; and
    sphinx-thebe adds its inline configuration script twice, a redeclared ``const``.
    """
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        key = (str(getattr(script, "filename", script) or ""),  # None and "" both mean inline
               repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    if "script_files" in context:
        context["script_files"][:] = scripts


PUNCTUATION = re.compile(r"^[.,;:!?)\]\u2019\u201d]+")


def keep_math_with_punctuation(app, doctree, docname):
    """Wrap inline maths and the punctuation right after it (``$x$.``) in a nowrap span,
    so that a line break never leaves the "." or "," alone at the start of a line."""
    from docutils import nodes

    for math in list(doctree.findall(nodes.math)):
        parent = math.parent
        if parent is None:
            continue
        index = parent.index(math)
        if index + 1 >= len(parent.children):
            continue
        nxt = parent.children[index + 1]
        if not isinstance(nxt, nodes.Text):
            continue
        match = PUNCTUATION.match(str(nxt))
        if not match:
            continue
        rest = str(nxt)[match.end():]
        wrapper = nodes.inline(classes=["advsub-nowrap"])
        parent.replace(math, wrapper)
        wrapper += math
        wrapper += nodes.Text(match.group(0))
        if rest:
            parent.replace(nxt, nodes.Text(rest))
        else:
            parent.remove(nxt)


# A bare command as a sub/superscript, not one that takes an argument (``t_\\text{stop}``).
SCRIPT_COMMAND = re.compile(r"([_^])(\\[A-Za-z]+)(?![A-Za-z]|\s*\{)")


def brace_script_commands(app, doctree, docname):
    """For LaTeX only: ``t_\\max`` → ``t_{\\max}``. MathJax accepts a command as a bare
    sub/superscript; TeX fails on one that expands to several tokens (``\\max``)."""
    from docutils import nodes

    if app.builder.format != "latex":
        return
    for node in list(doctree.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block)))):
        text = node.astext()
        fixed = SCRIPT_COMMAND.sub(r"\1{\2}", text)
        if fixed != text:
            node.children = []
            node += nodes.Text(fixed)
            if "latex" in node.attributes:
                node["latex"] = fixed


def numbered_docs(app) -> set[str]:
    """The pages in a ``numbered: true`` part of _toc.yml (the LaTeX build's own toctree
    numbering differs: sphinx-jupyterbook-latex restructures it)."""
    import yaml

    toc_path = Path(app.confdir) / getattr(app.config, "external_toc_path", "_toc.yml")
    toc = yaml.safe_load(toc_path.read_text())
    found: set[str] = set()

    def walk(entries, numbered):
        for entry in entries or []:
            if numbered and "file" in entry:
                found.add(str(Path(entry["file"]).with_suffix("")))
            walk(entry.get("sections"), numbered)

    for part in toc.get("parts", []):
        walk(part.get("chapters"), bool(part.get("numbered")))
    return found


def unnumbered_in_latex(app, doctree, docname):
    """For LaTeX only: a page the HTML book does not number (not in a ``numbered`` part of
    _toc.yml) becomes an unnumbered chapter (``latex/advsub.sty``), so that the PDF's
    chapter and theorem numbers are the site's."""
    from docutils import nodes
    from sphinx import addnodes

    if app.builder.format != "latex":
        return
    numbered = numbered_docs(app)
    for start in doctree.findall(addnodes.start_of_file):
        if start["docname"] not in numbered:
            start.insert(0, nodes.raw("", "\\advsubunnumbered\n", format="latex"))


def lazy_images(app, pagename, templatename, context, doctree):
    """Figures load when they come near the screen (``loading="lazy"``): a chapter's first
    load fetches the figures of its first screen, not all of them (issue 11, item 14)."""
    body = context.get("body")
    if body and "<img " in body:
        context["body"] = re.sub(r"<img (?![^>]*\bloading=)", '<img loading="lazy" ', body)


STATIC = Path(__file__).resolve().parent / "static"


def add_static_path(app, config):
    config.html_static_path = list(config.html_static_path) + [str(STATIC)]


def setup(app):
    app.connect("config-inited", add_static_path)
    app.add_css_file("advsub.css")
    app.add_js_file("advsub.js")
    app.connect("doctree-resolved", keep_math_with_punctuation)
    app.connect("html-page-context", lazy_images)
    app.connect("doctree-resolved", brace_script_commands)
    app.connect("doctree-resolved", unnumbered_in_latex)
    app.connect("html-page-context", fix_page_context, priority=900)
    # After sphinx-book-theme builds its header buttons (priority 501).
    app.connect("html-page-context", add_markdown_download, priority=502)
    app.connect("source-read", add_api_sections)
    app.connect("missing-reference", resolve_reexports)
    app.connect("autodoc-skip-member", skip_class_data)
    # Before napoleon (priority 500) turns NumPy sections into reStructuredText.
    app.connect("autodoc-process-docstring", rst_docstring, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
