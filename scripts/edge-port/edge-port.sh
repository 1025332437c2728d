#!/usr/bin/env bash
# The edge's port holder (compose's edge-port): it holds the network namespace the edges run in,
# with the published ports, and bounds how many connections one client address may hold open
# to the edge's ports, 8000 and 8443: EDGE_CONNECTIONS_PER_CLIENT (256), counted by the
# kernel (iptables connlimit) in this namespace, so one client holding thousands of idle
# connections cannot use up the edge's 10,000 for everyone. Past the bound, a new connection
# is reset at once. Clients from other hosts arrive with their own addresses (Docker's DNAT);
# the host's own clients, and IPv6 clients, arrive through Docker's port proxy from the
# network's gateway, so they share one bound. The mesh's own containers on appmesh (the
# bench's load generator) are not bounded.
set -euo pipefail
limit=${EDGE_CONNECTIONS_PER_CLIENT:-256}
if ! [[ $limit =~ ^[1-9][0-9]{0,5}$ ]]; then
  echo "edge-port: EDGE_CONNECTIONS_PER_CLIENT must be a whole number from 1, got \"$limit\"" >&2
  exit 2
fi
ports=(-p tcp --syn -m multiport --dports "8000,8443")
# bound TABLE MASK GATEWAY SUBNET: in iptables or ip6tables, the host's clients (through the
# gateway) share one bound, the mesh's own network is not bounded, and every other client is
# bounded by its address (IPv4) or its /64 (IPv6: one host's share, so that a client cannot
# open the bound again from each address of its prefix).
bound() {
  local over=(-m connlimit --connlimit-above "$limit" --connlimit-mask "$2" -j REJECT --reject-with tcp-reset)
  "$1" -A INPUT "${ports[@]}" -s "$3" "${over[@]}" &&
    "$1" -A INPUT "${ports[@]}" -s "$4" -j ACCEPT &&
    "$1" -A INPUT "${ports[@]}" "${over[@]}"
}
# A bound that cannot be set (a kernel without connlimit) stops this container, and so the edge
# that shares its namespace, rather than let it serve with no bound: meshctl check and its log
# say why.
gateway=$(ip -4 route show default | awk '{print $3; exit}')
subnet=$(ip -4 -o addr show dev eth0 | awk '{print $4; exit}')
if ! bound iptables 32 "$gateway" "$subnet"; then
  echo "edge-port: could not bound the connections per client (iptables connlimit): not serving without it" >&2
  exit 1
fi
echo "edge-port: at most $limit connections per client address to 8000 and 8443 (the host's own, through $gateway, as one)"
# IPv6, where the network gives the edge an address of its own (an IPv6 subnet on appmesh).
# (A kernel or a network without IPv6 answers nothing, or fails: no IPv6 clients, no rule.)
subnet6=$(ip -6 -o addr show dev eth0 scope global 2>/dev/null | awk '{print $4; exit}' || true)
if [ -n "$subnet6" ]; then
  gateway6=$(ip -6 route show default 2>/dev/null | awk '{print $3; exit}' || true)
  if ! bound ip6tables 64 "${gateway6:-::1}" "$subnet6"; then
    echo "edge-port: could not bound IPv6 clients' connections (ip6tables connlimit): not serving without it" >&2
    exit 1
  fi
  echo "edge-port: at most $limit connections per client /64 over IPv6"
fi
exec sleep infinity
