# Hygie — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HYGIE := $(VENV)/bin/hygie
export HYGIE_DATA_DIR ?= $(CURDIR)/var

.DEFAULT_GOAL := help
.PHONY: help run demo test test-sqlite test-postgres lint messages bench system-deps clean

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

system-deps: ## Debian packages the tests use (Chromium, age, 7z, oathtool, sshd, caddy, nginx)
	@bash scripts/system-deps.sh

test: $(VENV)/.dev-installed system-deps ## Run the whole suite on SQLite, then on PostgreSQL
	@bash scripts/test.sh

test-sqlite: $(VENV)/.dev-installed ## The suite on SQLite only
	$(PY) -m pytest -q

lint: $(VENV)/.dev-installed ## ruff and missing migrations
	$(VENV)/bin/ruff check hygie tests bench
	HYGIE_ENV=test $(PY) -m django makemigrations --check --dry-run --settings=hygie.settings

# makemessages runs in hygie/ (paths in the catalogue are relative to it; compilemessages would
# otherwise also walk .venv). Only the English catalogue is regenerated: the French one holds
# hand-written overrides of allauth's wording, and the source strings are already French.
messages: $(VENV)/.installed ## Regenerate and compile translation catalogues
	@tmp=$$(mktemp -d) && cd hygie && \
	export HYGIE_ENV=test HYGIE_DATA_DIR=$$tmp/var HYGIE_KEY_FILE=$$tmp/keys.json && \
	$(CURDIR)/$(VENV)/bin/django-admin makemessages -l en --settings=hygie.settings --ignore "migrations/*" && \
	$(CURDIR)/$(VENV)/bin/django-admin compilemessages -l en -l fr --settings=hygie.settings; \
	rc=$$?; rm -rf "$$tmp"; exit $$rc

bench: $(VENV)/.dev-installed ## Benchmarks (not part of the tests)
	@for b in bench/bench_*.py; do [ -e "$$b" ] && $(PY) $$b; done; true

clean: ## Remove the virtualenv (keeps ./var, your data)
	rm -rf $(VENV) .pytest_cache
