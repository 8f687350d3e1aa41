#!/bin/sh
# Entrypoint of the host-built `mariadb:10.11` test image (scripts/setup-container-engine.sh). It
# keeps the official image's contract, which Paved's `container` driver relies on:
#   MARIADB_ROOT_PASSWORD (required), MARIADB_DATABASE, MARIADB_USER + MARIADB_PASSWORD (a user
#   with every privilege on that database, from any host); data in /var/lib/mysql, initialised on
#   first start only; mariadbd runs as the unprivileged `mysql` user and listens on 0.0.0.0:3306.
set -eu

if [ "${1#-}" != "$1" ]; then set -- mariadbd "$@"; fi

if [ "$1" = mariadbd ] && [ "$(id -u)" = 0 ]; then
  mkdir -p /var/lib/mysql /run/mysqld
  chown -R mysql:mysql /var/lib/mysql /run/mysqld
  # POSIXLY_CORRECT: su must not take the server's own options (--port …) for its own.
  POSIXLY_CORRECT=1 exec su -p -s /bin/sh mysql -c 'unset POSIXLY_CORRECT; exec "$0" "$@"' "$0" "$@"
fi

# A value inside '…' in SQL.
sql_string() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g"; }
# A name inside `…` in SQL.
sql_name() { printf '%s' "$1" | sed 's/`/``/g'; }

if [ "$1" = mariadbd ] && [ ! -d /var/lib/mysql/mysql ]; then
  if [ -z "${MARIADB_ROOT_PASSWORD:-}" ]; then
    echo "error: the database is uninitialised and MARIADB_ROOT_PASSWORD is not set" >&2
    exit 1
  fi
  mariadb-install-db --datadir=/var/lib/mysql --basedir=/usr --skip-test-db \
    --auth-root-authentication-method=normal >/dev/null
  # A server for the set-up only: no network, so nothing connects before the users exist.
  mariadbd --datadir=/var/lib/mysql --skip-networking --socket=/run/mysqld/init.sock &
  pid=$!
  tries=0
  until mariadb --socket=/run/mysqld/init.sock -uroot -e 'select 1' >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 60 ]; then echo "error: the set-up server did not start" >&2; exit 1; fi
    sleep 1
  done
  {
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$(sql_string "$MARIADB_ROOT_PASSWORD")';"
    echo "DROP USER IF EXISTS ''@'localhost';"
    if [ -n "${MARIADB_DATABASE:-}" ]; then
      echo "CREATE DATABASE IF NOT EXISTS \`$(sql_name "$MARIADB_DATABASE")\`;"
    fi
    if [ -n "${MARIADB_USER:-}" ] && [ -n "${MARIADB_PASSWORD:-}" ]; then
      echo "CREATE USER '$(sql_string "$MARIADB_USER")'@'%' IDENTIFIED BY '$(sql_string "$MARIADB_PASSWORD")';"
      if [ -n "${MARIADB_DATABASE:-}" ]; then
        echo "GRANT ALL ON \`$(sql_name "$MARIADB_DATABASE")\`.* TO '$(sql_string "$MARIADB_USER")'@'%';"
      fi
    fi
  } | mariadb --socket=/run/mysqld/init.sock -uroot
  kill "$pid"
  wait "$pid" || true
  echo "initialised /var/lib/mysql for user \"${MARIADB_USER:-}\" and database \"${MARIADB_DATABASE:-}\""
fi

exec "$@"
