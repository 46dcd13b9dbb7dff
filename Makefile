# advsub — two commands for a new user: `make book` and `make test`.
# Everything is installed into .venv by pip; torch is pinned to the CPU build.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
BUILD := _build

.PHONY: help venv book notebooks test test-fast bench lab assignments grade chromium clean

help:
	@echo "make book         create .venv, execute the chapter notebooks (full mode), build the HTML book"
	@echo "make test         create .venv if needed and run every test (package, notebooks, nbval, book, browser)"
	@echo "make test-fast    package tests only"
	@echo "make bench        run the benchmarks and print the table (BENCH_ARGS=\"--quick\" or \"--notebooks both\")"
	@echo "make lab          open JupyterLab on notebooks/"
	@echo "make assignments  write student notebooks and the autograder"
	@echo "make grade NB=... grade one filled-in student notebook (score per exercise and total)"
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

notebooks: $(STAMP)
	$(PY) scripts/bookbuild.py execute --mode full --out $(BUILD)/full

# The offline assets are fetched first: a failed fetch stops before any execution.
book: $(STAMP)
	$(PY) scripts/bookbuild.py vendor
	$(PY) scripts/bookbuild.py execute --mode full --out $(BUILD)/full
	$(PY) scripts/bookbuild.py build --executed $(BUILD)/full --out $(BUILD)/full

test: $(STAMP) chromium
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

# Student notebooks (assignments/student/) and the nbgrader autograder (assignments/autograder/),
# then the instructor notebooks graded by it: they must get full marks.
assignments: $(STAMP)
	$(PY) scripts/assignments.py generate
	$(PY) scripts/assignments.py instructor

# Grade one filled-in student notebook: make grade NB=assignments/student/01_gradient_lower_bound.ipynb
grade: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make grade NB=path/to/notebook.ipynb (after make assignments)"; exit 2; }
	$(PY) scripts/assignments.py grade "$(NB)"

clean:
	rm -rf $(BUILD) .pytest_cache
