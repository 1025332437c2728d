#!/usr/bin/env bash
# The edge's entrypoint: checks that the live routes and clusters are mounted; finds the one
# source the read-only admin window on :8001 answers, the container's default gateway, where
# Docker's port proxy connects from (or EDGE_ADMIN_FROM); picks its admin port; renders the
# config with both and the share of requests to trace (EDGE_TRACE_PERCENT, render-edge.sh);
# then runs Envoy with the arguments it was given.
set -euo pipefail
for live in /etc/envoy/live/routes.yaml /etc/envoy/live/clusters.yaml; do
  if [ ! -r "$live" ]; then
    echo "edge: no $live: make up writes the live routes and clusters into .mesh/edge/ (Swarm, Kubernetes: a config)" >&2
    exit 1
  fi
done
# EDGE_ADMIN_FROM names that source instead where no port proxy is in front (Kubernetes:
# 127.0.0.1, where `kubectl port-forward` arrives).
EDGE_ADMIN_FROM=$(host-gateway.sh "${EDGE_ADMIN_FROM:-}")
# Two edges share one network namespace while one hands over to the other (make up: the
# port holder edge-port owns it); each takes the first admin port that is free, and says which.
admin_port=
for port in 9901 9902 9903 9904; do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then admin_port=$port; break; fi
done
if [ -z "$admin_port" ]; then
  echo "edge: no free admin port in 9901-9904 (are four edges running?)" >&2
  exit 1
fi
echo "$admin_port" > /tmp/admin-port
HOST_GATEWAY=$EDGE_ADMIN_FROM ADMIN_PORT=$admin_port TRACE_PERCENT=${EDGE_TRACE_PERCENT:-0} render-edge.sh < /etc/envoy/edge.yaml > /tmp/edge.yaml
# No hot restart: its domain socket would collide between two edges in one namespace. A
# drain (POST /drain_listeners?graceful, from the rollout) closes every connection within 5 s.
exec envoy -c /tmp/edge.yaml --disable-hot-restart --drain-time-s 5 --drain-strategy immediate "$@"
