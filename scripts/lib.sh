# Sourced by the scripts that are still bash (scripts/swarm/, scripts/docker-run.sh) until
# they move into meshctl: the compose command, the images, waiting for the edge. Everything
# else runs compose through scripts/lib/compose.ts.
# shellcheck shell=bash

# The offline kit's base images, if it built them (the Makefile reads the same file).
# shellcheck disable=SC1091
if [ -f .images.env ]; then set -a; . ./.images.env; set +a; fi

# Compose finds its file and project in .env, which make up writes (scripts/lib/settings.ts);
# before the first make up, here. make dev: the replicas run this checkout's sources,
# reloading on change (compose/dev.yml), from make dev until the next make up.
if [ ! -f .env ]; then export COMPOSE_FILE=compose/docker-compose.yml COMPOSE_PROJECT_NAME=usermesh; fi
if [ -f .mesh/dev ]; then export COMPOSE_FILE=compose/docker-compose.yml:compose/dev.yml; fi

# The user service's version, built into its image (scripts/version.sh).
SERVICE_VERSION=$(scripts/version.sh)
export SERVICE_VERSION

# Compose v2 (`docker compose`) where it is installed, else v1 (`docker-compose`);
# COMPOSE_CLI=v1 or v2 chooses (make e2e-v1 runs the mesh's tests with v1 beside v2).
compose() {
  case ${COMPOSE_CLI:-} in
    v1) docker-compose "$@" ;;
    v2) docker compose "$@" ;;
    *) if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi ;;
  esac
}

# Builds the mesh's images (what changed). Behind a TLS-intercepting proxy, CA_FILE=/path/ca.pem
# hands the build a CA to trust for `npm ci`, as .extra-ca.pem in the build context; a host
# that trusts extra CAs for Node (NODE_EXTRA_CA_CERTS) passes them on.
build_images() {
  local ca=${CA_FILE:-${NODE_EXTRA_CA_CERTS:-}}
  if [ -n "$ca" ]; then cmp -s "$ca" .extra-ca.pem || cp "$ca" .extra-ca.pem; fi
  compose build postgres usersvc edge mesh-ca mesh-keeper
}

EDGE_ADMIN="http://127.0.0.1:${EDGE_ADMIN_PORT:-8001}"

# How many usersvc hosts the edge currently counts as healthy (0 if the edge is not up).
healthy_replicas() {
  { curl -fsS --max-time 2 "$EDGE_ADMIN/clusters" 2>/dev/null || true; } |
    grep -c '^usersvc::.*::health_flags::healthy$' || true
}

# Waits until the edge sees exactly $1 healthy replicas, for up to $2 seconds (default 90).
wait_for_replicas() {
  local want=$1 deadline=$((SECONDS + ${2:-90}))
  until [ "$(healthy_replicas)" -eq "$want" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "the edge sees $(healthy_replicas) healthy usersvc replicas, not $want, after ${2:-90}s" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "the edge sees $want healthy usersvc replica(s)"
}
