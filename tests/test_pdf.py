"""`make pdf`: the whole book as one PDF with every chapter, its figures and no raw TeX.

Builds the PDF (XeLaTeX through Jupyter Book's LaTeX builder) from the fast-executed
chapters of conftest, then reads it back with poppler (pdftotext, pdfimages) and the
LaTeX build's own table of contents (chapter start pages). Skipped when XeLaTeX,
latexmk or poppler is missing (`make tex` installs them).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from conftest import FAST_DIR, bookbuild

pytestmark = [pytest.mark.slow, pytest.mark.book]

# Maths or MyST that did not become typeset output (in prose or code).
RAW = re.compile(
    r"\\\(|\\\)|\\\[|\\\]|\$\$|\{(prf:ref|doc|numref|eq|cite:[tp]|glue:text)\}"
    r"|```\{|\\begin\{"
)


# An object's repr where its display was meant (a Styler table printed as text/plain).
REPR = re.compile(r"<[\w.]+ (object )?at 0x[0-9a-f]+>")


@pytest.fixture(scope="module")
def book_pdf(executed_fast):
    missing = [
        t
        for t in ("xelatex", "latexmk", "pdftotext", "pdfimages")
        if shutil.which(t) is None
    ]
    if missing:
        pytest.skip(
            f"{', '.join(missing)} missing (make tex installs Debian's TeX Live)"
        )
    return bookbuild.pdf(FAST_DIR, FAST_DIR)


def _title(stem: str) -> str:
    cells = json.loads((FAST_DIR / "notebooks" / f"{stem}.ipynb").read_text())["cells"]
    first = "".join(next(c for c in cells if c["cell_type"] == "markdown")["source"])
    return re.sub(r"[`*$]", "", first.splitlines()[0].lstrip("# ")).strip()


def _chapter_pages(pdf) -> dict[str, int]:
    """{chapter title: first physical page}: the LaTeX table of contents names each
    chapter's anchor, and poppler gives the anchor's page (the printed page numbers
    restart after the front matter)."""
    dests = subprocess.run(
        ["pdfinfo", "-dests", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    page_of = {
        m.group(2): int(m.group(1))
        for m in re.finditer(r"^\s*(\d+) \[.*\] \"(.+)\"$", dests, re.M)
    }
    toc = pdf.with_suffix(".toc").read_text(errors="replace")
    pages = {}
    for title, anchor in re.findall(
        r"\\contentsline \{chapter\}\{(?:\\numberline \{[^}]*\})?(.*?)\}\{\d+\}"
        r"\{([^}]*)\}",
        toc,
    ):
        if anchor in page_of:
            pages[re.sub(r"\\[a-zA-Z]+\s*|[{}]", "", title).strip()] = page_of[anchor]
    return pages


def _figures(stem: str) -> int:
    """Images the executed chapter shows (outputs of cells the book does not remove)."""
    cells = json.loads((FAST_DIR / "notebooks" / f"{stem}.ipynb").read_text())["cells"]
    hidden = {"remove-cell", "remove-output"}
    return sum(
        any(k.startswith("image/") for k in out.get("data", {}))
        for c in cells
        if c["cell_type"] == "code" and not hidden & set(c["metadata"].get("tags", []))
        for out in c.get("outputs", [])
    )


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text).lower().strip()


def test_pdf_has_every_chapter_with_its_figures(book_pdf):
    text = subprocess.run(
        ["pdftotext", "-layout", str(book_pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    body = _norm(text)
    chapters = [nb.stem for nb in bookbuild.toc_chapters()]
    starts = {_norm(k): v for k, v in _chapter_pages(book_pdf).items()}
    listing = subprocess.run(
        ["pdfimages", "-list", str(book_pdf)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[2:]
    image_pages = [
        int(line.split()[0]) for line in listing if line.split()[2] == "image"
    ]
    problems = []
    order = []
    for stem in chapters:
        title = _norm(_title(stem))
        if title not in body:
            problems.append(f"{stem}: title {title!r} not in the PDF text")
        start = next((p for t, p in starts.items() if t.startswith(title[:40])), None)
        if start is None:
            problems.append(f"{stem}: not in the PDF's table of contents")
        order.append((stem, start))
    # a chapter's pages run to the next entry of the table of contents (API, index...)
    bounds = sorted(set(starts.values())) + [10**9]
    for stem, start in order:
        if start is None:
            continue
        end = next(b for b in bounds if b > start)
        shown = sum(start <= page < end for page in image_pages)
        if shown < _figures(stem):
            problems.append(
                f"{stem}: {shown} figure(s) on its pages {start}-{end - 1}, "
                f"{_figures(stem)} in the executed notebook"
            )
    assert not problems, "\n".join(problems)


def test_pdf_has_no_raw_tex_and_no_tex_error(book_pdf):
    assert not bookbuild.latex_errors(book_pdf.with_suffix(".log"))
    text = subprocess.run(
        ["pdftotext", str(book_pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    found = [
        text[max(0, m.start() - 50) : m.end() + 50].replace("\n", " ")
        for pattern in (RAW, REPR)
        for m in pattern.finditer(text)
    ]
    assert not found, "raw TeX or MyST in the PDF:\n" + "\n".join(found[:20])


def test_pdf_numbers_chapters_as_the_site(book_pdf):
    """Chapter N of the PDF is notebooks/0N_*: the setting and reference pages are
    unnumbered there too (book/_ext/latex/advsub.sty)."""
    toc = book_pdf.with_suffix(".toc").read_text(errors="replace")
    numbered = {
        int(n): _norm(re.sub(r"\\[a-zA-Z]+\s*|[{}]", "", title))
        for n, title in re.findall(
            r"\\contentsline \{chapter\}\{\\numberline \{(\d+)\}(.*?)\}\{\d+\}", toc
        )
    }
    wanted = {
        int(nb.stem[:2]): _norm(_title(nb.stem)) for nb in bookbuild.toc_chapters()
    }
    assert sorted(numbered) == sorted(wanted), (numbered, wanted)
    for n, title in wanted.items():
        assert numbered[n].startswith(title[:40]), (n, numbered[n], title)
