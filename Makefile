# The front door: `make run` and `make test` set up a fresh machine by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export RUSWF_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: help run demo test lint typecheck bench bench-quick bench-smoke clean
.DEFAULT_GOAL := help

## help: this list of targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed -e 's/^## /  /' -e 's/: /\t/' | expand -t 16

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: the main job: the HTTP API on an embedded SQLite store (demo data on first run)
run: $(STAMP)
	$(BIN)/ruswf serve --demo

## demo: load the demo into the configured store
demo: $(STAMP)
	$(BIN)/ruswf demo

## test: lint, type check and every test, PostgreSQL included, with the coverage floor
test: lint typecheck
	bash scripts/ensure-postgres.sh "$$RUSWF_TEST_DATABASE_URL"
	bash scripts/ensure-chromium.sh
	$(BIN)/pytest -q --cov --cov-report=term

## lint: ruff (lint and format check)
lint: $(STAMP)
	$(BIN)/ruff check src projections tests bench
	$(BIN)/ruff format --check src projections tests bench

## typecheck: mypy --strict
typecheck: $(STAMP)
	$(BIN)/mypy src projections bench

## bench: every benchmark at full size (~1.5 M events; minutes). Not part of `make test`.
bench: $(STAMP)
	bash scripts/ensure-postgres.sh "$$RUSWF_TEST_DATABASE_URL"
	$(BIN)/python -m bench.run --size full

## bench-quick: every benchmark at a small size (about a minute)
bench-quick: $(STAMP)
	bash scripts/ensure-postgres.sh "$$RUSWF_TEST_DATABASE_URL"
	$(BIN)/python -m bench.run --size quick

## bench-smoke: each benchmark once at a tiny size, so they cannot rot (CI runs it)
bench-smoke: $(STAMP)
	bash scripts/ensure-postgres.sh "$$RUSWF_TEST_DATABASE_URL"
	$(BIN)/python -m bench.run --size smoke

## clean: remove the virtual environment and build output
clean:
	rm -rf $(VENV) build *.egg-info
