#!/usr/bin/env bash
# The mesh with plain docker commands: what compose does for us, spelled out.
#   scripts/docker-run.sh up [N]   secrets, network, database, N replicas, two edges, the keeper
#   scripts/docker-run.sh down     remove the containers and the network (the data volume stays)
# Same images, secrets/, network name and ports as the compose stack: run one or the other.
set -euo pipefail
cd "$(dirname "$0")/.."
# The offline kit's base images, if it built them; the service's version (git's commit).
# shellcheck disable=SC1091
if [ -f .images.env ]; then set -a; . ./.images.env; set +a; fi
SERVICE_VERSION=$(node bin/meshctl.js version --short)

NODE_IMAGE=${NODE_IMAGE:-node:24-bookworm-slim}
ENVOY_IMAGE=${ENVOY_IMAGE:-envoyproxy/envoy:v1.40-latest}
POSTGRES_IMAGE=${POSTGRES_IMAGE:-postgres:15-bookworm}
S=$PWD/secrets

up() {
  local replicas=${1:-1}
  node bin/meshctl.js secrets init
  docker build -q -t usermesh/postgres:latest --build-arg POSTGRES_IMAGE="$POSTGRES_IMAGE" \
    --build-arg ENVOY_IMAGE="$ENVOY_IMAGE" -f postgres/Dockerfile .
  docker build -q -t usermesh/usersvc:latest --build-arg NODE_IMAGE="$NODE_IMAGE" --build-arg SERVICE_VERSION="$SERVICE_VERSION" \
    --build-arg ENVOY_IMAGE="$ENVOY_IMAGE" -f user-service/Dockerfile .
  docker build -q -t usermesh/edge:latest --build-arg ENVOY_IMAGE="$ENVOY_IMAGE" envoy
  docker build -q -t usermesh/mesh-keeper:latest --build-arg DEBIAN_IMAGE="${DEBIAN_IMAGE:-debian:bookworm-slim}" scripts/mesh-keeper

  docker network create appmesh
  docker volume create usermesh-plain-pgdata
  # --restart unless-stopped: a process that dies is restarted, and everything comes back with
  # the engine after a reboot; what you stop (docker stop) stays stopped.
  local always=(--restart unless-stopped)
  # --network-alias gives the container the DNS name the Envoy configs use. Each container
  # mounts its own directory of secrets/ at /run/mesh: certificate, key, CA, its passwords.
  docker run -d --init "${always[@]}" --name usermesh-postgres --network appmesh --network-alias postgres \
    -e POSTGRES_PASSWORD_FILE=/run/mesh/superuser_password -e USERSVC_DB_PASSWORD_FILE=/run/mesh/usersvc_password \
    -v "$S/postgres:/run/mesh:ro" -v usermesh-plain-pgdata:/var/lib/postgresql/data usermesh/postgres:latest
  until docker exec usermesh-postgres test -f /tmp/usersvc-password-set 2>/dev/null; do sleep 1; done

  # Every replica answers to the alias usersvc: Docker's DNS returns all of them.
  for i in $(seq "$replicas"); do
    docker run -d --init "${always[@]}" --name "usermesh-usersvc-$i" --network appmesh --network-alias usersvc \
      --stop-timeout 20 -v "$S/usersvc:/run/mesh:ro" \
      -e DATABASE_URL=postgres://usersvc@127.0.0.1:5432/users \
      -e DATABASE_PASSWORD_FILE=/run/mesh/db_password -e TOKEN_SECRET_FILE=/run/mesh/token_secret \
      usermesh/usersvc:latest
  done

  # The edge's routes and clusters are live files: written on the host, watched by Envoy.
  node bin/meshctl.js edge-config
  # The edge's network and ports belong to a holder that only sleeps; two edges join its
  # namespace and share its ports, each in a slot of its own (the volume usermesh-edge-slots).
  docker run -d --init "${always[@]}" --name usermesh-edge-port --network appmesh --network-alias edge \
    --sysctl net.ipv4.tcp_migrate_req=1 \
    -p 8000:8000 -p 127.0.0.1:8001:8001 "${DEBIAN_IMAGE:-debian:bookworm-slim}" sleep infinity
  for i in 1 2; do
    docker run -d "${always[@]}" --name "usermesh-edge-$i" --network container:usermesh-edge-port \
      --label mesh.follows-network=true -v usermesh-edge-slots:/run/edge-slots \
      -v "$S/edge:/run/mesh:ro" -v "$PWD/.mesh/edge:/etc/envoy/live:ro" usermesh/edge:latest
  done
  # Restarts the edges when they could not join edge-port's network (a reboot) or it restarted.
  docker run -d --init "${always[@]}" --name usermesh-mesh-keeper --network none --read-only \
    --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges:true \
    -v /var/run/docker.sock:/var/run/docker.sock usermesh/mesh-keeper:latest
  node bin/meshctl.js wait "$replicas"   # until the edge counts them healthy
}

down() {
  local containers
  containers=$(docker ps -aq --filter name='^usermesh-(postgres|usersvc-[0-9]+|edge-[0-9]+|edge-port|mesh-keeper)$')
  if [ -n "$containers" ]; then
    # shellcheck disable=SC2086  # one id per word
    docker stop -t 20 $containers >/dev/null && docker rm $containers >/dev/null
  fi
  docker network rm appmesh >/dev/null 2>&1 || true
  docker volume rm usermesh-edge-slots >/dev/null 2>&1 || true
  echo "removed; the data stays in volume usermesh-plain-pgdata (docker volume rm usermesh-plain-pgdata)"
}

case "${1:-}" in
  up) up "${2:-1}" ;;
  down) down ;;
  *) echo "usage: $0 up [N] | down" >&2; exit 2 ;;
esac
