#!/usr/bin/env bash
# make kubernetes-check: what can be checked of the Kubernetes manifests with no cluster. Each
# kustomization (the base, every overlay) is built with kustomize, and every object in it is
# validated against the Kubernetes API's own schemas, unknown fields refused (PyPI's
# kubernetes-validate, which ships them). The edge's config is checked with Envoy in
# kubernetes/test. The two tools are pinned and installed into .cache/ on first use
# (`check.sh install` does only that; Go builds kustomize from its module, about a minute).
#   scripts/kubernetes/check.sh [install | build DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."

kustomize_version=v5.7.1
validate_version=1.37.0
tools=.cache/kubernetes
if [ ! -x "$tools/bin/kustomize" ]; then
  GOBIN=$PWD/$tools/bin GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_version"
fi
if [ ! -x "$tools/venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$validate_version"
fi

case ${1:-check} in
  install) "$tools/bin/kustomize" version; "$tools/venv/bin/kubernetes-validate" --version ;;
  build) exec "$tools/bin/kustomize" build "${2:?usage: check.sh build DIR}" ;;
  check)
    rendered=$(mktemp -d)
    trap 'rm -rf "$rendered"' EXIT
    for dir in kubernetes/base kubernetes/overlays/*/; do
      name=${dir%/}; name=${name//\//-}
      "$tools/bin/kustomize" build "$dir" > "$rendered/$name.yaml"
      "$tools/venv/bin/kubernetes-validate" --strict --quiet "$rendered/$name.yaml"
      echo "kubernetes: ${dir%/}: $(grep -c '^kind:' "$rendered/$name.yaml") objects, valid (Kubernetes $validate_version schemas, strict)"
    done ;;
  *) echo "usage: scripts/kubernetes/check.sh [install | build DIR]" >&2; exit 2 ;;
esac
