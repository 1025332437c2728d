#!/usr/bin/env bash
# Prints the one source address a host-only listener lets in: the container's default gateway,
# where Docker's port proxy connects from when a port is published on the host; or $1 when set
# (EDGE_ADMIN_FROM: where no port proxy is in front, such as Kubernetes' port-forward).
set -euo pipefail
if [ -n "${1:-}" ]; then echo "$1"; exit 0; fi
gateway=$(awk '$2 == "00000000" { print $3; exit }' /proc/net/route)
if [ -z "$gateway" ]; then
  echo "no default route, so no host address to let in" >&2
  exit 1
fi
# /proc/net/route writes the address as little-endian hex: 010016AC is 172.22.0.1.
printf '%d.%d.%d.%d\n' "0x${gateway:6:2}" "0x${gateway:4:2}" "0x${gateway:2:2}" "0x${gateway:0:2}"
