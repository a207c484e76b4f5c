# The front door: `make run` and `make test` set up a fresh machine by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export RUSWF_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run demo test lint typecheck unit bench bench-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: the main job: the HTTP API on an embedded SQLite store (demo data on first run)
run: $(STAMP)
	$(BIN)/ruswf serve --demo

demo: $(STAMP)
	$(BIN)/ruswf demo

## test: lint, type check and every test, PostgreSQL included
test: lint typecheck
	bash scripts/ensure-postgres.sh "$$RUSWF_TEST_DATABASE_URL"
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src projections tests
	$(BIN)/ruff format --check src projections tests

typecheck: $(STAMP)
	$(BIN)/mypy src projections

clean:
	rm -rf $(VENV) build *.egg-info
