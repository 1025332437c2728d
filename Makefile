# One entry point for people and CI. `make help` lists the targets.
SHELL := bash
.DEFAULT_GOAL := help

# The unit and integration tests create (and drop) databases of their own on this server.
export PGHOST ?= 127.0.0.1
export PGPORT ?= 5432
export PGUSER ?= postgres
export PGPASSWORD ?= postgres

.PHONY: help install build typecheck lint unit test dev

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

node_modules: package-lock.json
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

test: node_modules ## everything CI runs: typecheck, lint, service tests
	npm test

dev: node_modules ## run the service from source, reloading on change (needs a PostgreSQL: PG* or DATABASE_URL)
	TOKEN_SECRET="$${TOKEN_SECRET:-dev-only-secret-change-me-0123456789abcdef}" SCRYPT_COST="$${SCRYPT_COST:-14}" npm run dev
