#!/usr/bin/env bash
# shellcheck disable=SC2317  # drain() and admin_post() run from the trap, which shellcheck cannot follow
# Runs the Envoy sidecar and the Node service side by side. The container lives while both
# do: if either exits, the other is stopped and the container exits non-zero. On SIGTERM it
# drains: the sidecar fails its health check so the edge stops sending new requests, the
# service finishes what is in flight, then both stop. Run it under an init (compose:
# `init: true`, docker run: `--init`) so signals arrive and zombies are reaped.
set -euo pipefail

# Seconds to wait after failing the health check: the edge checks every second and gives
# up on a replica after two failures.
DRAIN_SECONDS=${DRAIN_SECONDS:-3}

# What this container runs: both (compose, Swarm, plain docker), or one of the two where each
# runs in a container of its own under its own user (Kubernetes: the sidecar as a native
# sidecar container, MESH_ROLE=proxy; the service beside it, MESH_ROLE=app). They share the
# pod's loopback, so the drain below works the same from either.
ROLE=${MESH_ROLE:-both}
case "$ROLE" in
  both | proxy | app) ;;
  *) echo "entrypoint: MESH_ROLE must be both, proxy or app, got \"$ROLE\"" >&2; exit 2 ;;
esac

# The sidecar carries its Zipkin tracer only while the edge traces (make up sets
# SIDECAR_TRACING=1 when EDGE_TRACE_PERCENT is above 0, as OBSERVE=1 has it): a tracer that
# samples nothing still makes a span per request (docs/performance.md).
TRACING=${SIDECAR_TRACING:-0}
case "$TRACING" in
  0 | 1) ;;
  *) echo "entrypoint: SIDECAR_TRACING must be 0 or 1, got \"$TRACING\"" >&2; exit 2 ;;
esac

# Started as root (compose, Swarm), the sidecar runs as uid 101 and Node as uid 1000, each with
# no capability: the mesh's key in /run/mesh is 101's alone, so code running in Node cannot
# read it. This script stays root to stop them. Started as another user (Kubernetes'
# runAsUser), both run as that user.
as_proxy=() as_app=()
if [ "$(id -u)" = 0 ]; then
  # --no-new-privs as well: an engine that cannot set it for the container (Swarm) still
  # has it for the two processes that serve.
  as_proxy=(setpriv --reuid=101 --regid=101 --clear-groups --inh-caps=-all --no-new-privs)
  as_app=(setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all --no-new-privs)
fi

envoy_pid='' node_pid=''
if [ "$ROLE" != app ]; then
  if [ "$TRACING" = 1 ]; then
    cp /etc/envoy/sidecar.yaml /tmp/sidecar.yaml
  else
    sed '/# tracing: begin$/,/# tracing: end$/d' /etc/envoy/sidecar.yaml > /tmp/sidecar.yaml
  fi
  "${as_proxy[@]}" envoy -c /tmp/sidecar.yaml --disable-hot-restart \
        --concurrency "${ENVOY_CONCURRENCY:-1}" --log-level "${ENVOY_LOG_LEVEL:-warn}" \
        --drain-time-s "$DRAIN_SECONDS" --drain-strategy immediate &
  envoy_pid=$!
fi

# The service listens on loopback only: the sidecar is the only way in. make dev's image runs
# it from the mounted sources instead, reloaded on every change (user-service/dev/reload.ts).
if [ "$ROLE" != proxy ]; then
  if [ "${DEV_RELOAD:-0}" = 1 ]; then
    HOST=127.0.0.1 PORT=5000 "${as_app[@]}" node --import tsx /app/user-service/dev/reload.ts &
  else
    HOST=127.0.0.1 PORT=5000 "${as_app[@]}" node /app/user-service/dist/server.js &
  fi
  node_pid=$!
fi

# POST to the sidecar's admin interface. The slim base image has no curl; bash's /dev/tcp
# is enough for one request.
admin_post() {
  exec 3<>/dev/tcp/127.0.0.1/9901
  printf 'POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$1" >&3
  head -n 1 <&3
  exec 3>&-
}

drain() {
  trap '' TERM INT
  echo "entrypoint: draining: failing the health check, waiting ${DRAIN_SECONDS}s for the edge" >&2
  admin_post /healthcheck/fail >&2 || true
  sleep "$DRAIN_SECONDS"
  admin_post '/drain_listeners?graceful&inboundonly' >&2 || true
  node_status=0
  if [ -n "$node_pid" ]; then
    kill -TERM "$node_pid" 2>/dev/null || true
    wait "$node_pid" || node_status=$?
  fi
  if [ -n "$envoy_pid" ]; then
    kill -TERM "$envoy_pid" 2>/dev/null || true
    wait "$envoy_pid" || true
  fi
  echo "entrypoint: stopped (service exit $node_status)" >&2
  exit "$node_status"
}
trap drain TERM INT

# Wait for the first of them to exit. If we get here rather than into drain(), one of them
# died on its own: take the other down and fail, so the engine sees a dead replica.
status=0
# shellcheck disable=SC2086  # the one or two pids, one word each
wait -n $envoy_pid $node_pid || status=$?
echo "entrypoint: a process exited unexpectedly (status $status); stopping the container" >&2
# shellcheck disable=SC2086
kill -TERM $envoy_pid $node_pid 2>/dev/null || true
wait || true
exit $(( status == 0 ? 1 : status ))
