# `make up` runs the app (web, Celery worker and beat) with demo data; `make test` runs the test suite,
# e.g. `make test ARGS="tests/oms -x"`. Both first install what changed; oms/launcher.py does the rest.

PYTHON = python3.11
VENV = .venv
# uv installs the pinned packages several times faster than pip (a fresh `make up` in well under a minute).
UV_VERSION = 0.13.9
ARGS =

.PHONY: up test

up: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/python -m oms.launcher up

test: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/python -m oms.launcher test $(ARGS)

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install -q --python $(VENV)/bin/python -e '.[dev]'
	touch $@

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	touch $@
