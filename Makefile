# webmap: `make run` serves the demo on http://127.0.0.1:8000, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
export WEBMAP_DATA_DIR ?= $(CURDIR)/data
export WEBMAP_LAYERS_DIR ?= $(CURDIR)/layers
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run demo test lint bench clean

$(BIN)/webmap: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/webmap

demo: install
	$(BIN)/webmap demo

run: demo
	$(BIN)/gunicorn --config docker/gunicorn.conf.py --bind $(HOST):$(PORT) 'webmap.app:create_app()'

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/pip install --quiet ruff mypy
	$(BIN)/ruff check webmap tests benchmarks
	$(BIN)/mypy

# Needs the peers and the bench client venv set up as benchmarks/README.md says.
BENCH ?= /tmp/bench
bench: install
	../shared/bench/serve.sh start
	bash benchmarks/serve_webmap.sh start
	$(BENCH)/venv-data/bin/python benchmarks/run_bench.py --rounds 3; status=$$?; \
	bash benchmarks/serve_webmap.sh stop; ../shared/bench/serve.sh stop; exit $$status

clean:
	rm -rf $(VENV) data .pytest_cache
