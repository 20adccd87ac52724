# Two commands do all the set-up on a fresh machine:
#   make run    - install into .venv, load the sample data of six stores and serve the
#                 dashboard at http://127.0.0.1:8000 (PORT=, DATA= to change them)
#   make test   - install into .venv, then lint, type-check and run the whole test suite
#                 (tests/unit, tests/contract on SQLite and AWS-on-moto, tests/e2e,
#                 tests/reliability); `make test-fast` runs unit + contract on SQLite
VENV ?= .venv
CHECKOV_VENV ?= .venv-checkov
PY := $(VENV)/bin/python
DATA ?= demo-data
PORT ?= 8000

.PHONY: run test test-fast lint bench clean audit

# Running needs only stockwatch and what it runs on, not the test and lint tools.
# `make run PORT=8123 DATA=elsewhere`: another port, another data folder.
run: $(VENV)/.runtime
	$(VENV)/bin/stockwatch --data-dir $(DATA) serve --demo --port $(PORT)

test: $(VENV)/.installed lint
	$(PY) -m pytest

# Core and service on in-memory fakes, and the contract suite on SQLite: well under a minute.
test-fast: $(VENV)/.installed
	$(PY) -m pytest tests/unit tests/contract -k "not aws" -q

lint: $(VENV)/.installed $(CHECKOV_VENV)/.installed node_modules/.installed
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	# The dashboard's ES modules (eslint.config.mjs), with the linter from the npm registry.
	node_modules/.bin/eslint src/stockwatch/web/static
	$(VENV)/bin/cfn-lint infra/template.yaml
	# checkov: its skips, each with its reason, are in the template (Metadata: checkov).
	# --skip-download: no guidelines fetched from Prisma Cloud (no traffic but the registry).
	$(CHECKOV_VENV)/bin/checkov -f infra/template.yaml --framework cloudformation \
		--compact --quiet --skip-download

# Known vulnerabilities in what the functions and the app install (pip-audit, PyPI's
# advisory data), with a cache in .cache/pip-audit for a second run. Not part of `lint`:
# where the registry serves no advisory data it can only say "could not be audited".
audit: $(VENV)/.installed
	$(VENV)/bin/pip-audit --cache-dir .cache/pip-audit -r src/requirements.txt \
		-r src/requirements-stream.txt

bench: $(VENV)/.installed
	$(PY) bench/ingest_bench.py
	$(PY) bench/serve_bench.py
	$(PY) bench/dynamodb_bench.py

# The JavaScript linter only: the dashboard itself needs no build step and no npm.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# checkov in a venv of its own: it pins many packages that our dev tools also use.
$(CHECKOV_VENV)/.installed:
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov>=3.2'
	touch $@

$(VENV)/.runtime: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(DATA) node_modules
