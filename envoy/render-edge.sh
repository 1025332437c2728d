#!/usr/bin/env bash
# Renders the edge's static config: envoy/edge.yaml on stdin, the config Envoy reads on stdout.
# Fills in HOST_GATEWAY, the one address let into the read-only admin window, and ADMIN_PORT,
# where the admin listens on loopback (default 9901), and TRACE_PERCENT, the share of requests
# it traces (default 0). The routes and clusters, rate limits included, are live files written
# on the host (edge-routes.yaml).
set -euo pipefail
: "${HOST_GATEWAY:?must name the address that published ports arrive from}"
: "${ADMIN_PORT:=9901}"
: "${TRACE_PERCENT:=0}"
if ! [[ $ADMIN_PORT =~ ^[1-9][0-9]{0,4}$ ]]; then
  echo "edge: ADMIN_PORT must be a port number, got \"$ADMIN_PORT\"" >&2
  exit 2
fi
if ! [[ $HOST_GATEWAY =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then
  echo "edge: HOST_GATEWAY must be an IPv4 address, got \"$HOST_GATEWAY\"" >&2
  exit 2
fi
if ! [[ $TRACE_PERCENT =~ ^([0-9]{1,2}(\.[0-9]+)?|100)$ ]]; then
  echo "edge: TRACE_PERCENT must be a percentage from 0 to 100, got \"$TRACE_PERCENT\"" >&2
  exit 2
fi
sed -e "s/HOST_GATEWAY/$HOST_GATEWAY/" -e "s/port_value: ADMIN_PORT/port_value: $ADMIN_PORT/" \
  -e "s/value: TRACE_PERCENT/value: $TRACE_PERCENT/"
