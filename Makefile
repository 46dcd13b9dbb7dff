# advsub — two commands for a new user: `make book` and `make test`.
# Everything is installed into .venv by pip; torch is pinned to the CPU build.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
BUILD := _build

.PHONY: help venv book book-student notebooks test test-fast bench lab assignments grade grade-all bwrap chromium pdf tex clean

help:
	@echo "make book         create .venv, execute the chapter notebooks (full mode), build the HTML book"
	@echo "make pdf          make book, then the whole book as one PDF (_build/full/_build/latex/advsub.pdf)"
	@echo "make test         create .venv if needed and run every test (package, notebooks, nbval, book, browser)"
	@echo "make test-fast    package tests only"
	@echo "make bench        run the benchmarks and print the table (BENCH_ARGS=\"--quick\" or \"--notebooks both\")"
	@echo "make lab          open JupyterLab on notebooks/"
	@echo "make book-student the book without solutions or checks (to publish for students)"
	@echo "make assignments  write student notebooks and the autograder (its key: run in the sandbox)"
	@echo "make grade NB=... grade one filled-in student notebook in the sandbox (score per exercise)"
	@echo "make grade-all SUBMISSIONS=dir [ROSTER=csv] [DEADLINE=iso] grade a class: grades.csv, canvas.csv, feedback/"
	@echo "make clean        remove build products (keeps .venv)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[dev]" $(TORCH)
	@touch $(STAMP)

# Chromium for the browser test (Debian package; never a browser download by a test tool).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; the browser test will be skipped"; \
	  else echo "warning: chromium is missing and cannot be installed here; the browser test will be skipped"; fi; }

# Bubblewrap, the sandbox every student notebook is graded in (Debian package).
bwrap:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's bubblewrap for the grading sandbox"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null) \
	      || echo "warning: could not install bubblewrap; grading will refuse to run"; \
	  else echo "warning: bubblewrap is missing (sudo apt-get install bubblewrap); grading will refuse to run"; fi; }

# Debian's TeX Live for `make pdf` (XeLaTeX, latexmk, the Free and Noto Mono fonts of _config.yml,
# poppler's pdftotext for the PDF test), installed when missing, the way chromium is.
TEX_PACKAGES := texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended \
  texlive-xetex latexmk fonts-freefont-otf fonts-noto-mono tex-gyre poppler-utils
tex:
	@{ command -v xelatex && command -v latexmk && command -v pdftotext \
	   && fc-list | grep -q FreeSerif; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's TeX Live for the PDF (a few minutes, about 1 GB)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      $(TEX_PACKAGES) >/dev/null; \
	  else echo "error: make pdf needs XeLaTeX and latexmk: apt-get install $(TEX_PACKAGES)"; exit 1; fi; }

# The whole book as one PDF, from the notebooks `make book` executed; copied beside the HTML
# book's index.html as advsub.pdf (every chapter page links to it).
pdf: book tex
	$(PY) scripts/bookbuild.py pdf --executed $(BUILD)/full --out $(BUILD)/full

notebooks: $(STAMP)
	$(PY) scripts/bookbuild.py execute --mode full --out $(BUILD)/full

# The offline assets are fetched first: a failed fetch stops before any execution.
book: $(STAMP)
	$(PY) scripts/bookbuild.py vendor
	$(PY) scripts/bookbuild.py execute --mode full --out $(BUILD)/full
	$(PY) scripts/bookbuild.py build --executed $(BUILD)/full --out $(BUILD)/full

# The student edition (no solution, no check, launch buttons on the student repository):
# the same executed notebooks, built into _build/student. STUDENT_REPO=https://github.com/...
book-student: $(STAMP)
	$(PY) scripts/bookbuild.py vendor
	@test -d $(BUILD)/full/notebooks || $(PY) scripts/bookbuild.py execute --mode full --out $(BUILD)/full
	$(PY) scripts/bookbuild.py build --executed $(BUILD)/full --out $(BUILD)/student --edition student \
	  $(if $(STUDENT_REPO),--student-repository "$(STUDENT_REPO)")

# chromium, bubblewrap and TeX Live are Debian packages installed when missing, so the browser,
# sandbox and PDF tests run on a fresh machine instead of skipping.
test: $(STAMP) chromium bwrap tex
	$(PY) -m pytest tests

test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not notebooks and not book and not browser"

# The benchmark of issue 3 (about 15 min on 2 cores; notebooks in fast mode by default).
bench: $(STAMP)
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

# JupyterLab from the venv (jupyterlab_widgets makes the sliders live); `make lab LAB_ARGS=--no-browser`.
lab: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) \
	  $(LAB_ARGS) notebooks/

# Student notebooks (assignments/student/) and the autograder (assignments/autograder/: PRIVATE,
# it holds the solutions and the key of the hidden cases), then the instructor notebooks graded
# by it in the sandbox: they must get full marks. See book/instructors.md.
assignments: $(STAMP) bwrap
	ADVSUB_BATCH=1 $(PY) scripts/assignments.py generate
	ADVSUB_BATCH=1 $(PY) scripts/assignments.py instructor

# Grade one filled-in student notebook: make grade NB=assignments/student/01_gradient_lower_bound.ipynb
grade: $(STAMP) bwrap
	@test -n "$(NB)" || { echo "usage: make grade NB=path/to/notebook.ipynb (after make assignments)"; exit 2; }
	@ADVSUB_BATCH=1 $(PY) scripts/assignments.py grade "$(NB)" $(GRADE_ARGS)

# Grade a class: SUBMISSIONS/<student_id>/<chapter>.ipynb -> SUBMISSIONS/grades.csv, canvas.csv,
# feedback/<student_id>.html, manual_grades.csv (fill in, run again), answers/<chapter>.html.
# Optional: ROSTER=roster.csv (student_id column), DEADLINE=2026-12-01T23:59+01:00, LATE_PENALTY=0.1
# (per started day), JOBS=<parallel sandboxes, default the cores>, GRADE_ARGS=... (see --help).
grade-all: $(STAMP) bwrap
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade-all SUBMISSIONS=folder [ROSTER=roster.csv] [DEADLINE=...]"; exit 2; }
	@ADVSUB_BATCH=1 $(PY) scripts/assignments.py grade-all "$(SUBMISSIONS)" \
	  $(if $(ROSTER),--roster "$(ROSTER)") $(if $(DEADLINE),--deadline "$(DEADLINE)") \
	  $(if $(LATE_PENALTY),--late-penalty $(LATE_PENALTY)) $(if $(JOBS),--jobs $(JOBS)) $(GRADE_ARGS)

clean:
	rm -rf $(BUILD) .pytest_cache
