#!/usr/bin/env bash
# A two-node Docker Swarm on this one host, for trying the stack and for its test: two more
# Docker engines, each in a network namespace of its own (its own address on a private bridge,
# its own data, sockets and hostname), the host's engine and its compose mesh left alone.
#   scripts/swarm/lab.sh up        create the engines, init the swarm on node1, join node2
#   scripts/swarm/lab.sh env       the variables that point make swarm-* at the lab
#   scripts/swarm/lab.sh exec N CMD...   run CMD as if on node N: its network (localhost), its engine
#   scripts/swarm/lab.sh lose N    node N goes away at once: its link is cut, its engine frozen
#   scripts/swarm/lab.sh down      remove all of it (engines, namespaces, bridge, rule, data)
# Needs root, iproute2, nsenter and the host's dockerd (for its DOCKER-USER chain).
set -euo pipefail

BRIDGE=meshlab0
NET=10.231.0            # the bridge is .1, node N is .1N
RUN=/run/meshlab        # sockets, pidfiles, logs, exec roots
DATA=/var/lib/meshlab   # data roots
NODES=(1 2)

addr() { echo "$NET.1$1"; }
sock() { echo "unix://$RUN/node$1.sock"; }
on() { local n=$1; shift; docker -H "$(sock "$n")" "$@"; }
nsname() { echo "meshlab-node$1"; }

start_node() {
  local n=$1 ns; ns=$(nsname "$n")
  ip netns add "$ns"
  ip link add "mlab$n" type veth peer name eth0 netns "$ns"
  ip link set "mlab$n" master "$BRIDGE" up
  ip -n "$ns" addr add "$(addr "$n")/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  # No default route: the engines reach nothing but each other, so their attempt to pull an
  # image from a registry fails at once (with one, a DNS lookup timed out for 20 s first).
  mkdir -p "$RUN/node$n" "$DATA/node$n"
  # nsenter, not `ip netns exec`: that remounts /sys and hides the cgroups dockerd needs.
  # unshare --uts: each node reports its own hostname to the swarm.
  nohup nsenter --net="/var/run/netns/$ns" unshare --uts sh -c \
    "hostname $ns && exec dockerd --data-root $DATA/node$n --exec-root $RUN/node$n \
       --pidfile $RUN/node$n.pid -H $(sock "$n") --bip 10.231.$((n * 10)).1/24" \
    >"$RUN/node$n.log" 2>&1 &
  for _ in $(seq 60); do on "$n" info >/dev/null 2>&1 && return; sleep 1; done
  echo "lab: node$n's engine did not start; its log ($RUN/node$n.log) ends:" >&2
  tail -5 "$RUN/node$n.log" >&2
  return 1
}

up() {
  if ip link show "$BRIDGE" >/dev/null 2>&1 || [ -e "$RUN" ] || [ -e "$DATA" ]; then
    echo "lab: already up, or left over ($BRIDGE, $RUN, $DATA): scripts/swarm/lab.sh down removes it" >&2
    return 1
  fi
  ip link add "$BRIDGE" type bridge
  ip addr add "$NET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # The host engine's FORWARD policy drops bridged traffic between the namespaces otherwise.
  iptables -I DOCKER-USER -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  for n in "${NODES[@]}"; do start_node "$n"; done
  on 1 swarm init --advertise-addr "$(addr 1)" >/dev/null
  on 2 swarm join --token "$(on 1 swarm join-token -q worker)" "$(addr 1):2377" >/dev/null
  echo "lab: a swarm of node1 ($(addr 1), manager) and node2 ($(addr 2), worker)"
  print_env
}

print_env() {
  echo "export SWARM_HOST=$(sock 1) SWARM_NODES='$(sock 1) $(sock 2)' SWARM_EDGE=$(addr 1)"
}

lose() {
  local n=$1
  ip link set "mlab$n" down
  ip -n "$(nsname "$n")" link set eth0 down
  pkill -STOP -F "$RUN/node$n.pid"
  echo "lab: node$n is gone (link down, engine frozen)"
}

down() {
  for n in "${NODES[@]}"; do
    local pidfile=$RUN/node$n.pid
    if [ -f "$pidfile" ]; then
      pkill -CONT -F "$pidfile" || true
      on "$n" swarm leave --force >/dev/null 2>&1 || true
      # The engine stops its containers first, each within its stop grace period (20 s).
      pkill -TERM -F "$pidfile" || true
      for _ in $(seq 120); do pkill -0 -F "$pidfile" 2>/dev/null || break; sleep 0.5; done
      pkill -KILL -F "$pidfile" 2>/dev/null || true
    fi
    # Whatever outlived its engine: container shims (named by the engine's sockets) and theirs.
    for shim in $(pgrep -f "$RUN/node$n/" || true); do pkill -KILL -P "$shim" || true; kill -KILL "$shim" 2>/dev/null || true; done
    ip netns del "$(nsname "$n")" 2>/dev/null || true
    ip link del "mlab$n" 2>/dev/null || true
  done
  iptables -D DOCKER-USER -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || true
  ip link del "$BRIDGE" 2>/dev/null || true
  # What the engines left mounted (container layers, network namespaces), deepest first.
  awk -v run="$RUN/" -v data="$DATA/" 'index($2, run) == 1 || index($2, data) == 1 { print $2 }' /proc/mounts |
    sort -r | xargs -r -n1 umount -l
  rm -rf "$RUN" "$DATA"
  if [ -e "$RUN" ] || [ -e "$DATA" ]; then echo "lab: could not remove $RUN or $DATA" >&2; return 1; fi
  echo "lab: removed"
}

case ${1:-} in
  up) up ;;
  env) print_env ;;
  exec) n=$2; shift 2; DOCKER_HOST=$(sock "$n") exec nsenter --net="/var/run/netns/$(nsname "$n")" "$@" ;;
  lose) lose "$2" ;;
  down) down ;;
  *) echo "usage: scripts/swarm/lab.sh up | env | exec N CMD... | lose N | down" >&2; exit 2 ;;
esac
