# tsunagu — everything a fresh machine needs, from Python 3.11+ and git.
# make demo   load the demo data into ./tsunagu.db and serve (ARGS=--no-serve: summary only)
# make test   unit, integration, API and PostgreSQL tests (CI=true makes a missing PostgreSQL fatal)
# make bench  every benchmark in one table, tsunagu against a reference (ARGS=--quick: minutes)

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then \
	echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ARGS ?=
PYTEST_ARGS ?=

.PHONY: help venv demo serve test test-fast lint format bench clean browser

help:
	@echo "make demo | serve | test | lint | bench (ARGS=--quick) | clean"

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "tsunagu needs Python 3.11 or newer on PATH"; exit 1; fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/tsunagu demo run $(ARGS)

serve: venv
	$(BIN)/tsunagu serve $(ARGS)

# Debian's Chromium and Japanese fonts for the browser tests; installed only when missing.
browser:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then :; else \
	  echo "installing Debian's chromium and fonts-noto-cjk for the browser tests"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    chromium fonts-noto-cjk fontconfig >/dev/null && echo "browser installed"; \
	fi

test: venv browser
	$(BIN)/python -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

test-fast: venv
	$(BIN)/python -m pytest -n auto -m "not slow" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	PYTHONPATH=scripts $(BIN)/lint-imports --no-cache

format: venv
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

# make bench: every benchmark in one table (python -m benchmarks); ARGS go to it, e.g.
# ARGS=--quick (a few minutes), ARGS="--json", ARGS="--save DIR", ARGS="--only health"
bench: venv
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info
