#!/usr/bin/env bash
# make scale N=3: run N user-service replicas and wait until the edge routes to all of them.
# Replicas that go away are drained first (see user-service/entrypoint.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

replicas=${1:?usage: scale.sh N}
compose up -d --no-build --no-recreate --scale "usersvc=$replicas" usersvc
wait_for_replicas "$replicas"
