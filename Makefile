# The two commands a fresh clone needs: `make test` and `make reports`.
# Each creates .venv on first use and reinstalls when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
BSTAMP := $(VENV)/.installed-bench
PYTEST_WORKERS ?= 2

.PHONY: help venv test reports data teaching bench lab lint clean

help:
	@echo "make test     create .venv, install, run the whole test suite"
	@echo "make reports  create .venv, install, regenerate canonical data, render study reports"
	@echo "make data     regenerate synthetic_data/ (byte-identical for the same versions)"
	@echo "make teaching render the teaching notebooks to reports/teaching/, student versions to build/teaching/"
	@echo "make bench    speed benchmarks against the anchors (benchmarks/)"
	@echo "make lab      JupyterLab on studies/"
	@echo "make lint     ruff"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(BSTAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	touch $@

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

data: $(STAMP)
	$(BIN)/rmt data --out synthetic_data

teaching: $(STAMP)
	$(BIN)/rmt teaching render --out reports/teaching
	$(BIN)/rmt teaching build --out build/teaching

reports: data teaching
	$(BIN)/rmt reports

bench: $(BSTAMP)
	$(BIN)/python -m benchmarks

lab: $(STAMP)
	$(BIN)/jupyter lab studies

lint: $(STAMP)
	$(BIN)/ruff check toolkit tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
