# Two commands do all the set-up on a fresh machine:
#   make run    - install into .venv, load the sample data of six stores and serve the
#                 dashboard at http://127.0.0.1:8000
#   make test   - install into .venv, then lint, type-check and run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
DATA ?= demo-data

.PHONY: run test lint bench clean

run: $(VENV)/.installed
	$(VENV)/bin/stockwatch --data-dir $(DATA) serve --demo

test: $(VENV)/.installed lint
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

bench: $(VENV)/.installed
	$(PY) bench/ingest_bench.py
	$(PY) bench/serve_bench.py

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) $(DATA)
