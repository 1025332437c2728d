#!/usr/bin/env bash
# Prints the version of the user service that this tree builds: the short git commit of the
# last change to what goes into its image, with ".dirty-<hash>" when those files have
# uncommitted changes (a hash of the changes, so every edit gets a version of its own).
# SERVICE_VERSION in the environment wins. Outside a git checkout: "dev".
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${SERVICE_VERSION:-}" ]; then echo "$SERVICE_VERSION"; exit 0; fi
inputs=(user-service package.json package-lock.json tsconfig.json envoy/sidecar.yaml envoy/sds)
commit=$(git log -1 --format=%h -- "${inputs[@]}" 2>/dev/null) || { echo dev; exit 0; }
[ -n "$commit" ] || { echo dev; exit 0; }
changes=$( { git diff HEAD -- "${inputs[@]}"; git ls-files -o --exclude-standard -- "${inputs[@]}" | xargs -r cat; } | sha256sum | cut -c1-8)
if git diff --quiet HEAD -- "${inputs[@]}" && [ -z "$(git ls-files -o --exclude-standard -- "${inputs[@]}")" ]; then
  echo "$commit"
else
  echo "$commit.dirty-$changes"
fi
