# Studio Ledger: `make run` starts the embedded service, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Prints where it answers, the data folder and the command that prints a token; `make run PORT=8002 HOST=0.0.0.0`.
run: $(STAMP)
	$(BIN)/studio-ledger serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest -m unit

bench: $(STAMP)
	$(BIN)/python bench/ledger_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data
