#!/usr/bin/env bash
# Renders the edge's static config: envoy/edge.yaml on stdin, the config Envoy reads on stdout,
# by the mesh's one template rule (render.sh). Checks and fills in HOST_GATEWAY, the one
# address let into the read-only admin window; ADMIN_PORT, where the admin listens on loopback
# (default 9901); METRICS_PORT, where Prometheus scrapes it (default 9103); TRACE_PERCENT, the
# share of requests it traces (default 0); TRUSTED_HOPS, the proxies of yours in front of it
# (default 0). The routes and clusters, rate limits included, are live files written on the
# host (edge-routes.yaml).
set -euo pipefail
: "${HOST_GATEWAY:?must name the address that published ports arrive from}"
: "${ADMIN_PORT:=9901}"
: "${METRICS_PORT:=9103}"
: "${TRACE_PERCENT:=0}"
: "${TRUSTED_HOPS:=0}"
for port in ADMIN_PORT METRICS_PORT; do
  if ! [[ ${!port} =~ ^[1-9][0-9]{0,4}$ ]]; then
    echo "edge: $port must be a port number, got \"${!port}\"" >&2
    exit 2
  fi
done
if ! [[ $HOST_GATEWAY =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then
  echo "edge: HOST_GATEWAY must be an IPv4 address, got \"$HOST_GATEWAY\"" >&2
  exit 2
fi
if ! [[ $TRACE_PERCENT =~ ^([0-9]{1,2}(\.[0-9]+)?|100)$ ]]; then
  echo "edge: TRACE_PERCENT must be a percentage from 0 to 100, got \"$TRACE_PERCENT\"" >&2
  exit 2
fi
if ! [[ $TRUSTED_HOPS =~ ^[0-9]$ ]]; then
  echo "edge: EDGE_TRUSTED_HOPS must be a whole number from 0 to 9, got \"$TRUSTED_HOPS\"" >&2
  exit 2
fi
export HOST_GATEWAY ADMIN_PORT METRICS_PORT TRACE_PERCENT TRUSTED_HOPS
exec "$(dirname "$0")/render.sh" HOST_GATEWAY ADMIN_PORT METRICS_PORT TRACE_PERCENT TRUSTED_HOPS
