#!/usr/bin/env bash
# A real Temporal cluster without Docker: PostgreSQL 12+ for persistence and visibility, the
# Temporal server (the release docker-compose.yml pins, built from source once), optionally the
# Web UI; for development, CI and hosts without Docker. See docs/deployment.md.
#
#   scripts/temporal-cluster.sh up DIR [--port N] [--ui] [--ui-port N]   start what is not running; prints the
#                                                                         TEMPORAL_TLS_* settings, last line TEMPORAL_ADDRESS=…
#   scripts/temporal-cluster.sh down DIR                                  stop what `up` started in DIR (data is kept)
#   scripts/temporal-cluster.sh stop DIR server|postgres|ui [--kill]      stop one part (fault tests); `up` starts it again
#   scripts/temporal-cluster.sh build                                     only build the binaries (scripts/temporal-build.sh)
#
# Everything lives in DIR (data, config, logs, pid files, ports, and in DIR/tls the certificates of
# the frontend's mutual TLS, made by `nblc temporal certs`: clients need DIR/tls/nblc.pem and .key
# and DIR/tls/ca.pem); the binaries are built once and cached by scripts/temporal-build.sh.
# Run as root, PostgreSQL runs as the user `postgres`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The pinned releases, where they are cached, build_server and build_ui.
# shellcheck source=scripts/temporal-build.sh
. "$ROOT/scripts/temporal-build.sh"

say() { echo "temporal-cluster: $*" >&2; }
die() { say "$*"; exit 1; }

# ---- PostgreSQL ----------------------------------------------------------------------------

PG_BIN=${NBLC_PG_BIN:-$( (ls -d /usr/lib/postgresql/*/bin 2>/dev/null || true) | sort -V | tail -n 1)}
[ -n "$PG_BIN" ] || PG_BIN=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/x)")
# PostgreSQL refuses to run as root: as root, its processes run as `postgres`.
if [ "$(id -u)" = 0 ]; then PG_USER=${NBLC_PG_USER:-postgres}; else PG_USER=$(id -un); fi
as_pg() {
  if [ "$(id -un)" = "$PG_USER" ]; then "$@"; else runuser -u "$PG_USER" -- "$@"; fi
}

pg_running() { [ -f "$DIR/pgdata/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$DIR/pgdata" status >/dev/null 2>&1; }

start_postgres() {
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL not found (set NBLC_PG_BIN to its bin directory, e.g. /usr/lib/postgresql/15/bin)"
  if [ ! -f "$DIR/pgdata/PG_VERSION" ]; then
    as_pg test -x "$DIR" || die "$DIR must be reachable by the user $PG_USER (each parent directory needs o+x)"
    rm -rf "$DIR/pgdata"
    mkdir -p "$DIR/pgdata" "$DIR/pg"
    [ "$(id -u)" = 0 ] && chown "$PG_USER:" "$DIR/pgdata" "$DIR/pg"
    chmod 700 "$DIR/pgdata"
    # Local socket: peer (only $PG_USER is the superuser); TCP: the `temporal` role's password.
    as_pg "$PG_BIN/initdb" -D "$DIR/pgdata" -U "$PG_USER" --auth-local=peer --auth-host=scram-sha-256 \
      -E UTF8 --locale=C --no-instructions >"$DIR/initdb.log" 2>&1 || die "initdb failed; see $DIR/initdb.log"
    cat >>"$DIR/pgdata/postgresql.conf" <<EOF
# temporal-cluster.sh
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$DIR/pg'
max_connections = 200
EOF
  fi
  if ! pg_running; then
    as_pg "$PG_BIN/pg_ctl" -D "$DIR/pgdata" -l "$DIR/pg/postgres.log" -w -t 60 start >/dev/null ||
      die "PostgreSQL did not start; see $DIR/pg/postgres.log"
    say "PostgreSQL on 127.0.0.1:$PG_PORT"
  fi
  local exists
  exists=$(as_pg "$PG_BIN/psql" -h "$DIR/pg" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_roles WHERE rolname = 'temporal'")
  if [ "$exists" != 1 ]; then
    as_pg "$PG_BIN/psql" -q -h "$DIR/pg" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE temporal LOGIN CREATEDB PASSWORD '$DB_PASSWORD'"
  fi
}

# The compose file's temporal-schema job: create both databases if needed, then migrate.
migrate() {
  local db schema out
  for db in temporal temporal_visibility; do
    if [ "$db" = temporal ]; then schema=temporal; else schema=visibility; fi
    if ! out=$(sql_tool --db "$db" create-database 2>&1); then
      case "$out" in *"already exists"*) ;; *) die "creating database $db: $out" ;; esac
    fi
    sql_tool --db "$db" setup-schema -v 0.0 >>"$DIR/schema.log" 2>&1 || die "schema of $db: see $DIR/schema.log"
    sql_tool --db "$db" update-schema -d "$BIN/schema/$schema/versioned" >>"$DIR/schema.log" 2>&1 ||
      die "schema of $db: see $DIR/schema.log"
  done
}
sql_tool() {
  SQL_PLUGIN=postgres12 SQL_HOST=127.0.0.1 SQL_PORT=$PG_PORT SQL_USER=temporal SQL_PASSWORD=$DB_PASSWORD \
    "$BIN/temporal-sql-tool" --quiet "$@"
}

# ---- the Temporal server and UI --------------------------------------------------------------

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# The frontend's certificates (kept once made): without one of its CA no client gets in.
make_certs() {
  TLS_DIR=$DIR/tls
  node "$ROOT/bin/nblc.js" temporal certs "$TLS_DIR" >/dev/null || die "nblc temporal certs $TLS_DIR failed"
}
# What a client of this cluster sets (Temporal's standard variables, read by nblc and the CLI).
tls_env() {
  echo "TEMPORAL_TLS_SERVER_CA_CERT_PATH=$TLS_DIR/ca.pem"
  echo "TEMPORAL_TLS_CLIENT_CERT_PATH=$TLS_DIR/$1.pem"
  echo "TEMPORAL_TLS_CLIENT_KEY_PATH=$TLS_DIR/$1.key"
}

start_server() {
  alive "$DIR/temporal.pid" && return
  # Written at every start from the settings below (the ports stay those of the first `up`).
  umask 077
  . "$ROOT/scripts/temporal-cluster.config.sh" >"$DIR/temporal.yaml"
  umask 022
  [ -f "$DIR/dynamicconfig.yaml" ] || cat >"$DIR/dynamicconfig.yaml" <<'EOF'
# Temporal dynamic config of this cluster, polled every 10 s (empty: the server's defaults, as
# in docker-compose.yml). For example, lift the per-shard limit on loading tasks, which bounds
# bulk copies on a cluster with few shards (docs/benchmarks.md, "Embedded server and cluster"):
# history.transferProcessorMaxPollRPS:
#   - value: 10000
EOF
  # Its own session: a test or shell that kills its process group does not take the server along.
  setsid "$BIN/temporal-server" --config-file "$DIR/temporal.yaml" --allow-no-auth start \
    >>"$DIR/temporal.log" 2>&1 </dev/null &
  echo $! >"$DIR/temporal.pid"
}

start_ui() {
  alive "$DIR/ui.pid" && return
  if ! build_ui; then
    say "the UI server did not build (see $CACHE/build-ui.log); going on without the UI"
    return
  fi
  mkdir -p "$DIR/ui"
  cat >"$DIR/ui/development.yaml" <<EOF
temporalGrpcAddress: 127.0.0.1:$FRONTEND_PORT
host: 127.0.0.1
port: $UI_PORT
enableUi: true
defaultNamespace: ${TEMPORAL_NAMESPACE:-default}
hideLogs: true
tls:
  caFile: $TLS_DIR/ca.pem
  certFile: $TLS_DIR/ui.pem
  keyFile: $TLS_DIR/ui.key
  serverName: localhost
  enableHostVerification: true
EOF
  setsid "$UI_BIN/temporal-ui-server" --root "$DIR" --config ui --env development start \
    >>"$DIR/ui.log" 2>&1 </dev/null &
  echo $! >"$DIR/ui.pid"
  say "Temporal UI on http://127.0.0.1:$UI_PORT"
}

wait_frontend() {
  local deadline=$((SECONDS + 120))
  until (exec 3<>"/dev/tcp/127.0.0.1/$FRONTEND_PORT") 2>/dev/null; do
    # The log's last lines go with the error: the directory may be gone by the time anyone looks.
    alive "$DIR/temporal.pid" || die "the Temporal server exited; see $DIR/temporal.log; its end:
$(tail -n 15 "$DIR/temporal.log" 2>/dev/null | cut -c1-400)"
    [ $SECONDS -lt $deadline ] || die "the Temporal server did not listen on $FRONTEND_PORT; see $DIR/temporal.log"
    sleep 0.5
  done
}

stop_pidfile() { # pidfile signal
  alive "$1" || { rm -f "$1"; return 0; }
  local pid
  pid=$(cat "$1")
  kill "-$2" "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 20; then
    say "pid $pid did not stop within 20 s of SIG$2: killing it"
    kill -KILL "$pid" 2>/dev/null || true
    # SIGKILL is not instant either (a large process on a busy machine): `down` returns when it is gone
    wait_gone "$pid" 30 || true
  fi
  rm -f "$1"
}

gone() { # pid: exited (a zombie waiting for its parent counts as gone)
  [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != "" ] || return 0
  [ "$(ps -o stat= -p "$1" | cut -c1)" = Z ]
}

wait_gone() { # pid seconds: whether it exited within that time (checked every 0.2 s)
  local _
  for _ in $(seq 1 $(($2 * 5))); do gone "$1" && return 0; sleep 0.2; done
  gone "$1"
}

stop_postgres() { # mode: fast (clean) or immediate (like a crash: recovery at the next start)
  pg_running || return 0
  local pid
  pid=$(head -n 1 "$DIR/pgdata/postmaster.pid" 2>/dev/null || true)
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/pgdata" -m "$1" -w stop >/dev/null
  # pg_ctl returns once postmaster.pid is gone, which the postmaster removes just before it exits:
  # on a busy machine it is still alive for a moment. `down` returns when it has exited.
  [ -z "$pid" ] || wait_gone "$pid" 15 || true
  return 0
}

# ---- commands ------------------------------------------------------------------------------

load_dir() {
  [ -n "${1:-}" ] || die "usage: $0 up|down|stop DIR …"
  mkdir -p "$1"
  DIR=$(cd "$1" && pwd)
  # Ports (free at the first `up`) and the database password stay with DIR.
  if [ ! -f "$DIR/cluster.env" ]; then
    local ports
    # Below 32768, out of Linux's ephemeral range (which outgoing connections take ports from):
    # also, Temporal stores membership ports in a PostgreSQL smallint (at most 32767).
    ports=$(node -e '
      const net = require("net"); const want = Number(process.argv[1]); const out = process.argv.slice(2).map(Number);
      const free = (port) => new Promise((r) => { const s = net.createServer(); s.once("error", () => r(false)); s.listen(port, "127.0.0.1", () => s.close(() => r(true))); });
      (async () => {
        while (out.length < want) { const p = 20000 + Math.floor(Math.random() * 12700); if (!out.includes(p) && (await free(p))) out.push(p); }
        console.log(out.join(" ")); })();' 11 ${PORT_ARG:+$PORT_ARG})
    # shellcheck disable=SC2086
    set -- $ports
    umask 077
    cat >"$DIR/cluster.env" <<EOF
FRONTEND_PORT=${1}
UI_PORT=${UI_PORT_ARG:-${2}}
PG_PORT=${3}
FRONTEND_HTTP_PORT=${4}
FRONTEND_MEMBERSHIP_PORT=${5}
HISTORY_PORT=${6}
HISTORY_MEMBERSHIP_PORT=${7}
MATCHING_PORT=${8}
MATCHING_MEMBERSHIP_PORT=${9}
WORKER_PORT=${10}
WORKER_MEMBERSHIP_PORT=${11}
DB_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
EOF
    umask 022
  fi
  # shellcheck disable=SC1091
  . "$DIR/cluster.env"
}

cmd=${1:-}
shift || true
case "$cmd" in
  build)
    build_server
    ;;
  up)
    target=${1:-}
    shift || true
    UI=0
    PORT_ARG=
    UI_PORT_ARG=
    while [ $# -gt 0 ]; do
      case "$1" in
        --ui) UI=1 ;;
        --port) PORT_ARG=$2; shift ;;
        --ui-port) UI_PORT_ARG=$2; UI=1; shift ;;
        *) die "unknown option $1" ;;
      esac
      shift
    done
    build_server
    load_dir "$target"
    [ -z "$PORT_ARG" ] || [ "$PORT_ARG" = "$FRONTEND_PORT" ] ||
      die "$DIR was set up with frontend port $FRONTEND_PORT (ports stay with the directory)"
    make_certs
    start_postgres
    migrate
    start_server
    wait_frontend
    [ "$UI" = 1 ] && start_ui
    env $(tls_env nblc) TEMPORAL_ADDRESS=127.0.0.1:$FRONTEND_PORT node "$ROOT/bin/nblc.js" temporal setup --wait 120 >&2 ||
      die "nblc temporal setup failed (server log: $DIR/temporal.log)"
    alive "$DIR/ui.pid" && echo "NBLC_TEMPORAL_UI_URL=http://127.0.0.1:$UI_PORT"
    tls_env nblc
    echo "TEMPORAL_ADDRESS=127.0.0.1:$FRONTEND_PORT"
    ;;
  down)
    load_dir "${1:-}"
    stop_pidfile "$DIR/ui.pid" TERM
    stop_pidfile "$DIR/temporal.pid" TERM
    stop_postgres fast
    say "stopped the cluster in $DIR (data kept; \`up\` starts it again)"
    ;;
  stop)
    load_dir "${1:-}"
    hard=${3:-}
    case "${2:-}" in
      server) stop_pidfile "$DIR/temporal.pid" "$([ "$hard" = --kill ] && echo KILL || echo TERM)" ;;
      ui) stop_pidfile "$DIR/ui.pid" TERM ;;
      postgres) stop_postgres "$([ "$hard" = --kill ] && echo immediate || echo fast)" ;;
      *) die "stop DIR server|postgres|ui [--kill]" ;;
    esac
    ;;
  *)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
