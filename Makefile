# Two commands a new machine needs: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.lock | cut -c1-12)
PORT ?= 8501
# `make run` listens on this machine only; ADDRESS=0.0.0.0 serves the network (behind deploy/nginx.conf).
ADDRESS ?= 127.0.0.1

.PHONY: run test test-fast bench demo export clean

$(STAMP): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m reformkpi demo --if-missing
	$(BIN)/python -m reformkpi papi --if-missing

run: demo
	$(BIN)/streamlit run serve.py --server.port $(PORT) --server.address $(ADDRESS)

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not browser"

# A snapshot's page as files: make export SNAPSHOT=ID FORMAT=pptx,pdf [OUT=dir]
export: $(STAMP)
	$(BIN)/python -m app_export --snapshot $(SNAPSHOT) --format $(FORMAT) --out $(or $(OUT),.)

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH)

clean:
	rm -rf $(VENV) data/store test-output bench-output
