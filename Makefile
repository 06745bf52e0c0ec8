# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make demo   -- bootstrap .venv, generate the demo company if the landing zone is empty, run everything
#   make test   -- bootstrap .venv, then the whole test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test test-slow ui bench lint clean install

install: $(STAMP)

# Re-installs when the dependency ranges or the pinned constraints change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pipeline demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

ui: $(STAMP)
	$(BIN)/pipeline ui

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py --accounts $${BENCH_ACCOUNTS:-100000} --months $${BENCH_MONTHS:-36}

lint: $(STAMP)
	$(BIN)/ruff check pipeline assets tests benchmarks

clean:
	rm -rf $(VENV) data .pytest_cache
