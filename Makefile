# make test  : create .venv, install the project with its dev extras, run ruff and mypy, then pytest beside the
#              version matrix (scripts/matrix.py: lowest and newest Python x pulumi, venvs in .venv-matrix/)
# make demo  : the quickstart stack against the bundled emulator: `pulumi up`/`destroy` with the Pulumi CLI,
#              else (no CLI and no installer) the same program as a dry run (`ims-provider try`)
# make try EXAMPLE=<name> : run examples/<name> with no Pulumi CLI (mock runtime, real provider, emulator)
# make bench : run the benchmarks (markdown table + PNG plot in benchmarks/results/)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
MATRIX_ARGS ?=

.PHONY: test lint typecheck unit matrix matrix-venvs demo try bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(VENV)/.installed
	$(PY) -m mypy

unit: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

matrix: $(VENV)/.installed
	$(PY) scripts/matrix.py $(MATRIX_ARGS)

matrix-venvs: $(VENV)/.installed
	$(PY) scripts/matrix.py --prepare

# The main suite and the matrix runs mostly wait on emulated jobs, so they run side by side (the matrix shows
# its runs' output when they end); the venvs are built first, since `pip install -e .` and the wheel test
# both build in the source tree.
test: lint typecheck matrix-venvs
	$(MAKE) --no-print-directory -j2 unit matrix MATRIX_ARGS=--prepared

demo: $(VENV)/.installed
	bash scripts/demo.sh

EXAMPLE ?= quickstart
try: $(VENV)/.installed
	$(VENV)/bin/ims-provider try examples/$(EXAMPLE)

bench: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .venv-matrix .mypy_cache .ruff_cache .pytest_cache
