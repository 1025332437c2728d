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
gateway=$(ip -4 route show default | awk '{print $3; exit}')
subnet=$(ip -4 -o addr show dev eth0 | awk '{print $4; exit}')
ports=(-p tcp --syn -m multiport --dports "8000,8443")
bound=(-m connlimit --connlimit-above "$limit" --connlimit-mask 32 -j REJECT --reject-with tcp-reset)
# A rule that cannot be set (a kernel without connlimit) is said, and the edge serves anyway:
# meshctl check names it.
if iptables -A INPUT "${ports[@]}" -s "$gateway" "${bound[@]}" &&
  iptables -A INPUT "${ports[@]}" -s "$subnet" -j ACCEPT &&
  iptables -A INPUT "${ports[@]}" "${bound[@]}"; then
  echo "edge-port: at most $limit connections per client address to 8000 and 8443 (the host's own, through $gateway, as one)"
else
  echo "edge-port: could not bound the connections per client (iptables connlimit): every client may hold up to the edge's 10,000" >&2
fi
exec sleep infinity
