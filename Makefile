# Set-up and everyday commands. `make test` is all a new clone needs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?= -n 2

.DEFAULT_GOAL := help

.PHONY: help
help:
	@echo "make test    create .venv, install, run the test suite (DATABASE_URL picks the database)"
	@echo "make demo    the whole mechanism end to end against the emulator, with a report"
	@echo "make chaos   10,000 changes under faults and killed workers on PostgreSQL; checks convergence"
	@echo "make run     the service (web, worker, sweeper, reconciler) until Ctrl-C"
	@echo "make bench   ingest, freshness, Zuora calls, import rate: a table and var/bench/*.json (BENCH_DB, BENCH_SIZE)"
	@echo "make lint    ruff lint and format check, and a check for missing migrations"
	@echo "make lock    re-resolve constraints.txt from pyproject.toml"

# The venv is rebuilt when its interpreter is missing or too old, and the
# project reinstalled only when the declared or locked dependencies change.
$(INSTALLED): pyproject.toml constraints.txt
	@if ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		python=$$(scripts/find-python) || exit 1; \
		echo "Creating $(VENV) with $$python"; \
		rm -rf $(VENV); \
		"$$python" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

.PHONY: install
install: $(INSTALLED)

.PHONY: test
test: $(INSTALLED)
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: demo
demo: $(INSTALLED)
	$(PY) -m launcher.demo $(DEMO_ARGS)

.PHONY: chaos
chaos: $(INSTALLED)
	$(PY) -m launcher.chaos $(CHAOS_ARGS)

.PHONY: run
run: $(INSTALLED)
	$(PY) -m launcher.run $(RUN_ARGS)

# PostgreSQL at 127.0.0.1 by default (BENCH_DB=sqlite for the embedded database);
# sizes from BENCH_* variables, BENCH_SIZE=tiny for a smoke run. docs/performance.md.
.PHONY: bench
bench: $(INSTALLED)
	$(PY) -m bench

.PHONY: lint
lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

.PHONY: lock
lock: $(INSTALLED)
	$(VENV)/bin/pip-compile --quiet --all-extras --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links --output-file constraints.txt pyproject.toml
	@# The project comes in again through its own extras, as a path on this machine.
	sed -i '/^zuora-sync @ /d' constraints.txt
