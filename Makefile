# The two commands a fresh clone needs: `make test` and `make reports`.
# Each creates .venv on first use and reinstalls when pyproject.toml or constraints.txt
# changes. Installs are pinned by constraints.txt (the environment the canonical reports
# were made with); `make lock` refreshes it. pyproject.toml keeps open ranges for users.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
BSTAMP := $(VENV)/.installed-bench
PYTEST_WORKERS ?= 2
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
LOCK   := constraints.txt

.PHONY: help venv test verify-reports reports data teaching bench lab lint lock clean

help:
	@echo "make test     create .venv, install (pinned), run the whole test suite"
	@echo "make verify-reports  re-run every committed canonical report at full size; rmt verify must pass"
	@echo "make reports  create .venv, install (pinned), regenerate canonical data, render study reports"
	@echo "make data     regenerate synthetic_data/ (byte-identical for the same versions)"
	@echo "make teaching render the teaching notebooks to reports/teaching/, student versions to build/teaching/"
	@echo "make bench    speed benchmarks against the anchors (benchmarks/)"
	@echo "make lab      JupyterLab on the study and teaching notebooks (toolkit/data/)"
	@echo "make lint     ruff check, ruff format --check, mypy"
	@echo "make lock     refresh constraints.txt from a fresh resolve of pyproject.toml"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP) --upgrade pip
	$(PIP) -c $(LOCK) -e '.[dev]'
	touch $@

$(BSTAMP): pyproject.toml $(LOCK) $(STAMP)
	$(PIP) -c $(LOCK) -e '.[dev,bench]'
	touch $@

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

verify-reports: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -m canonical tests/test_runner.py

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
	$(BIN)/jupyter lab toolkit/data

lint: $(STAMP)
	$(BIN)/ruff check toolkit tests benchmarks scripts
	$(BIN)/ruff format --check toolkit tests benchmarks scripts
	$(BIN)/mypy toolkit

# A fresh resolve of the open ranges (newest versions), frozen. Re-render the canonical
# reports afterwards (make reports) so their manifests record the new versions.
lock: | $(BIN)/python
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check '.[dev,bench]'
	{ echo "# Pinned environment of the canonical reports, make test and CI (pip constraints file)."; \
	  echo "# Made by 'make lock' (pip freeze of a fresh venv with .[dev,bench]); pyproject.toml keeps"; \
	  echo "# open ranges for library users."; \
	  .lock-venv/bin/python -m pip freeze --disable-pip-version-check --exclude reverse-mentoring-toolkit; \
	} > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
