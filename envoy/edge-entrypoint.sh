#!/usr/bin/env bash
# The edge's entrypoint: checks that the live routes and clusters and the HTTPS certificate are
# mounted; finds the one source the read-only admin window on :8001 answers, the container's
# default gateway, where Docker's port proxy connects from (or EDGE_ADMIN_FROM); claims a slot,
# which names its admin and metrics ports; renders the config with them and the share of
# requests to trace (EDGE_TRACE_PERCENT, render-edge.sh); then runs Envoy with the arguments
# it was given.
set -euo pipefail
# Worker threads (EDGE_WORKERS, default 1): compose runs two edges and Kubernetes two pods, so
# one worker each already uses two cores. One per core (Envoy's default) put four edge threads
# on this project's 2-core machine and cost 48-84 us more CPU per request at 1000 rps, in every
# round of the price list (docs/performance.md). More on a machine of many cores.
workers=${EDGE_WORKERS:-1}
if ! [[ $workers =~ ^[1-9][0-9]?$ ]]; then
  echo "edge: EDGE_WORKERS must be a whole number from 1 to 99, got \"$workers\"" >&2
  exit 2
fi
for live in /etc/envoy/live/routes.yaml /etc/envoy/live/clusters.yaml; do
  if [ ! -r "$live" ]; then
    echo "edge: no $live: make up writes the live routes and clusters into .mesh/edge/ (Swarm, Kubernetes: a config)" >&2
    exit 1
  fi
done
for file in /run/edge-public/cert.pem /run/edge-public/key.pem; do
  if [ ! -r "$file" ]; then
    echo "edge: cannot read $file, the edge's HTTPS certificate: make up creates it in secrets/edge-public/ (Swarm, Kubernetes: a secret)" >&2
    exit 1
  fi
done
# EDGE_ADMIN_FROM names that source instead where no port proxy is in front (Kubernetes:
# 127.0.0.1, where `kubectl port-forward` arrives).
EDGE_ADMIN_FROM=$(host-gateway.sh "${EDGE_ADMIN_FROM:-}")

# Compose runs two edges in the port holder's network (edge-port), and a third or fourth while
# one hands over to another: each takes a slot, 0 to 3, and slot K has its admin on
# 127.0.0.1:990(1+K) and its metrics for Prometheus on :910(3+K). A slot is a lock file in
# /run/edge-slots, a volume the edges share: Envoy itself holds the lock (the descriptor
# survives exec), so the slot is free again the moment it dies, however it dies. Where the
# directory is not shared (Swarm, Kubernetes: a network of its own), it is always slot 0.
slots=${EDGE_SLOTS_DIR:-/run/edge-slots}
slot=
for k in 0 1 2 3; do
  exec 9>"$slots/slot-$k.lock"
  if flock -n 9; then slot=$k; break; fi
  exec 9>&-
done
if [ -z "$slot" ]; then
  echo "edge: every slot in $slots is taken (are four edges running?)" >&2
  exit 1
fi
admin_port=$((9901 + slot))
echo "$admin_port" > /tmp/admin-port
echo "edge: slot $slot: admin on 127.0.0.1:$admin_port, metrics on :$((9103 + slot))" >&2
# EDGE_TRUSTED_HOPS, which it replaces, let a client that reached the edge directly choose its address.
if [ -n "${EDGE_TRUSTED_HOPS:-}" ] && [ "$EDGE_TRUSTED_HOPS" != 0 ]; then
  echo "edge: EDGE_TRUSTED_HOPS is gone: name the networks of the proxies in front in EDGE_TRUSTED_CIDRS (docs/public-edge.md)" >&2
  exit 2
fi
HOST_GATEWAY=$EDGE_ADMIN_FROM ADMIN_PORT=$admin_port METRICS_PORT=$((9103 + slot)) \
  TRACE_PERCENT=${EDGE_TRACE_PERCENT:-0} TRUSTED_CIDRS=${EDGE_TRUSTED_CIDRS:-} render-edge.sh < /etc/envoy/edge.yaml > /tmp/edge.yaml
# No hot restart: its domain socket would collide between two edges in one namespace. A
# drain (POST /drain_listeners?graceful, from the rollout) closes every connection within 5 s.
exec envoy -c /tmp/edge.yaml --disable-hot-restart --drain-time-s 5 --drain-strategy immediate \
  --concurrency "$workers" "$@"
