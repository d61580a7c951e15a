# jaxfire developer commands. `make install` then `make test` set up and verify a fresh machine (CPU JAX).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test test-all bench clean

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[test,geo]"

test:
	$(BIN)/python -m pytest -n 2

test-all:
	$(BIN)/python -m pytest -n 2 -m "slow or not slow"

bench:
	$(BIN)/python -m experiments.throughput --sections grid,baseline --out results/bench-$$(date +%Y%m%d-%H%M%S)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
