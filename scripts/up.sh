#!/usr/bin/env bash
# make up: find (or pull, or else build with the offline kit) the base images, create the
# install's secrets if missing (CA, certificates, passwords, token secret),
# build what changed, then start the mesh, or roll the changes onto the running one without
# dropping a request (scripts/rollout/main.ts up: replicas one at a time, edge routes live).
# Builds behind a TLS-intercepting proxy: CA_FILE=/path/ca.pem (scripts/lib.sh build_images).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/base-images.sh
. scripts/lib.sh

scripts/secrets.sh init
build_images
node --import tsx scripts/rollout/main.ts up
echo "the mesh is up (version $SERVICE_VERSION): curl 127.0.0.1:${EDGE_PORT:-8000}/user/health"
