# AWS Auto-Discovery. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/venv/bin/uv)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 1
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
SERVICES := inventory-scanner:scanner.__main__ inventory-ddb-projector:ddb_projector.handler \
            inventory-lake-writer:lake_writer.handler inventory-archiver:archiver.handler \
            inventory-api:inventory_api.handler inventory-cli:inventory_cli.main
DEMO_ARGS ?=
WORKSPACE_PACKAGES := shared/events shared/core shared/lake services/scanner services/ddb_projector services/lake_writer \
                      services/archiver services/api cli infra
# Benchmarks run ahead of other work on the machine (benchmarks/quiet.sh: as root, autogroup nice -20).
QUIET := benchmarks/quiet.sh
TEST_WORKERS ?= 2
LOCALSTACK := docker compose -f docker-compose.localstack.yml
# The client environment for LocalStack, read from the compose file's x-client-environment (one source).
LOCALSTACK_ENV := import yaml; env = yaml.safe_load(open("docker-compose.localstack.yml"))["x-client-environment"]; \
  print("; ".join(f"export {k}={v}" for k, v in env.items()))

.PHONY: help install demo test test-fast lint typecheck schemas check-packages package check-images e2e-localstack synth cdk-cli bootstrap diff deploy preflight env destroy bench catalog bench-scan bench-projector bench-api pr clean ui test-ui chromium bench-ui bench-operators chaos soak

help: ## Show this help
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-16s %s\n", $$1, $$2}'

$(CURDIR)/.tools/venv/bin/uv:
	@echo "uv not found: installing it into .tools/venv"
	$(PYTHON) -m venv $(CURDIR)/.tools/venv
	$(CURDIR)/.tools/venv/bin/pip install --quiet --disable-pip-version-check uv

$(BIN)/inventory: $(UV) uv.lock pyproject.toml */pyproject.toml */*/pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(BIN)/inventory ## Install uv if missing, then the whole workspace into .venv

demo: install ui ## Local AWS + simulated fleet + one full scan through every service, then serve the API and the UI
	$(BIN)/inventory demo $(DEMO_ARGS)

WEB := $(CURDIR)/services/api/web
$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund

ui: $(WEB)/node_modules/.package-lock.json ## Build the web UI into services/api/web/dist (npm ci from the lock file, vite build)
	cd $(WEB) && npm run --silent build

test-ui: ui ## Web UI: typecheck and vitest component tests
	cd $(WEB) && npm run --silent typecheck && npm test --silent

chromium: ## Debian's chromium for the browser tests (apt-get when missing; Playwright cannot download one here)
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

test: install test-ui chromium ## The whole suite: UI component tests, then unit, contract, integration, e2e and browser (moto), infra synth, per-package installs
	@# Both cores: TEST_WORKERS pytest-xdist workers, each with its own moto server; a test file (or a folder
	@# sharing one costly fixture, tests/conftest.py's scheduler) runs whole on one worker, in order, the longest first.
	$(BIN)/python -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder
	$(MAKE) --no-print-directory check-packages

test-fast: install ## Unit and contract tests only (no network)
	$(BIN)/python -m pytest -p no:cacheprovider tests/unit tests/contract

BANDIT_PATHS = services/*/src shared/*/src cli/src infra/src .ci

lint: install ## ruff lint + format check, mypy strict, bandit, pip-audit of the lock
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r $(BANDIT_PATHS)  # skips and nosec reasons: pyproject, inline
	UV=$(UV) $(BIN)/python .ci/audit_deps.py  # STRICT_AUDIT=1 fails when the advisory data is unreachable
	@# Each package declares what its src imports, and uses what it declares (deptry; ignores, with reasons, in its pyproject)
	@for pkg in $(WORKSPACE_PACKAGES); do echo "deptry $$pkg"; (cd $$pkg && $(BIN)/deptry --no-ansi src) || exit 1; done

typecheck: install ## mypy strict
	$(BIN)/mypy

schemas: install ## Regenerate the committed JSON Schema of the events
	$(BIN)/python -c "from inventory_events import event_json_schema_text as t; \
	open('shared/events/schemas/inventory_event.schema.json', 'w').write(t())"

check-packages: $(UV) ## Install each deployable alone, import its entry point, check it carries no moto
	@for pair in $(SERVICES); do \
	  pkg=$${pair%%:*}; mod=$${pair##*:}; env=$(CURDIR)/.tools/pkg/$$pkg; \
	  UV_PROJECT_ENVIRONMENT=$$env $(UV) sync --quiet --frozen --no-dev --package $$pkg --python $(PYTHON) || exit 1; \
	  APP_TABLE_NAME=x $$env/bin/python -c "import importlib; importlib.import_module('$$mod')" || exit 1; \
	  $$env/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('moto') is not None)" \
	    || { echo "  $$pkg installs moto at runtime (emulators belong in inventory-cli[local])"; exit 1; }; \
	  echo "  $$pkg installs alone, imports $$mod, carries no moto"; \
	done

package: install ## Build the Lambda zip directories (archiver, scan launch-failed; linux-arm64) under .build/bundles
	$(BIN)/python -m infra.bundles inventory-archiver inventory-scanner

check-images: install ## Run every Dockerfile's build stage on this host (no Docker): closures install and import
	PACKAGING_FULL=1 $(BIN)/python -m pytest -p no:cacheprovider -q tests/packaging/test_dockerfiles.py -k build_stage

e2e-localstack: install ## The e2e suite against LocalStack instead of moto (needs Docker + LOCALSTACK_AUTH_TOKEN)
	@command -v docker >/dev/null 2>&1 || { echo "e2e-localstack needs a Docker engine; make test runs the same suite on moto"; exit 1; }
	@test -n "$$LOCALSTACK_AUTH_TOKEN" || { echo "set LOCALSTACK_AUTH_TOKEN first (README: LocalStack)"; exit 1; }
	$(LOCALSTACK) up -d --wait
	@status=0; eval "$$($(BIN)/python -c '$(LOCALSTACK_ENV)')"; \
	  $(BIN)/python -m pytest -p no:cacheprovider tests/e2e --ignore=tests/e2e/test_demo_smoke.py || status=$$?; \
	  $(LOCALSTACK) down -v; exit $$status

# The pinned CDK CLI (infra/package.json, exact version) runs the Python app; CDK_ARGS passes context,
# e.g. make deploy CDK_ARGS="-c inventory:stage=dev -c inventory:alarmEmail=ops@example.com".
CDK := cd infra && npx --no-install cdk --app "$(BIN)/python app.py"
CDK_ARGS ?=

infra/node_modules/.package-lock.json: infra/package.json infra/package-lock.json
	cd infra && npm ci --no-audit --no-fund
	@touch $@

cdk-cli: infra/node_modules/.package-lock.json ## Install the pinned CDK CLI into infra/node_modules

synth: install cdk-cli ## CDK synth of the whole stack into infra/cdk.out (no Docker, no AWS credentials)
	$(CDK) synth --quiet --output cdk.out $(CDK_ARGS)

bootstrap: install cdk-cli ## Once per account and region: cdk bootstrap (asset bucket, ECR repo, deploy roles)
	$(CDK) bootstrap $(CDK_ARGS)

diff: install cdk-cli ## What make deploy would change
	$(CDK) diff $(CDK_ARGS)

deploy: install cdk-cli ## Build images (Docker) and bundles, deploy the stack, print its outputs (docs/deploy.md)
	$(CDK) deploy --require-approval broadening --outputs-file cdk.out/outputs.json $(CDK_ARGS)

preflight: install ## Check what CloudFormation cannot: an imported app table, the Athena integration
	$(BIN)/python -m infra.preflight $(PREFLIGHT_ARGS)

env: install ## Print export lines of the deployed stack's settings: eval "$$(make -s env)"
	@$(BIN)/python -m infra.outputs $(ENV_ARGS)

destroy: install cdk-cli ## Delete the stack (tables, buckets and user pool are retained: docs/deploy.md)
	$(CDK) destroy $(CDK_ARGS)

chaos: install ## Every fault of tests/chaos on the real pipeline (moto), ~1,000 resources; writes docs/reliability.md
	CHAOS_FULL=1 CHAOS_RESOURCES=$${CHAOS_RESOURCES:-1000} $(BIN)/python -m pytest -p no:cacheprovider -s tests/chaos/test_faults.py

soak: install ## Consecutive scans with consumers running concurrently, churn between scans; ratios and memory in docs/reliability.md
	$(QUIET) $(BIN)/python -m tests.chaos.soak $(SOAK_ARGS)

bench: bench-scan bench-projector bench-api bench-ui bench-operators ## Run every benchmark (figures printed, JSON in benchmarks/results/)

catalog: install ## Regenerate the scanner catalogue from the locked AWS models (review the diff, commit it)
	$(BIN)/python services/scanner/tools/gen_catalog.py

bench-scan: install ## Scan: ~10k seeded resources, 3 accounts x 4 regions, vs the bare-API floor
	$(QUIET) $(BIN)/python benchmarks/scan.py $(BENCH_SCAN_ARGS)

bench-ui: install ui chromium ## Web UI: time to first rows and filter latency at 100,000 resources, bundle size (gzip)
	$(QUIET) $(BIN)/python benchmarks/ui.py $(BENCH_UI_ARGS)

bench-api: install ## API cold (fresh process) and warm latency at 10,000 and 100,000 resources, memory at 500,000
	$(QUIET) $(BIN)/python benchmarks/api.py --resources 10000
	$(QUIET) $(BIN)/python benchmarks/api.py --resources 100000
	$(QUIET) $(BIN)/python benchmarks/api.py --resources 500000 --memory-only

bench-operators: install ## Operators: DLQ redrive rate vs bare SQS calls, dlq show, account check, scan history page
	$(QUIET) $(BIN)/python benchmarks/operators.py $(BENCH_OPERATORS_ARGS)

bench-projector: install ## Projector: 10,000 resources vs a bare BatchWriteItem loop on moto
	$(QUIET) $(BIN)/python benchmarks/projector.py

pr: lint test ## Everything CI runs

clean: ## Remove the venv, tool installs and local state
	rm -rf .venv .tools .inventory
