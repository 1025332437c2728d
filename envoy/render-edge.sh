#!/usr/bin/env bash
# Renders the edge's static config: envoy/edge.yaml on stdin, the config Envoy reads on stdout,
# by the mesh's one template rule (render.sh). Checks and fills in HOST_GATEWAY, the one
# address let into the read-only admin window; ADMIN_PORT, where the admin listens on loopback
# (default 9901); METRICS_PORT, where Prometheus scrapes it (default 9103); TRACE_PERCENT, the
# share of requests it traces (default 0: then the config has no tracer at all); TRUSTED_CIDRS, the networks of the proxies of yours
# in front of it (comma-separated, default none). The routes and clusters, rate limits included, are live files written on the
# host (edge-routes.yaml).
set -euo pipefail
: "${HOST_GATEWAY:?must name the address that published ports arrive from}"
: "${ADMIN_PORT:=9901}"
: "${METRICS_PORT:=9103}"
: "${TRACE_PERCENT:=0}"
: "${TRUSTED_CIDRS:=}"
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
# Trusting no one, the edge is the first proxy and the connection's address is the client's.
# Trusting networks, it takes the address from X-Forwarded-For on their connections only.
USE_REMOTE_ADDRESS=true IP_DETECTION='[]'
if [ -n "$TRUSTED_CIDRS" ]; then
  cidrs=()
  IFS=, read -ra entries <<<"$TRUSTED_CIDRS"
  for cidr in "${entries[@]}"; do
    if [[ $cidr =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3})/([0-9]{1,2})$ ]] && ((BASH_REMATCH[3] <= 32)) ||
      [[ $cidr =~ ^([0-9a-fA-F:]*:[0-9a-fA-F:]*)()/([0-9]{1,3})$ ]] && ((BASH_REMATCH[3] <= 128)); then
      if ((BASH_REMATCH[3] == 0)); then
        echo "edge: EDGE_TRUSTED_CIDRS may not trust every address ($cidr): any client could choose its own" >&2
        exit 2
      fi
      cidrs+=("{address_prefix: '${BASH_REMATCH[1]}', prefix_len: ${BASH_REMATCH[3]}}")
    else
      echo "edge: EDGE_TRUSTED_CIDRS must be networks such as 10.0.0.0/8,fd00::/8, got \"$cidr\"" >&2
      exit 2
    fi
  done
  list=$(IFS=,; echo "${cidrs[*]}")
  USE_REMOTE_ADDRESS=false
  IP_DETECTION="[{name: envoy.http.original_ip_detection.xff, typed_config: {'@type': type.googleapis.com/envoy.extensions.http.original_ip_detection.xff.v3.XffConfig, xff_trusted_cidrs: {cidrs: [$list]}}}]"
fi
export HOST_GATEWAY ADMIN_PORT METRICS_PORT TRACE_PERCENT USE_REMOTE_ADDRESS IP_DETECTION
render() {
  "$(dirname "$0")/render.sh" HOST_GATEWAY ADMIN_PORT METRICS_PORT TRACE_PERCENT USE_REMOTE_ADDRESS IP_DETECTION
}
# Tracing nothing, the edge carries no tracer: the block between the markers goes.
if [[ $TRACE_PERCENT =~ ^0+(\.0+)?$ ]]; then
  sed '/# tracing: begin$/,/# tracing: end$/d' | render
else
  render
fi
