# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-all bench install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(BIN)/deepbasics demo --out reports/demo

# The document's golden figures run here; slow end-to-end runs are marked and run by `make test-all`.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m "not slow"

test-all: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

# The engines side by side with PyTorch and the SGEMM ceiling (see BENCHMARKS.md); minutes.
bench: $(VENV)/.installed-test
	$(BIN)/deepbasics bench

clean:
	rm -rf $(VENV) build *.egg-info

.PHONY: docs
# The documentation site (mkdocs-material), built offline in strict mode into site/; the
# walkthrough's examples and the notebooks run during the build.
$(VENV)/.installed-docs: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@

docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site
