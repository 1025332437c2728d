#!/usr/bin/env bash
# Installs the Compose v2 CLI plugin (`docker compose`) built from its Go module, for machines
# whose package manager has only v1 (Debian's docker-compose) and no GitHub downloads (CI here).
# `go install` refuses the module (its go.mod has exclude directives), so this builds it from a
# copy of the downloaded module, stamped with its version (unstamped, containers get the label
# version `dev`, which compose v1 crashes on). About 3 minutes on 2 cores; the binary is kept
# in ~/.cache/usermesh/ and reused while that stays.
#   scripts/compose-v2.sh [DEST]   default /usr/local/lib/docker/cli-plugins/docker-compose
set -euo pipefail

VERSION=${COMPOSE_V2_VERSION:-v2.40.3}
dest=${1:-/usr/local/lib/docker/cli-plugins/docker-compose}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/usermesh/docker-compose-$VERSION

if [ ! -x "$cache" ]; then
  command -v go >/dev/null || { echo "building compose $VERSION needs Go (golang from your packages)" >&2; exit 1; }
  started=$SECONDS
  echo "building docker compose $VERSION from its Go module (about 3 minutes)"
  dir=$(go mod download -json "github.com/docker/compose/v2@$VERSION" | jq -r .Dir)
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
  cp -r "$dir/." "$work"
  chmod -R u+w "$work"
  mkdir -p "$(dirname "$cache")"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$VERSION" -o "$cache.tmp" ./cmd)
  mv "$cache.tmp" "$cache"
  echo "built in $((SECONDS - started))s"
fi
mkdir -p "$(dirname "$dest")"
install -m 755 "$cache" "$dest"
docker compose version
