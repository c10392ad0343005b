# Imaginarium for Blender — developer commands. Each target creates .venv first if it is missing.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BLENDER_EXT = $(VENV)/lib/python3.11/site-packages/bpy/4.3/scripts/addons_core/bl_pkg/cli/blender_ext.py
VERSION := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' blender_manifest.toml)
PYTEST_ARGS ?=

.PHONY: venv test extension demo library clean
venv: $(STAMP)

$(STAMP): requirements/dev.txt requirements/dds.txt requirements/constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt -c requirements/constraints.txt
	$(PY) -m pip install -q --no-deps -r requirements/dds.txt -c requirements/constraints.txt
	$(PY) -m pip check || true
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

extension: $(STAMP)
	rm -rf dist && mkdir -p dist
	$(PY) $(BLENDER_EXT) build --source-dir . --output-dir dist
	$(PY) $(BLENDER_EXT) validate dist/imaginarium-$(VERSION).zip
	@echo "built dist/imaginarium-$(VERSION).zip"

# The offline demo: builds the starter library on first use, then runs the whole pipeline (see scripts/demo.py).
demo: $(STAMP)
	$(PY) scripts/demo.py --out out/demo

# The starter library (60 assets), its derived data and template embeddings; each step skips what is there.
library: $(STAMP)
	test -f asset_data/starter_library/imaginarium_asset_info.csv || $(PY) scripts/make_starter_library.py --out asset_data/starter_library --seed 0
	$(PY) scripts/build_library.py --library asset_data/starter_library
	$(PY) -m core.matching.embed_library asset_data/starter_library

clean:
	rm -rf dist out .pytest_cache
