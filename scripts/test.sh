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
mapfile -t files < <(find test -name '*.test.ts' | sort)
# Three files at a time on 2 cores: most of a test file's time is spent waiting (Temporal timers,
# kernels starting, git, HTTP), so a third file fills the cores better; each
# file starts its own Temporal dev server.
exec node --import tsx --test --test-concurrency=3 --test-timeout=600000 "$@" "${files[@]}"
