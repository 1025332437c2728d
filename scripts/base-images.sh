#!/usr/bin/env bash
# Makes sure the base images the mesh's builds start from are on this engine: found, pulled,
# or, when neither works (no registry: air-gapped sites, CI here), built by the offline kit
# (scripts/offline-images.sh), whose .images.env the builds then use. make up runs it first.
# With OBSERVE=1, the observability profile's Prometheus and Zipkin too.
set -euo pipefail
cd "$(dirname "$0")/.."

# The one command that installs Docker here, by the distribution os-release names.
install_hint() {
  local ids
  ids=$(sed -n 's/^ID\(_LIKE\)\?=//p' /etc/os-release 2>/dev/null | tr -d '"' | tr '\n' ' ')
  case " $ids " in
  *" debian "* | *" ubuntu "*) echo "sudo apt-get install docker.io docker-compose && sudo systemctl start docker" ;;
  *" fedora "* | *" rhel "* | *" centos "*) echo "sudo dnf install moby-engine docker-compose && sudo systemctl start docker" ;;
  *" arch "*) echo "sudo pacman -S docker docker-compose && sudo systemctl start docker" ;;
  *) echo "see https://docs.docker.com/engine/install/" ;;
  esac
}

if ! command -v docker >/dev/null; then
  echo "make up needs Docker, and there is none here; to install it and start it: $(install_hint)" >&2
  exit 1
fi
if ! said=$(docker info 2>&1 >/dev/null); then
  echo "make up needs a running Docker engine you may use, and docker info says: $(tail -1 <<<"$said")" >&2
  exit 1
fi

# shellcheck disable=SC1091
if [ -f .images.env ]; then set -a; . ./.images.env; set +a; fi
images=("${NODE_IMAGE:-node:24-bookworm-slim}" "${ENVOY_IMAGE:-envoyproxy/envoy:v1.40-latest}"
  "${POSTGRES_IMAGE:-postgres:15-bookworm}" "${DEBIAN_IMAGE:-debian:bookworm-slim}")
kit=()
if [ "${OBSERVE:-}" = 1 ]; then
  images+=("${PROMETHEUS_IMAGE:-prom/prometheus:v3.5.0}" "${ZIPKIN_IMAGE:-openzipkin/zipkin:3.5.1}")
  kit=(--observe)
fi
missing=() why=''
for image in "${images[@]}"; do
  docker image inspect "$image" >/dev/null 2>&1 && continue
  echo "pulling $image"
  said=$(timeout 300 docker pull -q "$image" 2>&1) && continue
  missing+=("$image") why=$(tail -1 <<<"$said")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "cannot find or pull ${missing[*]} ($why)"
echo "so building the offline kit's stand-ins from Debian, npm and PyPI instead (make images; 2 to 4 minutes)"
exec scripts/offline-images.sh "${kit[@]}"
