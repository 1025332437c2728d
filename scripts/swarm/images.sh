#!/usr/bin/env bash
# Builds the images here and copies them to every node in SWARM_NODES under the tag the
# swarm runs (scripts/swarm/lib.sh), with docker save | docker load: there is no registry.
# A node that already has a tag is skipped, so only a changed image travels; the nodes are
# served at once.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
. scripts/swarm/lib.sh

build_images
tagged=()
for image in "${IMAGES[@]}"; do
  tag=$(tag_of "$image")
  docker tag "usermesh/$image:latest" "usermesh/$image:$tag"
  tagged+=("usermesh/$image:$tag")
done

copy_to() {
  local node=$1 image
  for image in "${tagged[@]}"; do
    if on_node "$node" image inspect "$image" >/dev/null 2>&1; then continue; fi
    echo "swarm: copying $image to $node"
    docker save "$image" | on_node "$node" load -q >/dev/null
  done
}
pids=()
for node in "${NODES[@]}"; do copy_to "$node" & pids+=($!); done
for pid in "${pids[@]}"; do wait "$pid"; done
