#!/usr/bin/env bash
# make up: find (or pull, or else build with the offline kit) the base images, create the
# install's secrets if missing (CA, certificates, passwords, token secret), build what changed,
# then start the mesh, or roll the changes onto the running one without dropping a request,
# and check it through the published port (scripts/rollout/main.ts up).
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

scripts/secrets.sh init
build_images
exec node --import tsx scripts/rollout/main.ts up
