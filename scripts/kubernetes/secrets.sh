#!/usr/bin/env bash
# The Secrets the Kubernetes manifests name, made from this install's secrets/ directory and
# printed as YAML for kubectl; nothing of them is written anywhere else:
#   scripts/kubernetes/secrets.sh | kubectl apply -n usermesh -f -
# The certificates are the long-lived set (secrets/static/, STATIC_CERT_DAYS, 30 days), issued
# or renewed here when due; apply again to renew: the proxies load a changed Secret live.
set -euo pipefail
cd "$(dirname "$0")/../.."
S=${SECRETS_DIR:-secrets}

# secret NAME KEY=FILE...: one Secret manifest, each file base64-encoded under its key.
secret() {
  local name=$1 pair; shift
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\ntype: Opaque\ndata:\n' "$name"
  for pair in "$@"; do
    [ -s "${pair#*=}" ] || { echo "kubernetes: ${pair#*=} is missing or empty (make secrets makes it)" >&2; exit 1; }
    printf '  %s: %s\n' "${pair%%=*}" "$(base64 -w0 < "${pair#*=}")"
  done
}

if [ -z "${SECRETS_DIR:-}" ]; then
  node bin/meshctl.js secrets init >&2
  node bin/meshctl.js secrets static "${STATIC_CERT_DAYS:-30}" >&2
fi
for service in edge usersvc postgres; do
  secret "$service-mesh" ca.pem="$S/static/$service/ca.pem" cert.pem="$S/static/$service/cert.pem" key.pem="$S/static/$service/key.pem"
done
secret usersvc-secrets db_password="$S/usersvc/db_password" token_secret="$S/usersvc/token_secret"
secret postgres-secrets superuser_password="$S/postgres/superuser_password" usersvc_password="$S/postgres/usersvc_password"
