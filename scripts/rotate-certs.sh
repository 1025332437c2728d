#!/usr/bin/env bash
# make rotate-certs: issue every service a new certificate from the mesh CA, on a running mesh.
# The proxies reload them through SDS on their own; this waits until the edge presents the new
# one, and a replica started afterwards mounts the new ones too.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

before=$(edge_cert_serial)
scripts/secrets.sh rotate
deadline=$((SECONDS + 30))
until [ "$(edge_cert_serial)" != "$before" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then echo "the edge still presents certificate $before after 30 s" >&2; exit 1; fi
  sleep 0.2
done
echo "the edge presents its new certificate (serial $(edge_cert_serial)); sidecars reload theirs the same way"
