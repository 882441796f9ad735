# Two commands do all set-up: `make dev` starts the platform, `make test` runs the tests.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PORT ?= 5000
SANDBOX_PORT ?= 8420
SMTP_PORT ?= 8025
export PORT SANDBOX_PORT SMTP_PORT

.PHONY: dev test lint format bench install messages clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

#: the compiled message catalogues (not committed): one .mo beside each translations/*/.po
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))

install: $(VENV)/.installed $(CATALOGUES)

translations/%.mo: translations/%.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile -i $< -o $@

# After changing reader-facing strings: gather them in translations/messages.pot and
# merge them into every catalogue, whose new entries then need translating.
messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 \
		--add-location=file --sort-by-file --project=donations \
		-o translations/messages.pot .
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations \
		--no-fuzzy-matching --ignore-obsolete

dev: install
	$(PY) scripts/dev.py

#: npm packages the tests use (axe-core) and the source of static/vendor (npm run vendor)
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --silent

test: install node_modules/.package-lock.json
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) bench/support_page.py

clean:
	rm -rf $(VENV) instance test-artifacts .pytest_cache
