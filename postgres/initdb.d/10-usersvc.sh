#!/usr/bin/env bash
# Runs once, on the first start with an empty data directory (the entrypoint of the postgres
# image calls it): the service's own role, not a superuser, and its database, which it owns
# so that it can create its table at start-up.
set -euo pipefail
: "${USERSVC_DB_PASSWORD:?must be set}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v password="$USERSVC_DB_PASSWORD" <<'SQL'
CREATE ROLE usersvc LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
CREATE DATABASE users OWNER usersvc;
REVOKE ALL ON DATABASE users FROM PUBLIC;
SQL
