#!/usr/bin/env bash
# The container engine the docker target's tests talk to, made ready on this machine:
#   - Podman with runc and explicit ulimits (crun fails on this kernel's cgroup layout);
#   - Podman's Docker Engine API on unix:///run/paved-test/podman.sock;
#   - local base images, since no image registry is reachable here:
#       localhost/busybox:paved   a static busybox with its applets linked (sh, httpd, wget, …)
#       localhost/node-local:20   the host's own node binary and the libraries it links, plus busybox
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

install_engine_packages && configure_podman && start_engine_api && build_base_images && start_registry || true
