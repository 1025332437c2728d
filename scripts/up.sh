#!/usr/bin/env bash
# make up: create the install's secrets if missing (CA, certificates, passwords, token secret),
# build what changed, then start the mesh, or roll the changes onto the running one without
# dropping a request (scripts/rollout/main.ts up: replicas one at a time, edge routes live).
# Builds behind a TLS-intercepting proxy: CA_FILE=/path/ca.pem hands the image build a CA to
# trust for `npm ci`, as .extra-ca.pem in the build context. A host that trusts extra CAs
# for Node (NODE_EXTRA_CA_CERTS) passes them on.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

CA_FILE=${CA_FILE:-${NODE_EXTRA_CA_CERTS:-}}
if [ -n "$CA_FILE" ]; then
  cmp -s "$CA_FILE" .extra-ca.pem || cp "$CA_FILE" .extra-ca.pem
fi

scripts/secrets.sh init
compose build postgres usersvc edge mesh-ca
node --import tsx scripts/rollout/main.ts up
echo "the mesh is up (version $SERVICE_VERSION): curl 127.0.0.1:${EDGE_PORT:-8000}/user/health"
