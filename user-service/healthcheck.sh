#!/usr/bin/env bash
# The replica's health check (compose, Swarm, Kubernetes' probes), in bash alone: no runtime to
# start, so about a millisecond of CPU where `node -e fetch(...)` took 130 ms, every 5 s per
# replica. Healthy: the service answers GET /user/health with 200, and its sidecar's /ready
# does too (the traffic port speaks only mutual TLS). `healthcheck service`: the service only
# (Kubernetes' liveness probe); `healthcheck sidecar`: the sidecar only (the startup probe of
# its own container on Kubernetes).
set -euo pipefail

# ok PORT PATH: one HTTP/1.1 GET on 127.0.0.1, and whether it answered 200 within 2 s.
ok() {
  local status
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&3
  read -r -t 2 _ status _ <&3
  exec 3<&-
  [ "$status" = 200 ]
}

[ "${1:-}" = sidecar ] || ok 5000 /user/health
[ "${1:-}" = service ] || ok 9102 /ready
