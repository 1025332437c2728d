# One entry point for people and CI: each target runs one command. `make help` lists them by task.
# Every verb on the mesh is a meshctl command (scripts/meshctl/, `npx meshctl --help`); make's
# variables reach it through the environment (make scale N=3 is meshctl scale with N=3).
SHELL := bash
.DEFAULT_GOAL := help
MESHCTL := node bin/meshctl.js

.PHONY: help install build typecheck lint unit checks e2e e2e-v1 doc-test e2e-swarm test ci \
	dev dev-local images secrets rotate-certs rotate-keys up canary promote rollback down clean backup \
	restore check scale ps logs stats bench price-list fuzz version swarm-up swarm-down swarm-lab \
	swarm-lab-down kubernetes kubernetes-check kubernetes-lab-build kubernetes-lab \
	kubernetes-lab-down kubernetes-up e2e-kubernetes

help: node_modules ## list the targets, by task
	@$(MESHCTL) make-help

node_modules: package-lock.json
	npm ci

##@ Use the mesh
up: node_modules ## build and start the mesh, or roll changes onto it with no request lost (N=replicas, OBSERVE=1|0)
	$(MESHCTL) up

down: node_modules ## stop and remove the containers (a canary's and OBSERVE=1's too); the data volume stays
	$(MESHCTL) down

clean: node_modules ## remove the mesh's containers, network and data volume, and its settings (.env); make backup first
	$(MESHCTL) clean

dev: node_modules ## the mesh, its replicas running user-service/src and reloading it on change (make up leaves)
	$(MESHCTL) dev

dev-local: node_modules ## the service alone on the host, from source, reloading on change (on your PostgreSQL: PG* or DATABASE_URL)
	$(MESHCTL) dev --local

backup: node_modules ## save the database, consistent, to a file: make backup FILE=backups/users.backup
	@$(MESHCTL) backup

restore: node_modules ## load a backup into the running mesh's empty database (FORCE=1 replaces its users; BACKUP_KEY_FILE= another install's key): make restore FILE=...
	@$(MESHCTL) restore

images: node_modules ## offline kit: build local stand-ins for the base images (no registry needed)
	$(MESHCTL) images

##@ Change it
scale: node_modules ## run N user-service replicas, drained as they go (stopped and unhealthy ones first): make scale N=3
	$(MESHCTL) scale

canary: node_modules ## run the tree as it is now beside the stable replicas (WEIGHT=10 percent, CANARY_N=1)
	$(MESHCTL) canary

promote: node_modules ## roll the stable replicas onto the canary's version, then remove the canary
	$(MESHCTL) promote

rollback: node_modules ## send nothing more to the canary and remove it
	$(MESHCTL) rollback

rotate-certs: node_modules ## issue every service a new certificate on the running mesh (proxies reload them live)
	$(MESHCTL) rotate-certs

rotate-keys: node_modules ## sign tokens with a new key; the old key's tokens stay valid until they expire (rolls the mesh)
	$(MESHCTL) rotate-keys

secrets: node_modules ## create the install's CA, certificates, passwords and token keys in secrets/, where missing
	$(MESHCTL) secrets init

##@ Inspect it
check: node_modules ## is the mesh up as declared: every service running, and a request through the published port answered
	@$(MESHCTL) check

ps: node_modules ## the mesh's containers
	@$(MESHCTL) ps

logs: node_modules ## follow the mesh's logs
	@$(MESHCTL) logs --follow

stats: node_modules ## per-replica view of the mesh from Envoy's stats (ARGS='--watch', '--json')
	@$(MESHCTL) stats $(ARGS)

bench: node_modules ## what the mesh costs: direct, floor, sidecar, full mesh and host paths, scaling to 10 (ARGS=--smoke for a quick check)
	@$(MESHCTL) bench $(ARGS)

price-list: node_modules ## what each feature costs per request, beside a router-only and an mTLS-only floor (about 45 minutes; ARGS=--smoke)
	@$(MESHCTL) bench --price-list $(ARGS)

version: node_modules ## the service version this tree builds, the versions running, the engine and compose
	@$(MESHCTL) version

##@ Test
install: node_modules ## install dependencies from the lockfile

build: node_modules ## compile the service to user-service/dist
	npm run build

typecheck: node_modules ## tsc --noEmit over service, tests and tools
	npm run typecheck

lint: node_modules ## eslint with typescript-eslint
	npm run lint

unit: node_modules ## the unit tests (ava) of the service, Envoy configs, tools and docs, on a PostgreSQL of their own (initdb; removed after)
	npm run test:unit

checks: node_modules ## typecheck, lint, then the service's, Envoy configs' and scripts' tests (npm test)
	npm test

e2e: node_modules ## the mesh end to end in Docker (starts from `make clean`: removes the mesh's data; restarts the Docker engine once)
	npx ava --timeout 10m --concurrency 1 compose/test

e2e-v1: node_modules ## the walk-through, scaling, failures, compose by hand, teardown and the conformance suite again with compose v1 (docker-compose)
	COMPOSE_CLI=v1 npx ava --timeout 10m --concurrency 1 compose/test/mesh.test.ts compose/test/by-hand.test.ts compose/test/conformance.test.ts

doc-test: node_modules ## run every shell block of README.md and docs/ as written, and check their answers
	npx ava --timeout 10m compose/test/readme.test.ts

e2e-swarm: node_modules ## the stack on a two-node swarm of its own (scripts/swarm/lab.sh; root; removed after)
	npx ava --timeout 10m --concurrency 1 compose/test-swarm

e2e-kubernetes: node_modules kubernetes-lab-build ## the manifests on a one-node Kubernetes of its own (scripts/kubernetes-lab/lab.sh; root; removed after)
	npx ava --timeout 10m --concurrency 1 kubernetes/test-lab

fuzz: node_modules ## schemathesis fuzzes the API through the edge from its OpenAPI document, all checks on
	$(MESHCTL) fuzz $(ARGS)

# The suites, in this order; make test goes on past a failed one (-k) and fails if any did, so
# one run counts them all. e2e-v1 needs both compose CLIs (CI has both).
test: node_modules ## every test: typecheck, lint, service and config tests, then e2e (doc-test included), e2e-v1, e2e-swarm, e2e-kubernetes
	$(MAKE) --no-print-directory -k checks e2e e2e-v1 e2e-swarm e2e-kubernetes

ci: ## CI's bootstrap, on a machine of its own (CI_MACHINE=1, root): install and start what make test needs
	scripts/ci.sh

##@ Deploy elsewhere
# Docker Swarm (docs/swarm.md): SWARM_HOST names a manager (default: this engine),
# SWARM_NODES every node's engine, which get the images (default: SWARM_HOST).
swarm-up: node_modules ## deploy the stack on a swarm, or update it (N=replicas; SWARM_HOST, SWARM_NODES)
	$(MESHCTL) swarm up

swarm-down: node_modules ## remove the stack from the swarm (the database volume stays on its node)
	$(MESHCTL) swarm down

swarm-lab: ## a two-node swarm on this host, each node a Docker engine in its own network namespace (root)
	scripts/swarm/lab.sh up

swarm-lab-down: ## remove the lab swarm: its engines, namespaces, bridge and data
	scripts/swarm/lab.sh down

# Kubernetes (docs/kubernetes.md): manifests in kubernetes/, checked offline, and run on a
# one-node cluster built here from upstream sources (the lab).
kubernetes: node_modules ## write the edge's routes and clusters for kubernetes/ from the templates in envoy/
	$(MESHCTL) kubernetes render

kubernetes-check: node_modules ## build kubernetes/ with kustomize and validate every object (strict); installs both tools on first use
	$(MESHCTL) kubernetes check

kubernetes-lab-build: ## build the lab cluster's binaries from upstream sources, once per version (.cache/kubernetes-lab/; 10 to 15 min)
	scripts/kubernetes-lab/lab.sh build

kubernetes-lab: ## a one-node Kubernetes on this host, built from upstream sources (first build 10 to 15 min; root)
	scripts/kubernetes-lab/lab.sh up

kubernetes-lab-down: ## remove the lab cluster: its processes, pods, bridge, rules and data (the binaries stay cached)
	scripts/kubernetes-lab/lab.sh down

kubernetes-up: node_modules ## the mesh on the lab cluster: images, Secrets, kubernetes/overlays/lab; waits until it serves
	$(MESHCTL) kubernetes up
