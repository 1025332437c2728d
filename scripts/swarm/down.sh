#!/usr/bin/env bash
# make swarm-down: remove the stack from the swarm (its services, network, secrets and configs)
# and wait until its containers are gone. The database's volume stays on its node, as with
# make down; `docker volume rm usermesh_pgdata` there removes it.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/swarm/lib.sh

sw stack rm "$STACK"
deadline=$((SECONDS + ${SWARM_WAIT:-120}))
until [ -z "$(sw service ls -q --filter "label=com.docker.stack.namespace=$STACK")" ] &&
      [ -z "$(sw network ls -q --filter "label=com.docker.stack.namespace=$STACK")" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then echo "swarm-down: the stack $STACK is still there after ${SWARM_WAIT:-120}s" >&2; exit 1; fi
  sleep 1
done
echo "swarm-down: the stack $STACK is removed"
