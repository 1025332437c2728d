# One entry point for people and CI. `make help` lists the targets.
SHELL := bash
.DEFAULT_GOAL := help

# Base images for the builds: the official ones, unless `make images` (the offline kit)
# wrote local stand-ins to .images.env.
-include .images.env
export NODE_IMAGE ENVOY_IMAGE POSTGRES_IMAGE DEBIAN_IMAGE PROMETHEUS_IMAGE ZIPKIN_IMAGE

# The unit and integration tests create (and drop) databases of their own on this server.
# Its password, if it needs one, comes from your environment (PGPASSWORD) or ~/.pgpass.
export PGHOST ?= 127.0.0.1
export PGPORT ?= 5432
export PGUSER ?= postgres

.PHONY: help install build typecheck lint unit checks e2e e2e-v1 e2e-v1-if-both doc-test e2e-swarm test ci dev dev-local images secrets rotate-certs up canary promote rollback down clean backup restore check scale ps logs stats bench fuzz swarm-up swarm-down swarm-lab swarm-lab-down kubernetes kubernetes-check

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

node_modules: package-lock.json
	@command -v npm >/dev/null || { echo "this needs Node.js 20 or later with npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	npm ci
	@touch node_modules

install: node_modules ## install dependencies from the lockfile

build: node_modules ## compile the service to user-service/dist
	npm run build

typecheck: node_modules ## tsc --noEmit over service, tests and tools
	npm run typecheck

lint: node_modules ## eslint with typescript-eslint
	npm run lint

unit: node_modules ## the service's tests (ava) against the PostgreSQL named by PG*
	npm run test:unit

e2e: node_modules ## the mesh end to end in Docker (starts from `make clean`: removes the mesh's data; restarts the Docker engine once)
	npx ava --timeout 10m --concurrency 1 compose/test

e2e-v1: node_modules ## the walk-through, scaling, failures, compose by hand and teardown again with compose v1 (docker-compose)
	COMPOSE_CLI=v1 npx ava --timeout 10m --concurrency 1 compose/test/mesh.test.ts compose/test/by-hand.test.ts

doc-test: node_modules ## run the README's walk-through, Inspecting and API commands, and docs/keeping-it-running.md's, as written, and check their answers
	npx ava --timeout 10m compose/test/readme.test.ts

e2e-swarm: node_modules ## the stack on a two-node swarm of its own (scripts/swarm/lab.sh; root; removed after)
	npx ava --timeout 10m --concurrency 1 compose/test-swarm

# Each suite is a prerequisite, run in this order: `make -k test` (what CI runs) goes on past a
# failed one, so its count covers every suite.
test: checks e2e e2e-v1-if-both e2e-swarm ## every test: typecheck, lint, service and config tests, then e2e (doc-test included), e2e-v1, e2e-swarm

checks: node_modules ## typecheck, lint, then the service's, Envoy configs' and scripts' tests (npm test)
	npm test

e2e-v1-if-both:
	@if command -v docker-compose >/dev/null && docker compose version >/dev/null 2>&1; then $(MAKE) e2e-v1; \
	 else echo "make test: make e2e-v1 needs both compose CLIs; make e2e ran with the one here"; fi

ci: ## on a fresh Debian machine, as root: install and start what the tests need, then make test (what CI runs)
	scripts/ci.sh

dev: node_modules ## the mesh, its replicas running user-service/src and reloading it on change (make up leaves)
	DEV=1 scripts/up.sh

dev-local: node_modules ## the service alone on the host, from source, reloading on change (needs a PostgreSQL: PG* or DATABASE_URL)
	TOKEN_SECRET="$${TOKEN_SECRET:-$$(node -p 'crypto.randomBytes(32).toString("hex")')}" SCRYPT_COST="$${SCRYPT_COST:-14}" npm run dev

images: ## offline kit: build local stand-ins for the base images (no registry needed)
	scripts/offline-images.sh

secrets: ## create the install's CA, certificates, passwords and token secret in secrets/, where missing
	scripts/secrets.sh init

rotate-certs: ## issue every service a new certificate on the running mesh (proxies reload them live)
	scripts/rotate-certs.sh

up: node_modules ## build and start the mesh, or roll changes onto it with no request lost (N=replicas, OBSERVE=1|0)
	scripts/up.sh

canary: node_modules ## run the tree as it is now beside the stable replicas (WEIGHT=10 percent, CANARY_N=1)
	scripts/canary.sh

promote: node_modules ## roll the stable replicas onto the canary's version, then remove the canary
	. scripts/lib.sh && node --import tsx scripts/rollout/main.ts promote

rollback: node_modules ## send nothing more to the canary and remove it
	. scripts/lib.sh && node --import tsx scripts/rollout/main.ts rollback

down: ## stop and remove the containers (a canary's and OBSERVE=1's too); the data volume stays
	. scripts/lib.sh && COMPOSE_PROFILES=canary,observe compose down --timeout 20

clean: ## remove the mesh's containers, network and data volume, and its settings (.env); make backup first
	scripts/clean.sh

backup: node_modules ## save the database, consistent, to a file: make backup FILE=backups/users.backup
	@node --import tsx scripts/backup/main.ts backup

restore: node_modules ## load a backup into the running mesh's empty database (FORCE=1 replaces its users): make restore FILE=...
	@node --import tsx scripts/backup/main.ts restore

check: node_modules ## is the mesh up as declared: every service running, and a request through the published port answered
	@node --import tsx scripts/rollout/main.ts check

scale: node_modules ## run N user-service replicas, drained as they go (stopped and unhealthy ones first): make scale N=3
	node --import tsx scripts/rollout/main.ts scale $(or $(N),$(error usage: make scale N=3))

ps: ## the mesh's containers
	. scripts/lib.sh && compose ps

stats: node_modules ## per-replica view of the mesh from Envoy's stats (ARGS='--watch', '--json')
	@node --import tsx scripts/stats/main.ts $(ARGS)

# The bench loads the mesh from one address, far past a client's fair share: it lifts the
# edge's per-client limits (a later `make up` puts the defaults back).
bench: export EDGE_LIMIT_HASH_PER_S = 1000000
bench: export EDGE_LIMIT_HASH_BURST = 1000000
bench: export EDGE_LIMIT_READ_PER_S = 1000000
bench: export EDGE_LIMIT_READ_BURST = 1000000
bench: node_modules ## what the mesh costs: direct, floor, sidecar, full mesh and host paths, scaling to 10 (ARGS=--smoke for a quick check)
	scripts/up.sh
	scripts/bench/loadgen.sh
	@node --import tsx scripts/bench/main.ts $(ARGS)

# Fuzzing sends hundreds of creates and logins from one address: the edge's per-client
# limits are lifted for it, as for the bench (a later `make up` puts the defaults back).
fuzz: export EDGE_LIMIT_HASH_PER_S = 1000000
fuzz: export EDGE_LIMIT_HASH_BURST = 1000000
fuzz: export EDGE_LIMIT_READ_PER_S = 1000000
fuzz: export EDGE_LIMIT_READ_BURST = 1000000
fuzz: node_modules ## schemathesis fuzzes the API through the edge from its OpenAPI document, all checks on
	scripts/up.sh
	scripts/fuzz-api.sh $(ARGS)

# Docker Swarm (README "Docker Swarm"): SWARM_HOST names a manager (default: this engine),
# SWARM_NODES every node's engine, which get the images (default: SWARM_HOST).
swarm-up: node_modules ## deploy the stack on a swarm, or update it (N=replicas; SWARM_HOST, SWARM_NODES)
	scripts/swarm/up.sh

swarm-down: ## remove the stack from the swarm (the database volume stays on its node)
	scripts/swarm/down.sh

swarm-lab: ## a two-node swarm on this host, each node a Docker engine in its own network namespace (root)
	scripts/swarm/lab.sh up

swarm-lab-down: ## remove the lab swarm: its engines, namespaces, bridge and data
	scripts/swarm/lab.sh down

# Kubernetes (README "Kubernetes"): manifests in kubernetes/, checked with no cluster.
kubernetes: node_modules ## write the edge's routes and clusters for kubernetes/ from the templates in envoy/
	node --import tsx scripts/rollout/main.ts edge-files kubernetes/base/edge 2  # the edge Deployment's replicas

kubernetes-check: ## build kubernetes/ with kustomize and validate every object (strict); installs both tools on first use
	scripts/kubernetes/check.sh

logs: ## follow the mesh's logs
	. scripts/lib.sh && compose logs -f --tail=50
