#!/bin/sh
# Entrypoint of the host-built `rabbitmq:3` test image (scripts/setup-container-engine.sh). It
# keeps the official image's contract, which Paved's `container` driver relies on:
#   RABBITMQ_DEFAULT_USER, RABBITMQ_DEFAULT_PASS, RABBITMQ_DEFAULT_VHOST (read by RabbitMQ itself
#   on the first start); data in /var/lib/rabbitmq; the broker runs as the unprivileged `rabbitmq`
#   user, listens on 0.0.0.0:5672 and logs to the console.
set -eu

if [ "$1" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
  mkdir -p /var/lib/rabbitmq /var/log/rabbitmq
  chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
  # POSIXLY_CORRECT: su must not take the server's own options for its own.
  POSIXLY_CORRECT=1 exec su -p -s /bin/sh rabbitmq -c 'unset POSIXLY_CORRECT; exec "$0" "$@"' "$0" "$@"
fi

export HOME=/var/lib/rabbitmq
exec "$@"
