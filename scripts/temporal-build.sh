#!/usr/bin/env bash
# Builds the Temporal server (with its SQL tool and PostgreSQL schemas) and the Web UI server, the
# releases docker-compose.yml pins, from source with the go command; scripts/temporal-cluster.sh
# runs them. The binaries are cached in ${XDG_CACHE_HOME:-~/.cache}/nblc/ so every clone on the
# machine shares one build (~8 CPU-minutes: about 4 minutes on 2 idle cores, the first time only).
#
#   scripts/temporal-build.sh [server|ui]     build what is not cached yet (default: the server)
#
# Sourced by temporal-cluster.sh, it only defines the versions, paths and build functions.
set -euo pipefail

# Pinned: the same releases as docker-compose.yml (test/scripts/temporal-cluster.test.ts checks).
TEMPORAL_VERSION=1.32.2
UI_VERSION=2.49.1
# go.temporal.io/server 1.32 needs Go >= 1.26.10; the toolchain is fetched by the go command.
GO_TOOLCHAIN=${NBLC_GO_TOOLCHAIN:-go1.27.3}
NUM_HISTORY_SHARDS=4 # as in docker-compose.yml; fixed once a cluster's database exists
# See build_server: no DWARF, no symbol table (the UI's build; the server's adds SERVER_GCFLAGS).
GO_LDFLAGS="-ldflags=-s -w"
GO_DEBUG_FLAGS=(-gcflags=all=-dwarf=false "$GO_LDFLAGS")
# The server's own code (not the standard library: the runtime, its garbage collector and network
# stack stay optimized) is compiled without optimizations or inlining, as for a debugger: measured
# from empty build caches on one core, 473 CPU-s of compiling instead of 588, while the cluster
# tests' servers used 48 CPU-s instead of 43. Same source, same behaviour; these binaries serve the
# tests and this machine's stand-in images, not production (which runs the official images).
SERVER_GCFLAGS="-dwarf=false -N -l"
SERVER_STD_GCFLAGS="-dwarf=false"
# The compiler collects garbage less often (more memory per compile, ~2 at a time): measured side
# by side from empty build caches, 618 CPU-s instead of 655. Only the go command gets it (a sourced
# script must not change how the servers it starts collect garbage).
GO_BUILD_GOGC=${GOGC:-400}

CACHE=${NBLC_TEMPORAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nblc}
BIN=$CACHE/temporal-$TEMPORAL_VERSION
UI_BIN=$CACHE/temporal-ui-$UI_VERSION

say() { echo "temporal-build: $*" >&2; }
die() { say "$*"; exit 1; }

# go install into a temporary GOBIN, renamed into place when complete: an interrupted build never
# leaves a half cache, and flock makes concurrent callers (parallel test files) wait for one build.
# No debug information (DWARF) compiled or linked, no symbol table: measured on 2 cores from an
# empty build cache, 599 CPU-s instead of 745 (6.5 wall minutes -> 5.2), binaries a third smaller.
# Stack traces keep their function names and lines (Go's runtime tables, not DWARF); only a
# debugger would miss it, and these binaries are for tests and this machine's images.
server_built() { [ -x "$BIN/temporal-server" ] && [ -x "$BIN/temporal-sql-tool" ] && [ -d "$BIN/schema" ]; }

# Returns once no build of the server is running (build_server holds the lock while it builds),
# saying so if it had to wait: scripts/test.sh starts the cluster tests' runner after it.
wait_for_build() {
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.build-temporal.lock"
  if ! flock -n 8; then
    say "waiting for the Temporal server's build (log in $CACHE/build-temporal.log)"
    flock 8
  fi
  exec 8>&-
}

# Beside the tests (scripts/test-setup.sh sets NBLC_BUILD_BESIDE_TESTS): on a new machine the build is
# the first `npm test`'s critical path (the cluster tests wait for it), yet Linux gives every session
# a scheduling group of its own (autogroup) and the tests start dozens (detached servers, kernels):
# as one group among them the build got ~0.6 of a core and ended 16 minutes in. So where it may (as
# root) it runs at a high priority but one compile at a time, single-threaded: one core that is
# always its own, the other left to the tests. Elsewhere (not root, or run alone) nothing changes.
# Measured on new machines (fresh clones, empty HOME): the build ended 10.6 and 11 minutes in, the
# cluster tests well before the others; both cores stay busy throughout either way.
build_go_flags=()
compile_threads=""
build_beside_tests() {
  [ -n "${NBLC_BUILD_BESIDE_TESTS:-}" ] && [ "$(id -u)" = 0 ] || return 0
  renice -n -10 -p $$ >/dev/null 2>&1 || return 0
  # The scheduling group is the session's: changed only when the build has a session of its own.
  [ "$(ps -o sid= -p $$ | tr -d ' ')" != $$ ] || { echo -10 >/proc/self/autogroup; } 2>/dev/null || true
  build_go_flags=(-p 1)
  compile_threads=" -c=1"
  say "beside the tests: building on one core at a high priority (renice -10, one compile at a time)"
}

build_server() {
  server_built && return
  command -v go >/dev/null || die "needs the go command (Go >= 1.21; it fetches $GO_TOOLCHAIN) to build Temporal $TEMPORAL_VERSION"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.build-temporal.lock"
  flock 9
  if ! server_built; then
    say "building Temporal server $TEMPORAL_VERSION from source into $BIN (first time only: ~8 CPU-minutes, about 4 minutes on 2 idle cores; log in $CACHE/build-temporal.log)"
    local tmp
    tmp=$(mktemp -d "$CACHE/.build-temporal.XXXXXX")
    build_beside_tests
    if ! (cd "$tmp" && GOGC=$GO_BUILD_GOGC GOTOOLCHAIN=$GO_TOOLCHAIN GOBIN=$tmp/bin CGO_ENABLED=0 GOFLAGS=-trimpath \
      go install "$GO_LDFLAGS" "-gcflags=all=$SERVER_GCFLAGS$compile_threads" "-gcflags=std=$SERVER_STD_GCFLAGS$compile_threads" \
      "${build_go_flags[@]}" "go.temporal.io/server/cmd/server@v$TEMPORAL_VERSION" "go.temporal.io/server/cmd/tools/sql@v$TEMPORAL_VERSION") \
      >"$CACHE/build-temporal.log" 2>&1; then
      rm -rf "$tmp"
      die "building Temporal failed; see $CACHE/build-temporal.log"
    fi
    mkdir "$tmp/out"
    mv "$tmp/bin/server" "$tmp/out/temporal-server"
    mv "$tmp/bin/sql" "$tmp/out/temporal-sql-tool"
    # The schemas ship with the module source; copied so that `go clean -modcache` cannot break us.
    local src
    src=$(cd "$tmp" && GOTOOLCHAIN=$GO_TOOLCHAIN GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' "go.temporal.io/server@v$TEMPORAL_VERSION" 2>/dev/null ||
      echo "$(GOTOOLCHAIN=$GO_TOOLCHAIN go env GOMODCACHE)/go.temporal.io/server@v$TEMPORAL_VERSION")
    cp -r "$src/schema/postgresql/v12" "$tmp/out/schema"
    chmod -R u+w "$tmp/out/schema"
    rm -rf "$BIN"
    mv "$tmp/out" "$BIN"
    rm -rf "$tmp"
    say "built Temporal $TEMPORAL_VERSION"
  fi
  exec 9>&-
}

build_ui() {
  [ -x "$UI_BIN/temporal-ui-server" ] && return
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.build-ui.lock"
  flock 9
  if [ ! -x "$UI_BIN/temporal-ui-server" ]; then
    say "building Temporal UI server $UI_VERSION into $UI_BIN (first time only; log in $CACHE/build-ui.log)"
    local tmp
    tmp=$(mktemp -d "$CACHE/.build-ui.XXXXXX")
    if ! (cd "$tmp" && GOGC=$GO_BUILD_GOGC GOTOOLCHAIN=$GO_TOOLCHAIN GOBIN=$tmp/bin CGO_ENABLED=0 GOFLAGS=-trimpath \
      go install "${GO_DEBUG_FLAGS[@]}" "github.com/temporalio/ui-server/v2/cmd/server@v$UI_VERSION") >"$CACHE/build-ui.log" 2>&1; then
      rm -rf "$tmp"
      exec 9>&-
      return 1
    fi
    mkdir "$tmp/out"
    mv "$tmp/bin/server" "$tmp/out/temporal-ui-server"
    rm -rf "$UI_BIN"
    mv "$tmp/out" "$UI_BIN"
    rm -rf "$tmp"
  fi
  exec 9>&-
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-server}" in
    server) build_server ;;
    ui) build_ui || die "building the UI server failed; see $CACHE/build-ui.log" ;;
    *) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
fi
