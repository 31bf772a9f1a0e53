# labkit: two commands do everything.
#   make lab   set up, then open JupyterLab on notebooks/ (prints the URL)
#   make test  set up, then run every test (unit, conformance vs tshark, notebooks)
SHELL := /bin/bash
VENV := .venv/bin
PORT ?= 8888
# pytest-xdist workers for make test (JOBS=auto: one per CPU; 0: one process, the default:
# on 2 workers the papermill run of notebook 01 in tests/test_report.py hung twice, see README)
JOBS ?= 0
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: setup lab test data bench clean

setup:
	@bash tools/setup.sh

lab: setup
	$(VENV)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) $(ROOT_FLAG) \
	    --ServerApp.root_dir=$(CURDIR)/notebooks --LabApp.default_url=/lab/tree/00_start_here.ipynb

test: setup
	$(VENV)/python -m pytest -n $(JOBS) --dist loadgroup $(PYTEST_ARGS)

data: setup
	$(VENV)/python -m tools.make_data

bench: setup
	$(VENV)/python -m pip install -q -e ".[bench]"
	$(VENV)/python benchmarks/bench_streams.py
	$(VENV)/python benchmarks/bench_amr.py

clean:
	rm -rf .venv .pytest_cache
