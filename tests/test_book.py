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
