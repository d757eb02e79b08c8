# `make run` serves Folio on http://127.0.0.1:8000 with the embedded database; `make test` runs every test.
# Both install exactly what uv.lock says (hashes checked): `make run` the runtime dependencies, `make test` the dev
# ones too. `make lock` moves the lock to the newest releases the ranges in pyproject.toml allow.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
UV := .uv/bin/uv
# uv installs into the project's .venv with the machine's Python; it never downloads an interpreter.
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
RUNTIME := $(VENV)/.runtime-stamp
DEV := $(VENV)/.dev-stamp

.PHONY: run test lint format bench contract lock clean

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --inexact: `make run` after `make test` keeps the dev tools.
$(RUNTIME): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --no-dev --inexact
	touch $@

$(DEV): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	touch $@ $(RUNTIME)

run: $(RUNTIME)
	$(BIN)/folio serve

test: $(DEV)
	$(BIN)/pytest -n 2

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(DEV)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(DEV)
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
	$(BIN)/python bench/scaleout.py

# Schemathesis --checks all, every phase, 100 examples per operation, against a live server (~45 min here).
contract: $(DEV)
	$(BIN)/python -m tests.contract.live --max-examples 100

lock: $(UV)
	$(UV) lock --upgrade

clean:
	rm -rf $(VENV) .uv .mypy_cache .ruff_cache .pytest_cache
