# `make run` serves Folio on http://127.0.0.1:8000 with the embedded database; `make test` runs every test.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/folio serve

test: $(STAMP)
	$(BIN)/pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/api_overhead.py
	$(BIN)/python bench/api_layers.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/retrieval_eval.py
	$(BIN)/python bench/records.py
	$(BIN)/python bench/hardening.py
	$(BIN)/python bench/events.py
	$(BIN)/python bench/cases.py
	$(BIN)/python bench/analytics.py
	$(BIN)/python bench/sync.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
