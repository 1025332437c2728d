#!/usr/bin/env bash
# make up: create the install's secrets if missing (CA, certificates, passwords, token secret),
# build what changed, start the mesh, wait until the edge routes to every replica.
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
replicas=${N:-$(compose ps -q usersvc 2>/dev/null | wc -l)}
[ "$replicas" -ge 1 ] || replicas=1

scripts/secrets.sh init
compose build
compose up -d --scale "usersvc=$replicas"
wait_for_replicas "$replicas"
echo "the mesh is up: curl 127.0.0.1:${EDGE_PORT:-8000}/user/health"
