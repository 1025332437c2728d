#!/usr/bin/env bash
# The mesh with plain docker commands: what compose does for us, spelled out.
#   scripts/docker-run.sh up [N]   network, database, N replicas, edge
#   scripts/docker-run.sh down     remove the containers and the network (the data volume stays)
# Same images, network name and ports as the compose stack: run one or the other, not both.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .images.env ] && . ./.images.env   # the offline kit's base images, if built

NODE_IMAGE=${NODE_IMAGE:-node:24-bookworm-slim}
ENVOY_IMAGE=${ENVOY_IMAGE:-envoyproxy/envoy:v1.40-latest}
POSTGRES_IMAGE=${POSTGRES_IMAGE:-postgres:15-bookworm}
DB_PASSWORD=${USERSVC_DB_PASSWORD:-usersvc-dev-only}

up() {
  local replicas=${1:-1}
  docker build -q -t usermesh/postgres:latest --build-arg POSTGRES_IMAGE="$POSTGRES_IMAGE" postgres
  docker build -q -t usermesh/usersvc:latest --build-arg NODE_IMAGE="$NODE_IMAGE" \
    --build-arg ENVOY_IMAGE="$ENVOY_IMAGE" -f user-service/Dockerfile .
  docker build -q -t usermesh/edge:latest --build-arg ENVOY_IMAGE="$ENVOY_IMAGE" envoy

  docker network create appmesh
  docker volume create usermesh-plain-pgdata
  # --network-alias gives the container the DNS name the Envoy configs use.
  docker run -d --name usermesh-postgres --network appmesh --network-alias postgres \
    -e POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-postgres-dev-only}" -e USERSVC_DB_PASSWORD="$DB_PASSWORD" \
    -v usermesh-plain-pgdata:/var/lib/postgresql/data usermesh/postgres:latest
  until docker exec usermesh-postgres pg_isready -U usersvc -d users >/dev/null 2>&1; do sleep 1; done

  # Every replica answers to the alias usersvc: Docker's DNS returns all of them.
  for i in $(seq "$replicas"); do
    docker run -d --init --name "usermesh-usersvc-$i" --network appmesh --network-alias usersvc \
      --stop-timeout 20 \
      -e DATABASE_URL="postgres://usersvc:$DB_PASSWORD@127.0.0.1:5432/users" \
      -e TOKEN_SECRET="${TOKEN_SECRET:-dev-only-token-secret-change-me-0123456789}" \
      usermesh/usersvc:latest
  done

  docker run -d --name usermesh-edge --network appmesh \
    -p 8000:8000 -p 127.0.0.1:8001:8001 usermesh/edge:latest
  . scripts/lib.sh
  wait_for_replicas "$replicas"
}

down() {
  local containers
  containers=$(docker ps -aq --filter name='^usermesh-(postgres|usersvc-[0-9]+|edge)$')
  if [ -n "$containers" ]; then
    # shellcheck disable=SC2086  # one id per word
    docker stop -t 20 $containers >/dev/null && docker rm $containers >/dev/null
  fi
  docker network rm appmesh >/dev/null 2>&1 || true
  echo "removed; the data stays in volume usermesh-plain-pgdata (docker volume rm usermesh-plain-pgdata)"
}

case "${1:-}" in
  up) up "${2:-1}" ;;
  down) down ;;
  *) echo "usage: $0 up [N] | down" >&2; exit 2 ;;
esac
