# Everything a fresh machine needs is installed from here (see .ci/install-system).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-apply test check install clean bench fuzz package zipapp docs-serve

$(STAMP): pyproject.toml .ci/install-system
	bash .ci/install-system
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,package,docs]'
	-$(BIN)/pip install -q -e '.[systemd]'
	touch $(STAMP)

install: $(STAMP)

# deployd's main job: the daemon converging the bundled example repository (a temporary git
# repository, state dir and sandboxed root). Runs until Ctrl-C in a terminal; once elsewhere.
demo: $(STAMP)
	bash docs/daemon-demo.sh

# The same example with the one-shot commands: check, apply --predict, apply twice.
demo-apply: $(STAMP)
	bash docs/examples/demo.sh

# Four test processes, one test module each at a time (module fixtures are built once): most
# tests wait on real servers, daemons and workers rather than on the CPU, so four pay off even
# on two cores. TEST_PROCESSES=0 runs them in this one process.
TEST_PROCESSES ?= 4
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile tests

# The fuzzers of tests/fuzz/ on 20 times as many inputs as `make test` gives them (a few
# minutes); DEPLOYD_FUZZ_SEED=N explores other inputs, and a failure names its seed.
fuzz: $(STAMP)
	DEPLOYD_FUZZ_SCALE=$${DEPLOYD_FUZZ_SCALE:-20} $(BIN)/python -m pytest -q tests/fuzz

check: $(STAMP)
	$(BIN)/ruff check daemon components_runtime tests benchmarks
	$(BIN)/ruff format --check daemon components_runtime tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet -f packaging/mkdocs.yml

# The documentation site on http://127.0.0.1:8000, rebuilt on every change.
docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -f packaging/mkdocs.yml

# dist/deployd_VERSION_ARCH.deb: a self-contained venv in /opt/deployd (docs/packaging.md).
package:
	bash packaging/build-deb dist

# dist/deployd.pyz: one file for any CPython 3.11-3.14 on x86_64 Linux (docs/packaging.md).
zipapp: $(STAMP)
	PYTHON=$(BIN)/python bash packaging/build-zipapp dist/deployd.pyz

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info
