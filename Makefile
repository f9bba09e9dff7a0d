# arinsight — every target documents itself: `make help` (the default goal) lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KERNEL := arinsight
PERIOD ?= 2026-10
# the sample report shows the last 3 periods, so trends, the archive and the period picker have data
FROM ?= 2026-08
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv report sample run site test lint format lock bench browser java postgres clean-outputs

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv, install the pinned packages and register the Jupyter kernel

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# Quarto is optional: with `quarto` on PATH the site renders with Quarto, else with the built-in renderer.
	@if command -v quarto >/dev/null 2>&1; then \
	  echo "quarto $$(quarto --version) is on PATH: the site renders with Quarto"; \
	else echo "quarto is not on PATH: the site renders with the built-in renderer"; fi
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (arinsight)" >/dev/null
	touch $(STAMP)

sample: venv ## write the embedded sample (CSV + Excel + SQLite) to data/sample
	$(BIN)/arinsight sample --out data/sample

report: venv ## build the sample report site end to end (sample, runs FROM..PERIOD, alerts as a dry run, site)
	$(BIN)/arinsight sample --out data/sample
	$(BIN)/arinsight run --from $(FROM) --to $(PERIOD)
	for p in $$($(BIN)/python -c "import pandas as pd; print(*pd.period_range('$(FROM)', '$(PERIOD)', freq='M'))"); do \
	  $(BIN)/arinsight alerts --period $$p --dry-run || exit 1; done
	$(BIN)/arinsight site

browser: ## install Debian's chromium for the browser tests when it is missing
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

java: ## install Debian's Java for the PySpark engine tests when it is missing
	@command -v java >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null; }

postgres: ## install Debian's PostgreSQL server for the `engine: postgres://` tests when it is missing
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }

lint: venv ## ruff lint and format check
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: venv ## apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

test: venv browser java postgres lint ## run the whole test suite (unit, integration, browser, then every notebook with nbval)
	$(BIN)/pytest -n 2 --dist loadgroup --durations=25 tests
	@# nbval runs the notebooks as shipped, in order, on the embedded sample (01 and 02 write data/processed)
	$(BIN)/arinsight sample --out data/sample
	$(BIN)/pytest --nbval-lax --nbval-current-env notebooks

bench: venv ## benchmark sample + ingest + clean, KPIs, risk; the engine at 1M, 10M and 100M invoices
	$(BIN)/python benchmarks/run_benchmarks.py

lock: ## re-resolve requirements.lock from pyproject.toml (needs a scratch venv)
	rm -rf /tmp/arinsight-lock && $(PYTHON) -m venv /tmp/arinsight-lock
	/tmp/arinsight-lock/bin/pip install --quiet -e '.[test]'
	/tmp/arinsight-lock/bin/pip freeze --exclude-editable | grep -v '^arinsight' > requirements.lock

clean-outputs: ## remove generated data, reports and the site (never inputs you added to data/raw)
	rm -rf data/sample/* data/interim/* data/processed/* reports/2* _site .quarto
