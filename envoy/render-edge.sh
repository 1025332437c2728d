#!/usr/bin/env bash
# Renders the edge's static config: envoy/edge.yaml on stdin, the config Envoy reads on stdout.
# Fills in HOST_GATEWAY, the one address let into the read-only admin window. The routes and
# clusters, rate limits included, are live files written on the host (edge-routes.yaml).
set -euo pipefail
: "${HOST_GATEWAY:?must name the address that published ports arrive from}"
if ! [[ $HOST_GATEWAY =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then
  echo "edge: HOST_GATEWAY must be an IPv4 address, got \"$HOST_GATEWAY\"" >&2
  exit 2
fi
sed -e "s/HOST_GATEWAY/$HOST_GATEWAY/"
