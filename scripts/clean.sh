#!/usr/bin/env bash
# make clean: remove every container, network and volume of the mesh (the data too), and its
# settings (.env, .mesh/). The images and secrets/ stay, so the next `make up` is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

COMPOSE_PROFILES=canary,observe compose down --volumes --remove-orphans --timeout 20
rm -rf .mesh .env
