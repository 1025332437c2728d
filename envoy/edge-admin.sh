#!/usr/bin/env bash
# edge-admin METHOD PATH: one request to this edge's own admin interface (127.0.0.1, the port
# its entrypoint chose: /tmp/admin-port), for `docker exec`: the rollout asks a new edge
# whether it is ready and tells an old one to drain. Prints the raw HTTP response. The image
# has no curl; bash's /dev/tcp is enough for one request.
set -euo pipefail
method=${1:?usage: edge-admin METHOD PATH}
path=${2:?usage: edge-admin METHOD PATH}
port=$(cat /tmp/admin-port)
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$method" "$path" >&3
cat <&3
