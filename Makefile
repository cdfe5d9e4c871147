# Hygie — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HYGIE := $(VENV)/bin/hygie
export HYGIE_DATA_DIR ?= $(CURDIR)/var

.DEFAULT_GOAL := help
.PHONY: help run demo test test-sqlite test-postgres lint bench system-deps clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed ## Install, create the demo practice in ./var if absent, serve it
	HYGIE_ENV=development $(HYGIE) demo --skip-if-real
	HYGIE_ENV=development $(HYGIE) serve

system-deps: ## Debian packages the tests use (Chromium, age, 7z, oathtool, sshd)
	@bash scripts/system-deps.sh

test: $(VENV)/.dev-installed system-deps ## Run the whole suite on SQLite, then on PostgreSQL
	@bash scripts/test.sh

test-sqlite: $(VENV)/.dev-installed ## The suite on SQLite only
	$(PY) -m pytest -q

lint: $(VENV)/.dev-installed ## ruff and missing migrations
	$(VENV)/bin/ruff check hygie tests bench
	HYGIE_ENV=test $(PY) -m django makemigrations --check --dry-run --settings=hygie.settings

bench: $(VENV)/.dev-installed ## Benchmarks (not part of the tests)
	@for b in bench/bench_*.py; do [ -e "$$b" ] && $(PY) $$b; done; true

clean: ## Remove the virtualenv (keeps ./var, your data)
	rm -rf $(VENV) .pytest_cache
