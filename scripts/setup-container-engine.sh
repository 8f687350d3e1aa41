#!/usr/bin/env bash
# The container engine the docker target's tests talk to, made ready on this machine:
#   - Podman with runc and explicit ulimits (crun fails on this kernel's cgroup layout);
#   - Podman's Docker Engine API on unix:///run/paved-test/podman.sock;
#   - local base images, since no image registry is reachable here:
#       localhost/busybox:paved   a static busybox with its applets linked (sh, httpd, wget, …)
#       localhost/node-local:20   the host's own node binary and the libraries it links, plus busybox
#   - the official images the `container` driver's default definitions name, built from the host's
#     own servers under exactly those names so that they resolve with no pull (labelled
#     dev.paved.built-from=host; each honours its official image's environment contract through an
#     entrypoint in scripts/service-images/):
#       docker.io/library/postgres:15     /usr/lib/postgresql/15 + /usr/share/postgresql/15
#       docker.io/library/redis:7         redis-server
#       docker.io/library/mariadb:10.11   mariadbd
#       docker.io/library/rabbitmq:3      Erlang + RabbitMQ
#   - a local registry with htpasswd authentication on 127.0.0.1:5001 (user paved-test, password
#     paved-test-password), listed as insecure so pulls over plain HTTP work.
#
# Sourced by setup-test-env.sh, which decides whether the system may be changed ($may_change) and
# collects what is missing ($missing). Safe to run again: each step checks before it acts.

PAVED_TEST_DIR=/run/paved-test
PAVED_DOCKER_SOCKET=$PAVED_TEST_DIR/podman.sock
PAVED_REGISTRY=127.0.0.1:5001
PAVED_REGISTRY_USER=paved-test
PAVED_REGISTRY_PASSWORD=paved-test-password

engine_answers() {
  curl -sf --max-time 5 --unix-socket "$PAVED_DOCKER_SOCKET" http://engine/_ping >/dev/null 2>&1
}

install_engine_packages() {
  local need=()
  command -v podman >/dev/null || need+=(podman)
  command -v runc >/dev/null || need+=(runc)
  [ -x /bin/busybox ] || need+=(busybox-static)
  command -v docker-registry >/dev/null || need+=(docker-registry)
  command -v htpasswd >/dev/null || need+=(apache2-utils)
  command -v podman-compose >/dev/null || need+=(podman-compose)
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$may_change" != yes ]; then
    missing+=("packages ${need[*]} (apt-get install -y ${need[*]})")
    return 1
  fi
  say "installing ${need[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}

configure_podman() {
  local conf=/etc/containers/containers.conf
  if ! grep -qs 'runtime = "runc"' "$conf"; then
    [ "$may_change" = yes ] || { missing+=("$conf with runtime = \"runc\" and default_ulimits"); return 1; }
    mkdir -p /etc/containers
    cat >"$conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
    say "wrote $conf (runc, explicit ulimits)"
  fi
  local registries=/etc/containers/registries.conf
  if ! grep -qs "location = \"$PAVED_REGISTRY\"" "$registries"; then
    [ "$may_change" = yes ] || { missing+=("$registries listing $PAVED_REGISTRY as insecure"); return 1; }
    printf '\n[[registry]]\nlocation = "%s"\ninsecure = true\n' "$PAVED_REGISTRY" >>"$registries"
    say "listed $PAVED_REGISTRY as an insecure registry in $registries"
    # A Podman API service already running reads registries.conf again on SIGHUP (not a stop).
    pkill -HUP -f "podman system service.*$PAVED_DOCKER_SOCKET" 2>/dev/null || true
  fi
}

start_engine_api() {
  engine_answers && { say "Podman's Docker API answers on $PAVED_DOCKER_SOCKET"; return 0; }
  [ "$may_change" = yes ] || { missing+=("Podman's Docker API (podman system service --time=0 unix://$PAVED_DOCKER_SOCKET)"); return 1; }
  mkdir -p "$PAVED_TEST_DIR"
  rm -f "$PAVED_DOCKER_SOCKET"
  setsid nohup podman system service --time=0 "unix://$PAVED_DOCKER_SOCKET" >"$PAVED_TEST_DIR/podman-service.log" 2>&1 &
  local i
  for i in $(seq 1 30); do engine_answers && { say "started Podman's Docker API on $PAVED_DOCKER_SOCKET"; return 0; }; sleep 1; done
  missing+=("Podman's Docker API on $PAVED_DOCKER_SOCKET (see $PAVED_TEST_DIR/podman-service.log)")
  return 1
}

# A rootfs holding busybox and a link per applet, in $1.
busybox_rootfs() {
  local root=$1 applet
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

image_exists() { podman image exists "$1" 2>/dev/null; }

build_base_images() {
  if image_exists localhost/busybox:paved && image_exists localhost/node-local:20; then
    say "base images localhost/busybox:paved and localhost/node-local:20 are there"
    return 0
  fi
  [ "$may_change" = yes ] || { missing+=("base images localhost/busybox:paved, localhost/node-local:20"); return 1; }
  local work
  work=$(mktemp -d)
  if ! image_exists localhost/busybox:paved; then
    busybox_rootfs "$work/busybox"
    tar -C "$work/busybox" -cf "$work/busybox.tar" .
    podman import -q "$work/busybox.tar" localhost/busybox:paved >/dev/null
    say "built localhost/busybox:paved"
  fi
  if ! image_exists localhost/node-local:20; then
    local node lib
    node=$(readlink -f "$(command -v node)")
    busybox_rootfs "$work/node"
    mkdir -p "$work/node/usr/local/bin"
    cp "$node" "$work/node/usr/local/bin/node"
    for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
      mkdir -p "$work/node$(dirname "$lib")"
      cp -L "$lib" "$work/node$lib"
    done
    mkdir -p "$work/node/etc/ssl"
    tar -C "$work/node" -cf "$work/node.tar" .
    podman import -q --change 'ENV PATH=/usr/local/bin:/bin' "$work/node.tar" localhost/node-local:20 >/dev/null
    say "built localhost/node-local:20 from $node ($("$node" --version))"
  fi
  rm -rf "$work"
}

# Copies into the rootfs $1 every library `ldd` lists for the given files (not ELF: nothing).
copy_libraries_of() {
  local root=$1 file lib
  shift
  for file in "$@"; do
    [ -f "$file" ] || continue
    for lib in $(ldd "$file" 2>/dev/null | grep -o '/[^ ]*'); do
      [ -e "$root$lib" ] && continue
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  done
}

# Copies files into the rootfs $1 at the same paths, with every library `ldd` lists for them.
copy_with_libraries() {
  local root=$1 file
  shift
  for file in "$@"; do
    mkdir -p "$root$(dirname "$file")"
    cp -a "$file" "$root$file"
  done
  copy_libraries_of "$root" "$@"
}

# Adds an unprivileged user (uid = gid = $3) named $2 to the rootfs $1, as the official images have.
add_service_user() {
  printf '%s:x:%s:%s:%s:%s:/bin/false\n' "$2" "$3" "$3" "$2" "$4" >>"$1/etc/passwd"
  printf '%s:x:%s:\n' "$2" "$3" >>"$1/etc/group"
}

SERVICE_IMAGE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/service-images

build_postgres_image() {
  local work=$1 root=$1/postgres bin=/usr/lib/postgresql/15/bin
  busybox_rootfs "$root"
  add_service_user "$root" postgres 999 /var/lib/postgresql
  copy_with_libraries "$root" "$bin"/* $(find /usr/lib/postgresql/15/lib -name '*.so' ! -name 'llvmjit*')
  mkdir -p "$root/usr/share/postgresql" "$root/usr/share/zoneinfo" "$root/var/lib/postgresql/data" "$root/var/run/postgresql"
  cp -a /usr/share/postgresql/15 "$root/usr/share/postgresql/15"
  cp -a /usr/share/zoneinfo/. "$root/usr/share/zoneinfo/"
  install -D -m 0755 "$SERVICE_IMAGE_DIR/postgres-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  tar -C "$root" -cf "$work/postgres.tar" .
  podman import -q \
    --change "ENV PATH=/usr/local/bin:$bin:/bin" --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["postgres"]' \
    --change 'STOPSIGNAL SIGINT' --change 'EXPOSE 5432' --change 'VOLUME /var/lib/postgresql/data' \
    --change 'LABEL dev.paved.built-from=host' \
    "$work/postgres.tar" docker.io/library/postgres:15 >/dev/null
}

build_redis_image() {
  local work=$1 root=$1/redis
  busybox_rootfs "$root"
  add_service_user "$root" redis 999 /data
  copy_with_libraries "$root" "$(readlink -f /usr/bin/redis-server)"
  mkdir -p "$root/usr/local/bin" "$root/data"
  ln -sf "$(readlink -f /usr/bin/redis-server)" "$root/usr/local/bin/redis-server"
  install -m 0755 "$SERVICE_IMAGE_DIR/redis-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  tar -C "$root" -cf "$work/redis.tar" .
  podman import -q \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'WORKDIR /data' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["redis-server"]' \
    --change 'EXPOSE 6379' --change 'VOLUME /data' --change 'LABEL dev.paved.built-from=host' \
    "$work/redis.tar" docker.io/library/redis:7 >/dev/null
}

build_mariadb_image() {
  local work=$1 root=$1/mariadb
  busybox_rootfs "$root"
  add_service_user "$root" mysql 999 /var/lib/mysql
  copy_with_libraries "$root" /usr/sbin/mariadbd /usr/bin/mariadb /usr/bin/mariadb-install-db \
    /usr/bin/my_print_defaults /usr/bin/resolveip $(find /usr/lib/mysql/plugin -name '*.so')
  mkdir -p "$root/usr/share" "$root/var/lib/mysql" "$root/run/mysqld"
  cp -a /usr/share/mysql "$root/usr/share/mysql"
  install -D -m 0755 "$SERVICE_IMAGE_DIR/mariadb-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  tar -C "$root" -cf "$work/mariadb.tar" .
  podman import -q \
    --change 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/bin' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["mariadbd"]' \
    --change 'EXPOSE 3306' --change 'VOLUME /var/lib/mysql' --change 'LABEL dev.paved.built-from=host' \
    "$work/mariadb.tar" docker.io/library/mariadb:10.11 >/dev/null
}

build_rabbitmq_image() {
  local work=$1 root=$1/rabbitmq
  busybox_rootfs "$root"
  add_service_user "$root" rabbitmq 999 /var/lib/rabbitmq
  mkdir -p "$root/usr/lib" "$root/usr/bin" "$root/var/lib/rabbitmq" "$root/var/log/rabbitmq" "$root/etc/rabbitmq"
  cp -a /usr/lib/erlang /usr/lib/rabbitmq "$root/usr/lib/"
  ln -s ../lib/erlang/bin/erl "$root/usr/bin/erl"
  # Only the libraries: the Erlang tree is there already.
  copy_libraries_of "$root" $(find /usr/lib/erlang -type f \( -name '*.so' -o -perm -u+x \))
  install -D -m 0755 "$SERVICE_IMAGE_DIR/rabbitmq-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  tar -C "$root" -cf "$work/rabbitmq.tar" .
  podman import -q \
    --change 'ENV PATH=/usr/local/bin:/usr/lib/rabbitmq/bin:/usr/bin:/bin' \
    --change 'ENV RABBITMQ_LOGS=-' --change 'ENV HOME=/var/lib/rabbitmq' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["rabbitmq-server"]' \
    --change 'EXPOSE 5672' --change 'VOLUME /var/lib/rabbitmq' --change 'LABEL dev.paved.built-from=host' \
    "$work/rabbitmq.tar" docker.io/library/rabbitmq:3 >/dev/null
}

# The official images of the `container` driver's default definitions, built from the host's own
# servers when the engine lacks them; one that cannot be built is reported and the others go on.
build_service_images() {
  local name built=() work
  export SERVICE_IMAGE_DIR
  export -f busybox_rootfs add_service_user copy_libraries_of copy_with_libraries \
    build_postgres_image build_redis_image build_mariadb_image build_rabbitmq_image
  local -A builders=(
    [docker.io/library/postgres:15]=build_postgres_image
    [docker.io/library/redis:7]=build_redis_image
    [docker.io/library/mariadb:10.11]=build_mariadb_image
    [docker.io/library/rabbitmq:3]=build_rabbitmq_image
  )
  for name in "${!builders[@]}"; do
    image_exists "$name" && continue
    [ "$may_change" = yes ] || { missing+=("image $name (built from the host's servers)"); continue; }
    work=$(mktemp -d)
    # A bash of its own, so that errexit stops a build at its first failure (this script runs
    # these steps in an && chain, where errexit is ignored) instead of importing a broken image.
    if bash -euo pipefail -c '"$@"' build "${builders[$name]}" "$work"; then
      built+=("$name")
    else
      missing+=("image $name: building it from the host's servers failed (see the output above)")
    fi
    rm -rf "$work"
  done
  [ ${#built[@]} -eq 0 ] && say "service images for the container driver are there" || say "built ${built[*]} from the host's servers"
  return 0
}

registry_answers() {
  curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://$PAVED_REGISTRY/v2/" 2>/dev/null | grep -q 401
}

start_registry() {
  registry_answers && { say "image registry with authentication answers on $PAVED_REGISTRY"; return 0; }
  [ "$may_change" = yes ] || { missing+=("an image registry on $PAVED_REGISTRY (docker-registry serve)"); return 1; }
  local dir=$PAVED_TEST_DIR/registry
  mkdir -p "$dir/data"
  htpasswd -Bbc "$dir/htpasswd" "$PAVED_REGISTRY_USER" "$PAVED_REGISTRY_PASSWORD" >/dev/null 2>&1
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $PAVED_REGISTRY
auth:
  htpasswd:
    realm: paved-test
    path: $dir/htpasswd
YAML
  setsid nohup docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  local i
  for i in $(seq 1 30); do registry_answers && { say "started an image registry on $PAVED_REGISTRY"; return 0; }; sleep 1; done
  missing+=("an image registry on $PAVED_REGISTRY (see $dir/registry.log)")
  return 1
}

install_engine_packages && configure_podman && start_engine_api && build_base_images && build_service_images && start_registry || true
