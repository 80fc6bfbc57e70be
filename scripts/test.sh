#!/usr/bin/env bash
# The whole test suite: type check, lint (which keeps workflows deterministic) and formatting
# (prettier, ruff), the Python side's type check (mypy) and unit tests (pytest, python/tests/),
# then every test file under test/ with Node's test runner against real Temporal servers, git
# repositories and Jupyter kernels from .venv. Extra arguments are passed to node --test
# (e.g. --test-name-pattern=webhook).
set -euo pipefail
cd "$(dirname "$0")/.."

# The type check runs beside lint (each uses one core); its output is shown once both are done.
tsc_out=$(mktemp)
trap 'rm -f "$tsc_out"' EXIT
npx tsc --noEmit -p . >"$tsc_out" 2>&1 &
tsc_pid=$!
echo "== lint"
npx eslint .
npx prettier --check . --log-level warn
echo "== typecheck"
tsc_rc=0
wait "$tsc_pid" || tsc_rc=$?
cat "$tsc_out"
rm -f "$tsc_out"
[ "$tsc_rc" = 0 ] || exit "$tsc_rc"
echo "== lint (python)"
.venv/bin/ruff check --quiet python
.venv/bin/ruff format --check --quiet python
echo "== typecheck (python)"
.venv/bin/mypy --no-error-summary
echo "== unit tests (python)"
# Before node --test and quiet (dots; details only of failures), so that the last lines are
# node's tally; a failure stops the script here.
.venv/bin/pytest --quiet --quiet
echo "== tests"
# test/system/cluster/ starts a PostgreSQL-backed Temporal cluster per file (scripts/temporal-cluster.sh;
# the server is built by scripts/test-setup.sh, in the background the first time: they wait for it).
echo "   (test/system/cluster/ runs on real Temporal clusters with PostgreSQL: ~5 minutes of the total, more on a busy machine)"
# Longest first, as nblc runs notebooks: a long file that starts last holds up the whole suite.
# The longest files of a new machine's run (2026-12-07: 1.5-4 minutes each), then the cluster
# files (1.5-5 minutes, after the others so that the Temporal build, in the background on a new
# machine, is done or nearly when they start), then all others in path order.
first=(
  test/main.test.ts test/cli/copy.test.ts test/cli/test.test.ts test/process/worker.test.ts
  test/process/worker-copies.test.ts test/api/dashboard-scale.test.ts
  test/system/sandbox/differential.test.ts test/system/candidate/candidate.test.ts
  test/workflows/runs/testNotebooks.test.ts test/workflows/runs/alerts.test.ts
  test/scripts/temporal-cluster.test.ts test/system/cluster/restarts.test.ts test/system/cluster/mtls.test.ts
  test/system/cluster/worker-faults.test.ts test/system/cluster/workers.test.ts
)
mapfile -t rest < <(find test -name '*.test.ts' | sort)
files=()
for f in "${first[@]}"; do [ -f "$f" ] && files+=("$f"); done
for f in "${rest[@]}"; do [[ " ${first[*]} " == *" $f "* ]] || files+=("$f"); done
# Three files at a time on 2 cores: most of a test file's time is spent waiting (Temporal timers,
# kernels starting, git, HTTP), so a third file fills the cores better; each
# file starts its own Temporal dev server.
exec node --import tsx --test --test-concurrency=3 --test-timeout=600000 "$@" "${files[@]}"
