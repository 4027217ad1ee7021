# webmap: `make run` serves the demo on http://127.0.0.1:8000, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
export WEBMAP_DATA_DIR ?= $(CURDIR)/data
export WEBMAP_LAYERS_DIR ?= $(CURDIR)/layers
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install vendor run demo test lint docs bench clean

# npm packages (package-lock.json) that webmap serves itself, copied into the Python package.
NPM_VENDOR = webmap/widget/vendor
$(NPM_VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(NPM_VENDOR) && mkdir -p $(NPM_VENDOR)/proj4 $(NPM_VENDOR)/proj4leaflet
	cp node_modules/proj4/dist/proj4.js node_modules/proj4/package.json \
	   node_modules/proj4/LICENSE.md $(NPM_VENDOR)/proj4/
	cp node_modules/proj4leaflet/src/proj4leaflet.js node_modules/proj4leaflet/package.json \
	   node_modules/proj4leaflet/LICENSE $(NPM_VENDOR)/proj4leaflet/
	touch $@

vendor: $(NPM_VENDOR)/.installed

$(BIN)/webmap: pyproject.toml $(NPM_VENDOR)/.installed
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

docs: install
	$(BIN)/python -m webmap.readme README.md || true

lint: install
	$(BIN)/pip install --quiet ruff mypy pandas-stubs
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
	rm -rf $(VENV) data .pytest_cache node_modules $(NPM_VENDOR)
