#!/usr/bin/env bash
# Builds the image usermesh/loadgen (scripts/bench/loadgen/): vegeta, compiled here from the
# Go module proxy at the version loadgen/go.mod pins, and Debian's wrk. Needs Go and Docker.
set -euo pipefail
cd "$(dirname "$0")/loadgen"
command -v go >/dev/null || { echo "make bench needs Go (https://go.dev/dl/) to build vegeta" >&2; exit 1; }
arch=$(docker version --format '{{.Server.Arch}}')
version=$(go list -m -f '{{.Version}}' github.com/tsenart/vegeta/v12)
CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath -ldflags "-X main.Version=$version" -o vegeta github.com/tsenart/vegeta/v12
if ! out=$(docker build -q -t usermesh/loadgen --build-arg DEBIAN_IMAGE="${DEBIAN_IMAGE:-debian:bookworm-slim}" . 2>&1); then
  echo "$out" >&2
  exit 1
fi
echo "usermesh/loadgen: vegeta $version, $(docker run --rm usermesh/loadgen sh -c 'wrk -v 2>&1 | head -1 | cut -d" " -f1-2')"
