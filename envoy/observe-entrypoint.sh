#!/usr/bin/env bash
# The observability proxy's entrypoint (envoy/observe.yaml): lets the host's address into the
# two UIs, then runs Envoy with the arguments it was given.
set -euo pipefail
gateway=$(host-gateway.sh)
if ! [[ $gateway =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then
  echo "observe: the host's address must be an IPv4 address, got \"$gateway\"" >&2
  exit 2
fi
HOST_GATEWAY=$gateway render.sh HOST_GATEWAY < /etc/envoy/observe.yaml > /tmp/observe.yaml
exec envoy -c /tmp/observe.yaml --disable-hot-restart "$@"
