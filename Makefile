# Everything a fresh machine needs is installed from here (see .ci/install-system).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check install clean bench

$(STAMP): pyproject.toml
	bash .ci/install-system
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	-$(BIN)/pip install -q -e '.[systemd]'
	touch $(STAMP)

install: $(STAMP)

# deployd's main job on the bundled example repository (sandboxed: nothing outside the checkout is touched).
demo: $(STAMP)
	bash docs/examples/demo.sh

test: $(STAMP)
	$(BIN)/python -m pytest tests

check: $(STAMP)
	$(BIN)/ruff check daemon components_runtime tests benchmarks
	$(BIN)/ruff format --check daemon components_runtime tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info
