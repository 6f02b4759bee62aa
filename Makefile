# Two commands a new machine needs: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# One stamp per lock: `make run` installs the runtime lock only, `make test` the test lock on top.
STAMP := $(VENV)/.installed-$(shell cat requirements.lock | sha256sum | cut -c1-12)
TEST_STAMP := $(VENV)/.installed-test-$(shell cat requirements.lock requirements-test.lock | sha256sum | cut -c1-12)
PORT ?= 8501
# `make run` listens on this machine only; ADDRESS=0.0.0.0 serves the network (behind deploy/nginx.conf).
ADDRESS ?= 127.0.0.1

# The checkout keeps its demo stores beside the code (elsewhere the settings' defaults apply).
DEV_STORES := REFORMKPI_STORE=$${REFORMKPI_STORE:-$(CURDIR)/data/store} REFORMKPI_PAPI_STORE=$${REFORMKPI_PAPI_STORE:-$(CURDIR)/data/papi-store}

.PHONY: run lint test test-fast bench demo export clean

$(STAMP): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(TEST_STAMP): $(STAMP) requirements-test.lock
	$(BIN)/pip install --quiet -r requirements-test.lock
	rm -f $(VENV)/.installed-test-*
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(DEV_STORES) $(BIN)/python -m reformkpi demo --if-missing
	$(DEV_STORES) $(BIN)/python -m reformkpi papi --if-missing

run: demo
	$(DEV_STORES) $(BIN)/streamlit run serve.py --server.port $(PORT) --server.address $(ADDRESS)

# Lint and type-check first: `make test` fails on a finding before any test runs (pyproject.toml).
lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Two processes, the machine's two cores; a process that runs out of tests takes some of the other's.
# The 25 longest tests are listed at the end, to see where the time goes.
test: lint
	$(BIN)/python -m pytest -n 2 --dist worksteal --durations=25

# Leaves out the browser tests and those marked slow (over ~10 s each).
test-fast: lint
	$(BIN)/python -m pytest -n 2 --dist worksteal -m "not browser and not slow"

# A snapshot's page as files: make export SNAPSHOT=ID FORMAT=pptx,pdf [OUT=dir]
export: $(STAMP)
	$(DEV_STORES) $(BIN)/python -m app_export --snapshot $(SNAPSHOT) --format $(FORMAT) --out $(or $(OUT),.)

bench: $(TEST_STAMP)
	$(BIN)/python -m benchmarks $(BENCH)

clean:
	rm -rf $(VENV) data/store data/papi-store test-output bench-output site
