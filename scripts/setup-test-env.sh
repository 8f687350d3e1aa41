#!/usr/bin/env bash
# Makes sure everything the test suite talks to is installed and running: PostgreSQL, and (as later
# parts of the suite need them) MariaDB, Redis, RabbitMQ, Podman's Docker API socket and Chromium.
#
# It changes the system (packages, /etc, services) only when it runs as root or under CI=true, and
# says what it did. Anywhere else it only checks, and lists what is missing and how to get it.
set -euo pipefail

may_change=no
if [ "$(id -u)" = 0 ] || [ "${CI:-}" = true ]; then may_change=yes; fi
missing=()
say() { printf 'setup: %s\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 i
  for i in $(seq 1 60); do port_open "$port" && return 0; sleep 1; done
  return 1
}

ensure_service() {
  local name=$1 port=$2 start=$3
  if port_open "$port"; then say "$name is up on 127.0.0.1:$port"; return; fi
  if [ "$may_change" = yes ]; then
    say "$name is down; starting it: $start"
    bash -c "$start" >/dev/null 2>&1 || true
    if wait_port "$port"; then say "$name started"; return; fi
  fi
  missing+=("$name on 127.0.0.1:$port (start it with: $start)")
}

ensure_service PostgreSQL 5432 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
ensure_service MariaDB 3306 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd'
ensure_service Redis 6379 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'
ensure_service RabbitMQ 5672 'rabbitmq-server -detached'

# The amqp driver provisions vhosts and users through RabbitMQ's management HTTP API.
ensure_rabbitmq_management() {
  if port_open 15672; then say "RabbitMQ's management API is up on 127.0.0.1:15672"; return; fi
  if [ "$may_change" = yes ] && port_open 5672; then
    say "enabling RabbitMQ's management plugin: rabbitmq-plugins enable rabbitmq_management"
    rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1 || true
    if wait_port 15672; then say "RabbitMQ's management API started"; return; fi
  fi
  missing+=("RabbitMQ's management API on 127.0.0.1:15672 (enable it with: rabbitmq-plugins enable rabbitmq_management)")
}
ensure_rabbitmq_management

# shellcheck source=scripts/setup-container-engine.sh
source "$(dirname "$0")/setup-container-engine.sh"

if [ ${#missing[@]} -gt 0 ]; then
  say "the test suite needs what is not here:"
  for m in "${missing[@]}"; do say "  - $m"; done
  if [ "$may_change" = no ]; then say "run as root or with CI=true to let this script install and start them"; fi
  exit 1
fi
say "test environment ready"
