#!/usr/bin/env bash
# The CPU a compose service's containers use with no traffic (health checks, stats flushes,
# DNS refreshes), over SECONDS, from their cgroups: percent of one core, all together and per
# container. make bench's idle figure; also by hand: scripts/bench/idle-cpu.sh [SERVICE] [SECONDS]
set -euo pipefail
service=${1:-usersvc} seconds=${2:-60}
mapfile -t ids < <(docker ps -q --no-trunc --filter "label=com.docker.compose.service=$service")
[ ${#ids[@]} -gt 0 ] || { echo "no running $service container" >&2; exit 1; }

# usage ID: the container's CPU time so far, in microseconds (cgroup v2, or v1's cpuacct).
usage() {
  local v2=/sys/fs/cgroup/system.slice/docker-$1.scope/cpu.stat v1=/sys/fs/cgroup/cpuacct/docker/$1/cpuacct.usage
  if [ -r "$v2" ]; then awk '$1 == "usage_usec" { print $2 }' "$v2"
  elif [ -r "/sys/fs/cgroup/docker/$1/cpu.stat" ]; then awk '$1 == "usage_usec" { print $2 }' "/sys/fs/cgroup/docker/$1/cpu.stat"
  elif [ -r "$v1" ]; then echo $(($(cat "$v1") / 1000))
  else echo "no cgroup CPU figures for container $1" >&2; return 1; fi
}

declare -A before
for id in "${ids[@]}"; do before[$id]=$(usage "$id"); done
start=$(date +%s%N)
sleep "$seconds"
elapsed_us=$((($(date +%s%N) - start) / 1000))
total=0
for id in "${ids[@]}"; do
  used=$(($(usage "$id") - before[$id]))
  total=$((total + used))
  printf '%s %s%%\n' "$(docker inspect -f '{{.Name}}' "$id" | cut -c2-)" "$(awk -v u="$used" -v e="$elapsed_us" 'BEGIN { printf "%.2f", 100 * u / e }')"
done
awk -v u="$total" -v e="$elapsed_us" -v n="${#ids[@]}" -v s="$seconds" \
  'BEGIN { printf "%d %s containers, idle for %d s: %.1f%% of a core together, %.2f%% each\n", n, "'"$service"'", s, 100 * u / e, 100 * u / e / n }'
