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

# shellcheck source=scripts/setup-container-engine.sh
source "$(dirname "$0")/setup-container-engine.sh"

if [ ${#missing[@]} -gt 0 ]; then
  say "the test suite needs what is not here:"
  for m in "${missing[@]}"; do say "  - $m"; done
  if [ "$may_change" = no ]; then say "run as root or with CI=true to let this script install and start them"; fi
  exit 1
fi
say "test environment ready"
