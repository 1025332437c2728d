#!/usr/bin/env bash
# The one template rule of the mesh's Envoy files, for the images (scripts/lib/edge-config.ts
# applies the same rule on the host): a YAML value that is exactly ${NAME} becomes the value of
# the variable NAME. The template on stdin, the names to fill as arguments; any ${...} left
# unfilled is an error, so a misspelt name cannot reach Envoy.
#   render.sh HOST_GATEWAY ADMIN_PORT < edge.yaml > /tmp/edge.yaml
set -euo pipefail
text=$(cat)
for name in "$@"; do
  value=${!name?"render.sh: $name is not set"}
  text=${text//"\${$name}"/$value}
done
# shellcheck disable=SC2016  # a literal ${NAME}, looked for, not expanded
if left=$(grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' <<<"$text" | sort -u | tr '\n' ' ') && [ -n "$left" ]; then
  echo "render.sh: the template names what nothing fills: $left" >&2
  exit 2
fi
printf '%s\n' "$text"
