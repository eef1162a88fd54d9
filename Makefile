# NNTSC: make help lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
INI    ?= development.ini

.DEFAULT_GOAL := help
.PHONY: lock help venv schema migration demo demo-data serve test test-unit test-js services lint format bench clean protos

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "} {printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/nntsc: setup.cfg pyproject.toml requirements/test.txt
	bin/bootstrap-venv.sh $(PYTHON) $(VENV)
	@touch $@

# setup.py's Cython builds (the install makes them): compiled again when a source in its
# COMPILED list (named here too) or setup.py changes.
COMPILED_STAMP := build/cython/compiled.stamp
$(COMPILED_STAMP): nntsc/sysdig/_scan.py nntsc/events/_detectors.py setup.py | $(BIN)/nntsc
	$(BIN)/python setup.py -q build_ext --inplace
	@mkdir -p $(@D) && touch $@

lock: ## Pin every dependency with hashes (requirements/*.txt) from setup.cfg's ranges
	bin/lock-requirements.sh $(VENV)

venv: $(BIN)/nntsc $(COMPILED_STAMP) ## Create the virtualenv and install the project (compiled) with its test tools

schema: venv ## Create or migrate the schema of the stores named in INI (default development.ini)
	$(BIN)/nntsc db upgrade -c $(INI)

migration: venv ## Write the next migration from the models: make migration MSG="what it changes"
	@test -n "$(MSG)" || { echo 'usage: make migration MSG="what it changes"' >&2; exit 2; }
	$(BIN)/nntsc db revision -m "$(MSG)"

demo: venv ## Set up the embedded default, load the simulated AMP mesh once, serve on 127.0.0.1:6543
	bin/demo.sh $(BIN) $(INI)

demo-data: venv ## Load (again) the simulated mesh into INI's stores
	$(BIN)/nntsc demo-data -c $(INI) --sites 10 --days 7

serve: venv ## Serve the web app from INI without loading data
	$(BIN)/pserve $(INI)

services: ## Install (as root, when missing) and start PostgreSQL, Redis, RabbitMQ, InfluxDB; install Chromium
	deploy/services.sh ensure

test: venv services ## Everything the tests need, then the whole suite (unit, integration, browser)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/nntsc db check
	$(MAKE) --no-print-directory test-js
	$(BIN)/pytest -q --cov --cov-report=term

test-unit: venv ## Only the tests that need no server
	$(BIN)/pytest -q tests/unit

test-js: ## ESLint (pinned in package.json, installed into node_modules) and node's tests of ampweb/static/js (tests/js); skipped without node
	bin/test-js.sh

lint: venv ## ruff check, ruff format --check and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv ## ruff format
	$(BIN)/ruff format .

protos: venv ## Regenerate nntsc/wire/*_pb2.py from the .proto files
	bin/gen-protos.sh $(BIN)/python

bench: venv services ## Benchmarks against the bare stores; prints figures and ratios
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py

clean: ## Remove the virtualenv and build leftovers (keeps var/ data)
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache node_modules
	find nntsc -name "*.so" -delete
