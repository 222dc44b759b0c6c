# The two commands of the README: `make run` (demo gateway) and `make test` (every check).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/gateway demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.http
	$(BIN)/python -m bench.records
	$(BIN)/python -m bench.workers
	$(BIN)/python -m bench.bodies
	$(BIN)/python -m bench.dossiers
	$(BIN)/python -m bench.lookups
	$(BIN)/python -m bench.national

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
