#!/usr/bin/env bash
# make canary: build the tree as it is now as usermesh/usersvc:canary and start it beside the
# stable replicas; the edge sends it WEIGHT percent (default 10) and every x-canary: 1 request.
# Then make promote (roll the stable set onto it) or make rollback (remove it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

compose build usersvc-canary
node --import tsx scripts/rollout/main.ts canary
