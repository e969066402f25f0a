# `make up` runs the app (web, Celery worker and beat) with demo data; `make test` runs the test suite,
# e.g. `make test ARGS="tests/oms -x"`. Both first install what changed; oms/launcher.py does the rest.

PYTHON = python3.11
VENV = .venv
ARGS =

.PHONY: up test

up: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/python -m oms.launcher up

test: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/python -m oms.launcher test $(ARGS)

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -e '.[dev]'
	touch $@

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	touch $@
