#!/bin/sh
# Entrypoint of the host-built `postgres:15` test image (scripts/setup-container-engine.sh). It keeps
# the official image's contract, which is what Paved's `container` driver relies on:
#   POSTGRES_PASSWORD (required), POSTGRES_USER (default postgres), POSTGRES_DB (default the user);
#   data in $PGDATA (/var/lib/postgresql/data), initialised on first start only; the server runs as
#   the unprivileged `postgres` user and listens on 0.0.0.0:5432 with scram-sha-256 passwords.
set -eu

# `docker run postgres:15 -c foo=bar` passes server options, as with the official image.
if [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  # initdb refuses to run as root: drop to the postgres user, environment kept.
  # POSIXLY_CORRECT: su must not take the server's own options (--port …) for its own.
  POSIXLY_CORRECT=1 exec su -p -s /bin/sh postgres -c 'unset POSIXLY_CORRECT; exec "$0" "$@"' "$0" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "error: the database is uninitialised and POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  if [ "$db" != postgres ]; then
    quoted=$(printf '%s' "$db" | sed 's/"/""/g')
    # Single-user mode: no server listens before the database exists.
    printf 'CREATE DATABASE "%s"\n' "$quoted" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "initialised $PGDATA for user \"$user\" and database \"$db\""
fi

exec "$@"
