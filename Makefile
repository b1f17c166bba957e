# shugu: `make demo` runs a district on the embedded default; `make test` runs the checks.
# Both set up everything they need from nothing: a virtualenv in .venv with pinned packages.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# ThingsBoard's own MQTT clients, for the conformance tests: a virtualenv of their own, because
# their paho fork would overwrite the paho-mqtt in $(VENV).
TB_VENV  := .venv-tb
TB_STAMP := $(TB_VENV)/.installed-stamp
# Browser assets (Swagger UI, ReDoc) from the npm registry, pinned with their SHA-512 in
# src/shugu/webassets.py and unpacked into a git-ignored folder that the wheel includes.
WEB_DIR   := src/shugu/static/vendor
WEB_STAMP := $(WEB_DIR)/.fetched-stamp
# The demo's ports: make demo DEMO_PORT=8081 DEMO_MQTT_PORT=1884 when these are taken.
DEMO_PORT      ?= 8080
DEMO_MQTT_PORT ?= 1883

.PHONY: install assets demo test lint typecheck unit bench lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(TB_STAMP): requirements-tb.lock
	test -x $(TB_VENV)/bin/python || $(PYTHON) -m venv $(TB_VENV)
	$(TB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TB_VENV)/bin/python -m pip install --quiet -r requirements-tb.lock
	touch $(TB_STAMP)

# npm pack fetches each tarball; shugu.webassets refuses one whose SHA-512 is not the pinned one.
$(WEB_STAMP): src/shugu/webassets.py $(STAMP)
	@command -v npm >/dev/null || { echo "npm is needed to fetch the API docs' assets (Debian: apt-get install npm)"; exit 1; }
	$(BIN)/python -m shugu.webassets
	touch $(WEB_STAMP)

assets: $(WEB_STAMP)

install: $(STAMP) $(WEB_STAMP)

demo: install
	$(BIN)/shugu demo --data demo-data --http-port $(DEMO_PORT) --mqtt-port $(DEMO_MQTT_PORT)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy src

unit: install $(TB_STAMP)
	$(BIN)/pytest -q -n auto --dist loadfile

test: lint typecheck unit

bench: install
	$(BIN)/shugu bench ingest

# Re-pin after changing dependencies in pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]' hatchling
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) $(TB_VENV) $(WEB_DIR) .mypy_cache .ruff_cache .pytest_cache
