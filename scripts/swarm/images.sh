#!/usr/bin/env bash
# Builds the images here and copies them to every node in SWARM_NODES under the tag the
# swarm runs (scripts/swarm/lib.sh), with docker save | docker load: there is no registry.
# A node that already has a tag is skipped, so only a changed image travels.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
. scripts/swarm/lib.sh

build_images
for image in "${IMAGES[@]}"; do
  tag=$(tag_of "$image")
  docker tag "usermesh/$image:latest" "usermesh/$image:$tag"
  for node in "${NODES[@]}"; do
    if on_node "$node" image inspect "usermesh/$image:$tag" >/dev/null 2>&1; then continue; fi
    echo "swarm: copying usermesh/$image:$tag to $node"
    docker save "usermesh/$image:$tag" | on_node "$node" load -q >/dev/null
  done
done
