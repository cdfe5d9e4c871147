# Hygie — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HYGIE := $(VENV)/bin/hygie
LOCK := requirements.lock
UV_COMPILE := $(VENV)/bin/uv pip compile --quiet pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
	--custom-compile-command "make lock"
export HYGIE_DATA_DIR ?= $(CURDIR)/var

.DEFAULT_GOAL := help
.PHONY: help run demo test test-sqlite test-postgres lint lock messages bench system-deps clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

# Exact versions, hash-checked, from requirements.lock (runtime and dev: `make lock` refreshes
# it); then Hygie itself, editable, without resolving anything; `pip check` tells when
# pyproject.toml asks for something the lock does not hold.
$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	@$(PY) -m pip check || { echo "requirements.lock ne correspond plus à pyproject.toml : lancez make lock" >&2; exit 1; }
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	touch $@

lock: ## Refresh requirements.lock from pyproject.toml (keeps the pins; UPGRADE=1: newest versions)
	@test -x $(VENV)/bin/uv || { $(PYTHON) -m venv $(VENV) && $(PY) -m pip install --quiet uv; }
	$(UV_COMPILE) $(if $(UPGRADE),--upgrade) -o $(LOCK)

run: $(VENV)/.installed ## Install, create the demo practice in ./var if absent, serve it
	HYGIE_ENV=development $(HYGIE) demo --skip-if-real
	HYGIE_ENV=development $(HYGIE) serve

system-deps: ## Debian packages the tests use (Chromium, age, 7z, oathtool, sshd, caddy, nginx)
	@bash scripts/system-deps.sh

test: $(VENV)/.dev-installed system-deps ## Run the whole suite on SQLite, then on PostgreSQL
	@bash scripts/test.sh

test-sqlite: $(VENV)/.dev-installed ## The suite on SQLite only
	$(PY) -m pytest -q

# The dependency audit needs PyPI's vulnerability data: when it cannot be had, it says so and
# does not fail, unless AUDIT=strict (scripts/audit_deps.py, docs/operations.md « Dépendances »).
lint: $(VENV)/.dev-installed ## ruff, migrations, lock up to date, mypy, dependency audit (AUDIT=strict)
	$(VENV)/bin/ruff check hygie tests bench scripts
	HYGIE_ENV=test $(PY) -m django makemigrations --check --dry-run --settings=hygie.settings
	@tmp=$$(mktemp) && cp $(LOCK) $$tmp && $(UV_COMPILE) -o $$tmp && \
	if cmp -s $(LOCK) $$tmp; then rm -f $$tmp; echo "requirements.lock à jour."; \
	else diff $(LOCK) $$tmp | head -20; rm -f $$tmp; \
	echo "requirements.lock ne correspond plus à pyproject.toml : lancez make lock" >&2; exit 1; fi
	HYGIE_ENV=test $(VENV)/bin/mypy
	$(PY) scripts/audit_deps.py $(LOCK) $(if $(filter strict,$(AUDIT)),--strict)

# makemessages runs in hygie/ (paths in the catalogue are relative to it; compilemessages would
# otherwise also walk .venv). Only the English catalogue is regenerated: the French one holds
# hand-written overrides of allauth's wording, and the source strings are already French.
messages: $(VENV)/.installed ## Regenerate and compile translation catalogues
	@tmp=$$(mktemp -d) && cd hygie && \
	export HYGIE_ENV=test HYGIE_DATA_DIR=$$tmp/var HYGIE_KEY_FILE=$$tmp/keys.json && \
	$(CURDIR)/$(VENV)/bin/django-admin makemessages -l en --settings=hygie.settings --ignore "migrations/*" && \
	$(CURDIR)/$(VENV)/bin/django-admin compilemessages -l en -l fr --settings=hygie.settings; \
	rc=$$?; rm -rf "$$tmp"; exit $$rc

bench: $(VENV)/.dev-installed ## Every benchmark, from one commit, into var/bench/<commit>/ (QUICK=1: a short check)
	@bash scripts/bench_all.sh

clean: ## Remove the virtualenv (keeps ./var, your data)
	rm -rf $(VENV) .pytest_cache
