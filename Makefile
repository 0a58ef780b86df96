# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo playground test test-all bench install install-test chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[playground]'
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(BIN)/deepbasics demo --out reports/demo

# The browser playground on http://127.0.0.1:8000/ (Ctrl-C stops it).
playground: $(VENV)/.installed
	$(BIN)/deepbasics playground

# The playground's browser tests drive Debian's chromium: installed here when missing and root.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else echo "make test needs Chromium for the playground's browser tests: install it (e.g. sudo apt-get install chromium) and run make test again" >&2; exit 1; fi

# The document's golden figures run here; slow end-to-end runs are marked and run by `make test-all`.
test: $(VENV)/.installed-test chromium
	$(BIN)/python -m pytest -q -m "not slow"

test-all: $(VENV)/.installed-test chromium
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
