# Two commands do all set-up: `make dev` starts the platform, `make test` runs the tests.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PORT ?= 5000
SANDBOX_PORT ?= 8420
SMTP_PORT ?= 8025
export PORT SANDBOX_PORT SMTP_PORT

.PHONY: dev test lint format bench install clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.installed
	$(PY) scripts/dev.py

test: $(VENV)/.installed
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.installed
	$(PY) bench/support_page.py

clean:
	rm -rf $(VENV) instance test-artifacts .pytest_cache
