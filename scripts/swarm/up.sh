#!/usr/bin/env bash
# make swarm-up: deploy the mesh on a Docker Swarm, or update it (compose/stack.yml). Builds
# and copies the images (images.sh), issues the long-lived certificates where due (secrets/static/), renders the
# edge's routes and clusters, labels the nodes for the database and the edge if no node has the
# label yet, deploys, then waits until every service runs its new version. Swarm rolls usersvc
# one task at a time, each new one healthy before an old one stops (stack.yml update_config).
#   SWARM_HOST=ssh://me@manager SWARM_NODES='ssh://me@manager ssh://me@worker' make swarm-up
# N= sets the user service's replicas; otherwise those running are kept (2 on a first deploy).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
. scripts/swarm/lib.sh

fail() { echo "swarm-up: $*" >&2; exit 1; }

# The manager: reachable, in a swarm, a manager.
state=$(sw info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeID}}' 2>&1) ||
  fail "cannot reach the Docker engine at ${SWARM_HOST:-this machine}: ${state##*$'\n'}"
read -r local_state is_manager self <<<"$state"
case "$local_state $is_manager" in
  "active true") ;;
  "active false") fail "${SWARM_HOST:-this machine}'s engine is a swarm worker: set SWARM_HOST to a manager (docker node ls, on a manager, lists them)" ;;
  *) fail "${SWARM_HOST:-this machine}'s engine is not in a swarm ($local_state): run docker swarm init there, or scripts/swarm/lab.sh up for a two-node swarm on this host (then: eval \"\$(scripts/swarm/lab.sh env)\")" ;;
esac

scripts/swarm/images.sh
for image in "${IMAGES[@]}"; do
  tag=$(tag_of "$image")
  export "${image^^}_TAG=$tag"
done

node bin/meshctl.js secrets init >/dev/null
node bin/meshctl.js secrets static "${STATIC_CERT_DAYS:-30}"
SECRETS_V=$(cat secrets/{postgres,usersvc}/*_password secrets/usersvc/token_secret secrets/static/*/*.pem | sha256sum | cut -c1-10)
node bin/meshctl.js edge-config .mesh/swarm/edge 1  # one edge (compose/stack.yml)
EDGE_CONFIG_V=$(cat .mesh/swarm/edge/*.yaml | sha256sum | cut -c1-10)
export SECRETS_V EDGE_CONFIG_V

for role in postgres edge; do
  if [ -z "$(sw node ls -q --filter "node.label=mesh.$role=true")" ]; then
    sw node update --label-add "mesh.$role=true" "$self" >/dev/null
    echo "swarm-up: no node had the label mesh.$role=true; gave it to this manager ($(sw node inspect -f '{{.Description.Hostname}}' "$self"))"
  fi
done

current=$(sw service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' "${STACK}_usersvc" 2>/dev/null || true)
USERSVC_REPLICAS=${N:-${current:-2}}
[[ $USERSVC_REPLICAS =~ ^[1-9][0-9]?$ ]] || fail "N must be a whole number from 1 to 99, got \"$USERSVC_REPLICAS\""
export USERSVC_REPLICAS

# No registry: the nodes use the images they hold, by the tags images.sh gave them.
deployed=$(date -u +%Y-%m-%dT%H:%M:%S)
sw stack deploy --resolve-image never --prune -c compose/stack.yml "$STACK" >/dev/null
# stack deploy keeps a service's image when the file's is unchanged, even if someone ran
# `docker service update --image` since: this checkout's images are what should run.
for image in "${IMAGES[@]}"; do
  want=usermesh/$image:$(tag_of "$image")
  if [ "$(sw service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${STACK}_$image")" != "$want" ]; then
    sw service update --detach --quiet --no-resolve-image --image "$want" "${STACK}_$image" >/dev/null
  fi
done

# Every service converged on its new image, or a clear reason why not.
converged() {
  local service=$1 image=$2 replicas=$3 update running missing node ids
  # A task of this deploy that its node could not start for want of the image.
  mapfile -t ids < <(sw service ps -q "$service")
  missing=$(sw inspect --type task -f '{{.CreatedAt.Format "2006-01-02T15:04:05"}} {{.NodeID}} {{.Spec.ContainerSpec.Image}} {{.Status.Err}}' "${ids[@]}" |
    awk -v since="$deployed" -v image="$image" '$1 >= since && $3 == image && /No such image/ { print $2; exit }')
  if [ -n "$missing" ]; then
    node=$(sw node inspect -f '{{.Description.Hostname}}' "$missing")
    fail "node $node has no image $image: add its engine to SWARM_NODES (e.g. ssh://you@$node) and run make swarm-up again, or copy it yourself: docker save $image | docker -H ssh://you@$node load"
  fi
  update=$(sw service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}: {{.UpdateStatus.Message}}{{end}}' "$service")
  case $update in rollback*|paused*) fail "$service: the update failed and Swarm rolled it back ($update); docker service ps --no-trunc $service says why" ;; esac
  running=$(sw service ps --filter desired-state=running --format '{{.Image}} {{.CurrentState}}' "$service" | grep -c "^$image Running" || true)
  [ "$running" -eq "$replicas" ] && [[ $update != updating* ]]
}

deadline=$((SECONDS + ${SWARM_WAIT:-300}))
until converged "${STACK}_postgres" "usermesh/postgres:$POSTGRES_TAG" 1 &&
      converged "${STACK}_usersvc" "usermesh/usersvc:$USERSVC_TAG" "$USERSVC_REPLICAS" &&
      converged "${STACK}_edge" "usermesh/edge:$EDGE_TAG" 1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    sw service ls --filter "label=com.docker.stack.namespace=$STACK" >&2
    fail "the stack did not converge within ${SWARM_WAIT:-300}s (above: what runs)"
  fi
  sleep 1
done

# The secrets and configs of earlier versions, now unused (Swarm refuses to remove one in use).
for kind in secret config; do
  v=$([ "$kind" = secret ] && echo "$SECRETS_V" || echo "$EDGE_CONFIG_V")
  mapfile -t old < <(sw "$kind" ls --filter "label=com.docker.stack.namespace=$STACK" --format '{{.Name}}' | grep -v "_$v\$")
  if [ "${#old[@]}" -gt 0 ]; then sw "$kind" rm "${old[@]}" >/dev/null 2>&1 || true; fi
done

echo "swarm-up: the stack $STACK runs usersvc $USERSVC_TAG (version $SERVICE_VERSION) x$USERSVC_REPLICAS, edge $EDGE_TAG, postgres $POSTGRES_TAG"
echo "swarm-up: the edge is on port 8000 of node $(sw node ls --filter node.label=mesh.edge=true --format '{{.Hostname}}' | head -1)"
