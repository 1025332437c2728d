#!/usr/bin/env bash
# make up: find (or pull, or else build with the offline kit) the base images, create the
# install's secrets if missing (CA, certificates, passwords, token secret), build what changed,
# then start the mesh, or roll the changes onto the running one without dropping a request
# (scripts/rollout/main.ts up: replicas one at a time, edge routes live).
# OBSERVE=1 adds the observability profile (Prometheus, Zipkin, every request traced by the
# edge), OBSERVE=0 removes it, and without OBSERVE it stays as it is. DEV=1 (make dev) rolls the
# replicas onto the sources of this checkout, reloading on change (compose/dev.yml); without
# it, make up rolls them back onto the built image.
# Builds behind a TLS-intercepting proxy: CA_FILE=/path/ca.pem (scripts/lib.sh build_images).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/base-images.sh
mkdir -p .mesh
if [ "${DEV:-0}" = 1 ]; then touch .mesh/dev; else rm -f .mesh/dev; fi
. scripts/lib.sh

OBSERVE=${OBSERVE:-$(if observing; then echo 1; else echo 0; fi)}
if [ "$OBSERVE" = 1 ]; then export EDGE_TRACE_PERCENT=${EDGE_TRACE_PERCENT:-100}; fi

scripts/secrets.sh init
build_images
node --import tsx scripts/rollout/main.ts up
if [ "$OBSERVE" = 1 ]; then
  COMPOSE_PROFILES=observe compose up -d observe prometheus zipkin
  wait_for_observability
  echo "observability: Prometheus on http://127.0.0.1:${PROMETHEUS_PORT:-9090}, Zipkin on http://127.0.0.1:${ZIPKIN_PORT:-9411}"
elif observing; then
  COMPOSE_PROFILES=observe compose rm --stop --force observe prometheus zipkin
fi
if [ -f .mesh/dev ]; then
  echo "the mesh is up in dev mode: edit user-service/src and each replica reloads it (make logs shows it); make up leaves dev mode"
else
  echo "the mesh is up (version $SERVICE_VERSION): curl 127.0.0.1:${EDGE_PORT:-8000}/user/health"
fi
