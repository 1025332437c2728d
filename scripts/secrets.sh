#!/usr/bin/env bash
# The install's secrets, in secrets/ (git-ignored): the mesh CA, each service's certificate,
# the database passwords and the token secret. Runs the mesh CA (scripts/mesh-ca/) in a
# one-off container with no network, so the host needs neither openssl nor root.
#   scripts/secrets.sh init     create what is missing (make up does this)
#   scripts/secrets.sh rotate   new certificates for every service (make rotate-certs)
# CERT_DAYS (default 1) sets a certificate's lifetime.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

mkdir -p secrets
docker build -q -t usermesh/mesh-ca:latest \
  --build-arg DEBIAN_IMAGE="${DEBIAN_IMAGE:-debian:bookworm-slim}" scripts/mesh-ca >/dev/null
docker run --rm --network none -e CERT_DAYS -v "$PWD/secrets:/secrets" usermesh/mesh-ca:latest "$@"
