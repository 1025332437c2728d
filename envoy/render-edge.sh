#!/usr/bin/env bash
# Renders the edge's config: envoy/edge.yaml on stdin, the config Envoy reads on stdout. Fills
# in the rate limits (from the environment, defaults below: README "An edge that withstands
# abuse") and HOST_GATEWAY, the one address let into the read-only admin window.
set -euo pipefail
: "${EDGE_LIMIT_HASH_PER_S:=1}"   # creates and logins per second and client address ...
: "${EDGE_LIMIT_HASH_BURST:=10}"  # ... and how many may come at once
: "${EDGE_LIMIT_READ_PER_S:=100}" # every other /user request, per second and client address
: "${EDGE_LIMIT_READ_BURST:=200}"
: "${HOST_GATEWAY:?must name the address that published ports arrive from}"

for name in EDGE_LIMIT_HASH_PER_S EDGE_LIMIT_HASH_BURST EDGE_LIMIT_READ_PER_S EDGE_LIMIT_READ_BURST; do
  value=${!name}
  if ! [[ $value =~ ^[1-9][0-9]{0,8}$ ]]; then
    echo "edge: $name must be a whole number from 1 to 999999999, got \"$value\"" >&2
    exit 2
  fi
done

sed -e "s/\${EDGE_LIMIT_HASH_PER_S}/$EDGE_LIMIT_HASH_PER_S/" \
    -e "s/\${EDGE_LIMIT_HASH_BURST}/$EDGE_LIMIT_HASH_BURST/" \
    -e "s/\${EDGE_LIMIT_READ_PER_S}/$EDGE_LIMIT_READ_PER_S/" \
    -e "s/\${EDGE_LIMIT_READ_BURST}/$EDGE_LIMIT_READ_BURST/" \
    -e "s/HOST_GATEWAY/$HOST_GATEWAY/"
