#!/usr/bin/env bash
# shellcheck disable=SC2317  # stop() runs from the trap
# The postgres container's entrypoint: PostgreSQL (through the base image's docker-entrypoint.sh,
# on 127.0.0.1:5433) and its Envoy sidecar (the mesh's way in, :5432) side by side. If either
# exits, the other is stopped and the container exits non-zero. It also sets the usersvc role's
# password from the install's secret file at every start, so the file is what counts: a
# regenerated secrets/ directory, or data from before secrets were generated, still works.
set -euo pipefail

# A server killed outright (an engine or host that died) leaves postmaster.pid behind, naming
# its PID in a namespace that is gone. PostgreSQL refuses to start while that PID belongs to
# any live process here, and under this wrapper its own PID varies, so it would never start
# again. This container holds a lock on the data directory for as long as any of its
# processes lives (the descriptor is inherited): holding it proves no other container's
# server uses the directory, so the file is stale and goes.
if [ -d "$PGDATA" ]; then
  exec 9<"$PGDATA"
  if ! flock -n 9; then
    echo "entrypoint: another container's PostgreSQL uses $PGDATA; not starting a second one" >&2
    exit 1
  fi
  if [ -f "$PGDATA/postmaster.pid" ]; then
    echo "entrypoint: removing postmaster.pid left by a server that did not shut down (PID $(head -1 "$PGDATA/postmaster.pid"))" >&2
    rm -f "$PGDATA/postmaster.pid"
  fi
fi
# The socket's lock file has the same flaw where its directory outlives the server: compose and
# Swarm mount a tmpfs there, gone with the container, but Kubernetes' emptyDir survives a
# container's restart. No server of this container runs before this line: any found is stale.
for lock in /var/run/postgresql/.s.PGSQL.*.lock; do
  [ -e "$lock" ] || continue
  echo "entrypoint: removing $lock left by a server that did not shut down (PID $(head -1 "$lock"))" >&2
  rm -f "$lock" "${lock%.lock}"
done

envoy -c /etc/envoy/postgres-sidecar.yaml --disable-hot-restart --concurrency 1 \
      --log-level "${ENVOY_LOG_LEVEL:-warn}" &
envoy_pid=$!
docker-entrypoint.sh "$@" &
pg_pid=$!

stop() {
  trap '' TERM INT
  kill -INT "$pg_pid" 2>/dev/null || true  # PostgreSQL's fast shutdown: roll back, close, exit
  wait "$pg_pid" || true
  kill -TERM "$envoy_pid" 2>/dev/null || true
  wait "$envoy_pid" || true
  exit 0
}
trap stop TERM INT

# Retries until the server answers and the role exists (created on first start), for 2 minutes.
sync_password() {
  local deadline=$((SECONDS + 120))
  until psql -q -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
          >/dev/null 2>&1 <<SQL
\set pw \`cat ${USERSVC_DB_PASSWORD_FILE:?must be set}\`
-- A failed statement is logged with its text, the password in it (before the role exists,
-- say): not this session's.
SET log_min_error_statement = panic;
ALTER ROLE usersvc PASSWORD :'pw';
SQL
  do
    if [ "$SECONDS" -ge "$deadline" ]; then echo "entrypoint: could not set the usersvc password" >&2; return 1; fi
    sleep 1
  done
  touch /tmp/usersvc-password-set
}
sync_password &

status=0
wait -n "$envoy_pid" "$pg_pid" || status=$?
echo "entrypoint: a process exited unexpectedly (status $status); stopping the container" >&2
kill -TERM "$envoy_pid" 2>/dev/null || true
kill -INT "$pg_pid" 2>/dev/null || true
wait "$envoy_pid" "$pg_pid" || true
exit $(( status == 0 ? 1 : status ))
