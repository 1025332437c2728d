#!/usr/bin/env bash
# The edge's entrypoint: finds the address that the host's published ports arrive from, the
# container's default gateway (Docker's port proxy connects from there), the one source the
# read-only admin window on :8001 answers; renders the config with it (render-edge.sh); checks
# that the live routes and clusters are mounted; then runs Envoy with the arguments it was given.
set -euo pipefail
for live in /etc/envoy/live/routes.yaml /etc/envoy/live/clusters.yaml; do
  if [ ! -r "$live" ]; then
    echo "edge: no $live: the edge's live routes and clusters are written by make up (into .mesh/edge/)" >&2
    exit 1
  fi
done
gateway=$(awk '$2 == "00000000" { print $3; exit }' /proc/net/route)
if [ -z "$gateway" ]; then
  echo "edge: no default route, so no host address to let into the admin window" >&2
  exit 1
fi
# /proc/net/route writes the address as little-endian hex: 010016AC is 172.22.0.1.
host=$(printf '%d.%d.%d.%d' "0x${gateway:6:2}" "0x${gateway:4:2}" "0x${gateway:2:2}" "0x${gateway:0:2}")
HOST_GATEWAY=$host render-edge.sh < /etc/envoy/edge.yaml > /tmp/edge.yaml
exec envoy -c /tmp/edge.yaml "$@"
