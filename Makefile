# Two commands a newcomer needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-faults lint bench clean docs test-browser postgres

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: this pin takes the CPU wheel; an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev,nas,yahpo,ray]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lowfi demo

test: $(STAMP) postgres
	$(BIN)/python -m pytest -q

test-slow: $(STAMP) postgres
	$(BIN)/python -m pytest -q -m slow

# fault injection: drivers and workers killed at seeded random moments, then resumed (~1-2 min)
test-faults: $(STAMP)
	$(BIN)/python -m pytest -q -m faults tests/faults

# the documentation site (MkDocs + Material + mkdocstrings) into ./site; warnings fail the build
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# dashboard tests in a real headless browser: Debian's Chromium, driven by Playwright from PyPI
test-browser: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	$(BIN)/python -m pip install -q "playwright>=1.44"
	$(BIN)/python -m pytest -q -m browser tests/dashboard

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff check --select C901 src/lowfi/run  # no function of the run loop above complexity 12
	$(BIN)/mypy  # over src/lowfi, configured in pyproject.toml [tool.mypy]

# PostgreSQL server programs for the shared-storage tests (each test starts and stops its own
# server in a temporary folder); Debian's package, installed when initdb is missing
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; } || \
	  echo "make postgres: could not install PostgreSQL; the tests that need it will fail"

clean:
	rm -rf $(VENV) lowfi-runs build *.egg-info src/*.egg-info
