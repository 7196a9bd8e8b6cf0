# Everything installs itself into .venv on first use: on a fresh machine with python3 and make,
# `make template` and `make test` are the whole set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: template test lint bench demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q generator  # bytecode, as a pip install writes it, even under PYTHONDONTWRITEBYTECODE
	touch $@

template: $(STAMP)
	$(BIN)/ecrgen template --config ecr.yaml --out templates/ecr.yaml

test: $(STAMP)
	$(BIN)/ruff check generator tests scripts
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python scripts/bench/run.py

demo: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/demo.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
