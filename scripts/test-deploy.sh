#!/usr/bin/env bash
# The deploy test (`npm run test:deploy`, run by .ci/run after `npm test`): docker-compose.yml
# for real on this machine. It
#   1. installs what is missing, as root with apt-get: Debian's docker.io (dockerd) and mmdebstrap;
#   2. uses the daemon at DOCKER_HOST when one is given, else starts a dockerd of its own (its
#      own data root, exec root and socket under ~/.cache/nblc/docker; overlay2 (vfs without
#      overlayfs), no iptables, no default bridge) and stops it at the end; it never touches another daemon;
#   3. builds Docker Compose and the local stand-in images (scripts/compose-images.sh, cached);
#   4. runs test/system/deploy/compose.test.ts, which sets the stack up as docs/deployment.md tells an
#      operator and drives it from outside.
# Extra arguments go to node --test. The first run takes ~30 minutes (builds), later ones ~10.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${NBLC_TEMPORAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nblc}
say() { echo "test-deploy: $*" >&2; }
die() { say "$*"; exit 1; }

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "needs ${missing[*]} (apt-get install ${missing[*]} as root)"
  say "installing ${missing[*]} (apt-get; about a minute)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2
fi
command -v docker >/dev/null || die "needs the docker command (Debian's docker.io installs it)"
# The worker (not root) opens /dev/net/tun for each kernel's network (docs/deployment.md,
# "Requirements"): mode 0666, as udev makes it on Debian and Ubuntu; a host without udev leaves 0600.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  [ "$(id -u)" = 0 ] || die "/dev/net/tun is not usable by the worker: chmod 666 /dev/net/tun as root"
  say "chmod 666 /dev/net/tun (the worker's kernels' network; udev's mode on Debian)"
  chmod 666 /dev/net/tun
fi

started=
if [ -z "${DOCKER_HOST:-}" ]; then
  [ "$(id -u)" = 0 ] || die "dockerd runs as root here; or set DOCKER_HOST to a daemon you may use"
  dir=$CACHE/docker
  export DOCKER_HOST=unix://$dir/docker.sock
  if ! docker version >/dev/null 2>&1; then
    mkdir -p "$dir/root"
    say "starting dockerd (data root $dir/root, socket $dir/docker.sock, log $dir/dockerd.log)"
    # Its own exec root and bridge addresses: it runs beside any other daemon on this machine.
    # overlay2 where the kernel has overlayfs (a layer costs only its own files); vfs, which
    # copies the whole image for every layer and container, only where it has not.
    driver=vfs
    grep -qw overlay /proc/filesystems && driver=overlay2
    setsid dockerd --storage-driver=$driver --iptables=false --ip-masq=false --bridge=none \
      --default-address-pool base=10.213.0.0/16,size=24 --data-root "$dir/root" \
      --exec-root /run/nblc-docker --pidfile "$dir/dockerd.pid" -H "$DOCKER_HOST" \
      >"$dir/dockerd.log" 2>&1 </dev/null &
    started=$!
    trap 'say "stopping dockerd ($started)"; kill "$started" 2>/dev/null; wait "$started" 2>/dev/null || true' EXIT
    for _ in $(seq 60); do docker version >/dev/null 2>&1 && break; sleep 1; done
    docker version >/dev/null 2>&1 || die "dockerd did not answer within 60 s; see $dir/dockerd.log"
  fi
fi
version=$(docker version -f '{{.Server.Version}}' 2>/dev/null) || die "no Docker daemon answers at DOCKER_HOST=$DOCKER_HOST"
say "Docker $version at $DOCKER_HOST"

bash "$ROOT/scripts/compose-images.sh" all
docker compose version >/dev/null || die "docker compose does not run"

# The test's stack (project nblc-deploy-test) goes when the test ends, however it ends; its
# images and their build cache stay for the next run, dangling ones (an older nblc:local) do not.
cleanup() {
  [ -n "${NBLC_DEPLOY_KEEP:-}" ] && return
  (cd / && docker compose -p nblc-deploy-test down --volumes --remove-orphans) >/dev/null 2>&1 || true
  docker volume prune -f >/dev/null 2>&1 || true
  docker image prune -f >/dev/null 2>&1 || true
}
trap 'cleanup; [ -z "$started" ] || { say "stopping dockerd ($started)"; kill "$started"; wait "$started" 2>/dev/null || true; }' EXIT
NBLC_DEPLOY_TEST=1 node --import tsx --test --test-timeout=2400000 "$@" test/system/deploy/compose.test.ts
