#!/usr/bin/env bash
# The mesh keeper. Docker restarts what dies, but not a container that shares another's network
# namespace (compose: network_mode: service:X) when X does not run yet: after an engine restart
# (a reboot) such a container stays down ("cannot join network of a non running container",
# moby/moby#50326); and when X itself restarts, it keeps running in X's old namespace, cut off.
# The edges share the port holder's namespace (edge-port), Prometheus and Zipkin their proxy's.
# So this restarts every container labelled mesh.follows-network=true whose namespace owner
# runs now, if it failed to start for want of it (State.Error) or started before the owner's
# latest start. It looks once at start-up, then at every container start the engine reports,
# and once a minute. Nothing else: a container stopped on purpose stays stopped.
# It holds the engine's socket, which is root on the host: it has no network, no capabilities
# and a read-only filesystem (compose/docker-compose.yml).
set -euo pipefail

SOCKET=${DOCKER_SOCKET:-/var/run/docker.sock}
# -s: a container that went between two calls is no error worth printing.
api() { curl -fs --unix-socket "$SOCKET" "$@"; }
filters() { jq -rn --arg f "$1" '$f | @uri'; }
log() { echo "mesh-keeper: $*" >&2; }

# Seconds since the epoch, with the fraction (Docker's StartedAt: RFC 3339 with nanoseconds).
SECONDS_OF='def t: (sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) + ((capture("(?<f>\\.[0-9]+)Z$").f // ".0") | tonumber);'

reconcile() {
  local id follower mode owner verdict
  for id in $(api "http://docker/containers/json?all=1&filters=$(filters '{"label":["mesh.follows-network=true"]}')" | jq -r '.[].Id'); do
    follower=$(api "http://docker/containers/$id/json") || continue
    mode=$(jq -r '.HostConfig.NetworkMode' <<<"$follower")
    [[ $mode == container:* ]] || continue
    owner=$(api "http://docker/containers/${mode#container:}/json") || continue
    # What to do: "start" (it failed to join a namespace that was not there), "restart" (it
    # runs in a namespace its owner has since left), or nothing.
    verdict=$(jq -rn --argjson f "$follower" --argjson o "$owner" "$SECONDS_OF"'
      if ($o.State.Running | not) then ""
      elif ($f.State.Running | not) and ($f.State.Error | test("non running container|network namespace")) then "start"
      elif $f.State.Running and (($f.State.StartedAt | t) < ($o.State.StartedAt | t)) then "restart"
      else "" end') || continue
    [ -n "$verdict" ] || continue
    local name owner_name
    name=$(jq -r '.Name | ltrimstr("/")' <<<"$follower")
    owner_name=$(jq -r '.Name | ltrimstr("/")' <<<"$owner")
    if api -X POST "http://docker/containers/$id/$verdict" >/dev/null; then
      if [ "$verdict" = start ]; then
        log "started $name: it could not join the network of $owner_name, which was not running yet"
      else
        log "restarted $name: it ran in the network $owner_name had before it restarted"
      fi
    else
      log "could not $verdict $name (it shares the network of $owner_name)"
    fi
  done
}

# Subscribe first, then look: a start between the two is in the stream.
exec {events}< <(api -N "http://docker/events?filters=$(filters '{"type":["container"],"event":["start"]}')")
log "watching for containers labelled mesh.follows-network=true"
reconcile
while :; do
  status=0
  read -r -t 60 _ <&"$events" || status=$?
  if [ "$status" -eq 0 ] || [ "$status" -gt 128 ]; then
    reconcile  # an event, or a minute without one
  else
    log "the engine's event stream ended"
    exit 1  # the restart policy brings the keeper back with the engine
  fi
done
