# Party-building collaboration zones — the two commands a newcomer types:
#   make run    the whole system on the local real Kafka + FerretDB, playing the demo month
#   make test   unit + integration tests on the real broker and server
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-8)
INFRA := deploy/local/infra.sh
SERVICES := deploy/local/services.sh
WEB := deploy/local/web.sh
PYTEST_ARGS ?= -q
DEMO_ARGS ?=

.PHONY: help venv infra-up infra-down infra-status infra-clean test test-unit test-integration lint fmt \
        run services-up services-down up down demo bench compose-config web-assets browser

help:
	@grep -E '^[a-z-]+:.*?## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e ".[dev]"
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## create the virtualenv and install the project (once per pyproject change)

web-assets: ## the web app's ECharts from the npm registry (npm ci, once per package-lock.json)
	@$(WEB) assets

browser: ## Chromium and a CJK font from Debian's packages (the web app's end-to-end tests)
	@$(WEB) browser

infra-up: venv ## start local Kafka (KRaft) + FerretDB; fetch/build on first use
	@$(INFRA) up

infra-down: ## stop local Kafka + FerretDB
	@$(INFRA) down

infra-status:
	@$(INFRA) status

infra-clean: ## stop local infra and delete its data
	@$(INFRA) clean

test: venv web-assets browser ## everything: unit + integration on the real broker and server
	@$(INFRA) up
	@status=0; $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; $(INFRA) down; exit $$status

test-unit: venv ## unit tests only (no infrastructure)
	$(PY) -m pytest $(PYTEST_ARGS) tests/unit

test-integration: venv web-assets browser infra-up ## integration tests only (leaves infra running)
	$(PY) -m pytest $(PYTEST_ARGS) tests/integration

lint: venv ## ruff + mypy
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy shared services

fmt: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

run: venv web-assets ## the whole system in the foreground, playing the demo month (Ctrl-C stops all)
	@echo "make run replays the demo month on fresh local data (previous .local Kafka/FerretDB data is reset)"
	@$(INFRA) clean >/dev/null
	@$(INFRA) up
	@$(SERVICES) foreground

demo: venv ## the month as fast as possible, then the report checked against ground truth (exit 1 on mismatch)
	@$(INFRA) clean >/dev/null
	@$(INFRA) up
	@$(SERVICES) up
	@status=0; $(PY) -m services.simulator demo --json .local/demo-report.json $(DEMO_ARGS) || status=$$?; \
	  $(SERVICES) down; exit $$status

bench: venv ## figures of issue 17: the demo month, the raw/batched pipe, each service's rate, permit latency, RSS
	@bash bench/run.sh

services-up: venv web-assets infra-up ## every service in the background (pid files under .local/run)
	@$(SERVICES) up

services-down: ## stop background services
	@$(SERVICES) down

compose-config: ## validate docker-compose.yml (needs a docker CLI with compose)
	docker compose config --quiet

up: ## docker compose: Kafka, MongoDB, topic init, the four services
	docker compose up -d --build

down:
	docker compose down
