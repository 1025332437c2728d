# Sourced by the swarm scripts: the engines they talk to, and the images' tags.
# shellcheck shell=bash
# shellcheck disable=SC2034  # STACK, NODES and IMAGES are for the scripts that source this

STACK=usermesh
# SWARM_HOST: a manager of the swarm (a Docker host: unix://..., ssh://user@host, tcp://...);
# empty means this machine's own engine. SWARM_NODES: the engines that get the images, every
# node of the swarm (no registry: docker save | docker load); by default SWARM_HOST alone.
SWARM_HOST=${SWARM_HOST:-}
read -r -a NODES <<<"${SWARM_NODES:-${SWARM_HOST:-local}}"
IMAGES=(usersvc edge postgres)

# docker against the swarm's manager.
sw() { docker ${SWARM_HOST:+-H "$SWARM_HOST"} "$@"; }
# docker against one node of SWARM_NODES ("local": this machine's engine).
on_node() { local node=$1; shift; if [ "$node" = local ]; then docker "$@"; else docker -H "$node" "$@"; fi; }

# The tag the swarm runs an image under: its content id, so that it names one build on every
# node (a registry would pin a digest; without one, :latest could differ from node to node).
tag_of() { docker image inspect -f '{{.Id}}' "usermesh/$1:latest" | cut -c8-19; }
