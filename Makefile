# The one task runner: CI calls the same targets a person does.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: help venv install-dev demo test gate lint format typecheck bench clean

help:
	@echo "make demo   - create the virtualenv and serve the example service on :8000"
	@echo "make test   - install dev dependencies and run the whole test suite"
	@echo "make gate   - ruff (lint + format check), mypy --strict, tests with coverage >= 95%"
	@echo "make bench  - run the benchmarks (ours and the reference, side by side)"
	@echo "make bench MODE=callgrind - the same, as instructions per operation (deterministic)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[fastapi,litestar,server,observability,auth,sql,settings,realtime]'
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(DEMO_STAMP)

install-dev: $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python -m examples.service

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

gate: lint typecheck
	$(BIN)/python -m pytest --cov --cov-report=term-missing

# MODE=callgrind counts instructions per operation under valgrind: the same figures on every
# run, unlike wall-clock rates on a shared machine (ADR 0066).
MODE ?= wallclock

bench: $(STAMP)
ifeq ($(MODE),callgrind)
	command -v valgrind >/dev/null || (apt-get update -qq && apt-get install -y -qq valgrind)
	$(BIN)/python -m benchmarks --callgrind
else
	$(BIN)/python -m benchmarks
endif

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
