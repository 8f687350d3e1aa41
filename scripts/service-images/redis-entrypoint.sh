#!/bin/sh
# Entrypoint of the host-built `redis:7` test image (scripts/setup-container-engine.sh), as the
# official image's: arguments starting with `-` (or a .conf file) go to redis-server; redis-server
# runs as the unprivileged `redis` user, its data in /data (the working directory).
set -eu

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  chown -R redis:redis /data
  # POSIXLY_CORRECT: su must not take the server's own options (--port …) for its own.
  POSIXLY_CORRECT=1 exec su -p -s /bin/sh redis -c 'unset POSIXLY_CORRECT; exec "$0" "$@"' "$0" "$@"
fi

exec "$@"
