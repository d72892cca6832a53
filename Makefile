# Elevate tasks. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The test stack: real PostgreSQL and Redis on loopback (see scripts/services.sh).
TEST_ENV := DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/elevate} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	SECRET_KEY=test-only-secret-key-not-for-production-0123456789abcdefghijklmnop \
	ELEVATE_HTTPS=false DJANGO_ALLOW_ASYNC_UNSAFE=true

.PHONY: help install lock run test lint fmt check services bench bench-quick chaos clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# Two locks from pyproject.toml: requirements.lock (runtime: what the Docker image installs) and
# requirements-dev.lock (runtime + tests, lint, types + `make run`'s broker and process runner).
$(STAMP): requirements-dev.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

# Test-only node tools (the OpenID provider the SSO tests sign in through), from package-lock.json.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP) ## Create .venv and node_modules and install the locked dependencies

lock: ## Regenerate both locks after a change to pyproject.toml (keeps every other pin)
	@test -x $(BIN)/uv || $(BIN)/pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra run --python-version 3.11 --generate-hashes -o requirements-dev.lock
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -o requirements.lock

run: $(STAMP) ## Run the portal (embedded: SQLite, demo provider, embedded broker) on http://127.0.0.1:$ELEVATE_PORT (8000)
	@$(BIN)/python manage.py migrate --noinput -v0
	@$(BIN)/python manage.py seed_demo
	@echo; echo "  Elevate is starting on http://127.0.0.1:$${ELEVATE_PORT:-8000}  (Ctrl-C stops every process)"; echo
	@$(BIN)/honcho -f Procfile start

test: install services ## Run the whole test suite on PostgreSQL and Redis (starts them if needed)
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)

services: ## Start PostgreSQL and Redis on 127.0.0.1 if they are not answering
	@bash scripts/services.sh

lint: install ## ruff lint and format check, mypy (django-stubs) on requests_app, portal and elevate_cli, Django checks, missing migrations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run -v0

fmt: install ## Format and autofix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install services ## Benchmarks at full size (100k elevations, 1M audit events; < 10 min); JSON in var/bench/
	@command -v redis-server >/dev/null || { echo "bench: redis-server is missing; installing Debian's redis-server (the bench starts a private one)"; apt-get install -y -q redis-server; }
	$(BIN)/python -m bench --scale full $(BENCH_ARGS)

bench-quick: install services ## The same benchmarks at 1/10 scale, for development
	@command -v redis-server >/dev/null || { echo "bench: redis-server is missing; installing Debian's redis-server (the bench starts a private one)"; apt-get install -y -q redis-server; }
	$(BIN)/python -m bench --scale quick $(BENCH_ARGS)

chaos: install services ## The engine under provider faults and dying workers (< 12 min); JSON in var/chaos/
	@command -v redis-server >/dev/null || { echo "chaos: redis-server is missing; installing Debian's redis-server (the drill starts a private one)"; apt-get install -y -q redis-server; }
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

clean: ## Remove the embedded database, broker data and collected files (var/)
	rm -rf var
