#!/usr/bin/env bash
# The stand-in postgres image's entrypoint: on an empty data directory, initialise it as the
# official image does (superuser from POSTGRES_USER / POSTGRES_PASSWORD, database POSTGRES_DB,
# then every /docker-entrypoint-initdb.d script), then run the server in the foreground.
set -euo pipefail

# The official image's *_FILE convention: the password may come from a file (a compose secret).
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then POSTGRES_PASSWORD=$(<"$POSTGRES_PASSWORD_FILE"); fi
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
export POSTGRES_USER POSTGRES_DB

if [ "${1:-postgres}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "docker-entrypoint: POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE must be set" >&2
    exit 1
  fi
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
         --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"

  # A private server on the Unix socket only, for the initialisation scripts.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  export PGUSER="$POSTGRES_USER" PGHOST=/var/run/postgresql
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --dbname postgres -qc "CREATE DATABASE \"$POSTGRES_DB\""
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)  if [ -x "$f" ]; then "$f"; else # shellcheck disable=SC1090
               . "$f"; fi ;;
      *.sql) psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -f "$f" ;;
      *) ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  unset PGUSER PGHOST
  echo "docker-entrypoint: database initialised"
fi

if [ "${1:-postgres}" = postgres ]; then
  exec postgres -c listen_addresses='*' "${@:2}"
fi
exec "$@"
