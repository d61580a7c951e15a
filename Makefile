# jaxfire developer commands. `make install` then `make test` set up and verify a fresh machine (CPU JAX).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The real simulator, for the throughput suite's comparison column only (numpy 1.26, so a venv of its own).
REFERENCE_VENV ?= .venv-reference
PYRETECHNICS_PINS := "numpy==1.26.*" "pyretechnics==2026.10.20"

.PHONY: install test test-all bench reference-env clean

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[test,geo]"

test:
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-all:
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "slow or not slow"

bench:
	$(BIN)/python -m experiments.throughput --sections grid,pyretechnics,baseline --out results/bench-$$(date +%Y%m%d-%H%M%S)

# Idempotent: the stamp file is written last, so a finished environment is left alone and a failed one is retried.
reference-env: $(REFERENCE_VENV)/.installed

$(REFERENCE_VENV)/.installed:
	$(PYTHON) -m venv $(REFERENCE_VENV)
	$(REFERENCE_VENV)/bin/python -m pip install --upgrade pip
	$(REFERENCE_VENV)/bin/python -m pip install $(PYRETECHNICS_PINS)
	$(REFERENCE_VENV)/bin/python -c "import numpy, pyretechnics.eulerian_level_set; print('pyretechnics ready, numpy', numpy.__version__)"
	touch $@

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
