# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make run    install into .venv, migrate, seed the demo, serve http://127.0.0.1:8000
#   make test   install the dev dependencies too, then run the whole suite
#   make serve  production mode (DEBUG off): migrate, collect static files, then the web server
#               (gunicorn) and the worker with its schedule (django-q2) under honcho (Procfile)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000

.PHONY: run test lint install install-dev serve bench-load bench-writes install-bench

run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(HOST)

# Reads the same environment as `make run` (README "Production"), with DEBUG off.
serve: export DEBUG = false
serve: export HOST := $(HOST)
serve: export PATH := $(CURDIR)/$(BIN):$(PATH)
serve: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/honcho start --no-prefix --procfile Procfile --env /dev/null

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-bench: $(VENV)/.installed-bench

# The mixed-load test against production mode on PostgreSQL (bench/load.py; README).
bench-load: install-bench
	$(BIN)/python bench/load.py $(BENCH_ARGS)

# The write benchmark on PostgreSQL (bench/writes.py; README); PEER_PYTHON=<a venv's python
# with django-auditlog> measures the peer beside it.
bench-writes: install-bench
	$(BIN)/python bench/writes.py $(if $(PEER_PYTHON),--peer-python $(PEER_PYTHON)) $(BENCH_ARGS)

# Re-installs only when pyproject.toml changes, so the second run is fast.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@
