# `make up` runs the app (web, Celery worker and beat) with demo data; `make test` runs the test suite,
# e.g. `make test ARGS="tests/oms -x"`. Both first install what changed; oms/launcher.py does the rest.

PYTHON = python3.11
VENV = .venv
# uv installs the pinned packages several times faster than pip.
UV_VERSION = 0.13.9
UV = $(VENV)/bin/uv
ARGS =
# The Python packages and the npm package install side by side.
MAKEFLAGS += -j2

.PHONY: up test

# `up` needs only what the app runs on; the test, lint and benchmark tools come with the first `make test`.
up: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/python -m oms.launcher up

test: $(VENV)/.installed-dev node_modules/.installed
	$(VENV)/bin/python -m oms.launcher test $(ARGS)

# A venv without pip of its own (ensurepip costs seconds); the system's pip puts uv in it, or, where there
# is no such pip (or it is older than 22.3), the venv's own pip does.
$(UV):
	test -x $(VENV)/bin/python || $(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(VENV)/bin/python install -q --disable-pip-version-check uv==$(UV_VERSION) \
	  || { $(VENV)/bin/python -m ensurepip -q && \
	       $(VENV)/bin/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION); }

# Compiled once here, on every core, rather than by each of the first processes (all of them when
# PYTHONDONTWRITEBYTECODE is set).
$(VENV)/.installed: pyproject.toml | $(UV)
	$(UV) pip install -q --compile-bytecode --python $(VENV)/bin/python -e .
	touch $@

# The development extras include everything `up` needs, so `make up` after `make test` installs nothing.
$(VENV)/.installed-dev: pyproject.toml | $(UV)
	$(UV) pip install -q --compile-bytecode --python $(VENV)/bin/python -e '.[dev]'
	touch $(VENV)/.installed $@

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	touch $@
