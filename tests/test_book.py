"""The Jupyter Book builds (warnings are errors) and its pages hold what a reader needs."""
from __future__ import annotations

import re

import pytest

from conftest import CHAPTERS

pytestmark = pytest.mark.book


def test_book_builds(built_book):
    assert (built_book / "index.html").exists()


@pytest.mark.parametrize("stem", CHAPTERS)
def test_every_chapter_is_rendered(built_book, stem):
    page = built_book / "notebooks" / f"{stem}.html"
    assert page.exists(), f"{page} missing: is {stem} in _toc.yml?"
    html = page.read_text()
    assert "<img" in html, f"{stem} renders no figure"
    assert "Traceback" not in html and "NameError" not in html


def test_chapter_one_has_theorem_lemma_proof_and_citations(built_book):
    html = (built_book / "notebooks" / "01_gradient_lower_bound.html").read_text()
    assert re.search(r'class="[^"]*\btheorem\b', html), "no theorem box"
    assert re.search(r'class="[^"]*\blemma\b', html), "no lemma box"
    assert re.search(r'class="[^"]*\bproof\b', html), "no proof box"
    assert "Melamed" in html, "citation not rendered"


def test_bibliography_lists_the_paper(built_book):
    html = (built_book / "book" / "bibliography.html").read_text().lower()
    assert "adversarial examples exist in two-layer relu networks" in html
    assert "laurent" in html and "massart" in html


@pytest.mark.parametrize("stem", CHAPTERS)
def test_chapter_page_is_light_and_explorers_are_pictures(built_book, stem):
    """No widget manager or saved widget state on the static site (issue 11, item 14): an
    explorer's output is a note with Colab/Binder links (scripts/bookbuild.py)."""
    html = (built_book / "notebooks" / f"{stem}.html").read_text()
    assert "embed-amd.js" not in html and "widget-state+json" not in html
    source = (built_book / "_sources" / "notebooks" / f"{stem}.ipynb").read_text()
    if "_explorer(" in source:
        assert "advsub-explorer-note" in html, f"{stem}: an explorer without its note"
        assert "colab.research.google.com" in html and "/v2/gh/" in html


@pytest.mark.parametrize("stem", CHAPTERS)
def test_chapter_page_hides_the_boilerplate(built_book, stem):
    """Set-up, parameters (the chapter's and papermill's), the parameter check, sizes and
    timer cells are removed from the page; the book PDF is offered."""
    html = (built_book / "notebooks" / f"{stem}.html").read_text()
    for marker in ("hygiene: setup", "hygiene: check-parameters", "tag_injected-parameters",
                   "tag_parameters", "tag_sizes", "tag_timer", "chapter executed in"):
        assert marker not in html, f"{stem}: {marker!r} on the page"
    assert 'advsub.pdf"' in html, f"{stem}: no link to the book PDF"
