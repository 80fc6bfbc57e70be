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
# the tests' tally; a failure stops the script here.
.venv/bin/pytest --quiet --quiet
echo "== tests"
mapfile -t sources < <(find test -name '*.test.ts' | sort)
# Bundled (scripts/test-bundles.js: a test file starts in less than half the CPU it takes through
# tsx); NBLC_TEST_BUNDLES=off, or a failed build, runs the sources through tsx.
if [ "${NBLC_TEST_BUNDLES:-}" != off ] && bundles=$(node scripts/test-bundles.js); then
  node=(node --enable-source-maps)
  files() { for f in "$@"; do echo "$bundles/${f%.ts}.mjs"; done; }
else
  echo "   (running the test files through tsx)"
  node=(node --import tsx)
  files() { printf '%s\n' "$@"; }
fi
# Two runners side by side. The files that start PostgreSQL-backed Temporal clusters
# (test/helpers/cluster.ts) mostly wait (servers starting and restarting), and on a new machine
# they wait for the Temporal build (scripts/test-setup.sh started it): in a lane of their own,
# two at a time, started once the build is done, they neither hold the other files' slots nor
# leave the cores idle. The others: three at a time on 2 cores (most of a file's time is spent
# waiting too: Temporal timers, kernels starting, git, HTTP), each with its own Temporal dev
# server. node --test sorts the files it is given: the order here does not matter.
mapfile -t cluster < <(grep -l "helpers/cluster.js" "${sources[@]}")
mapfile -t others < <(printf '%s\n' "${sources[@]}" | grep -vxF -f <(printf '%s\n' "${cluster[@]}"))
run=(--test --test-timeout=600000 "$@")
cluster_out=$(mktemp)
others_out=$(mktemp)
trap 'rm -f "$tsc_out" "$cluster_out" "$others_out"' EXIT
echo "   (${#cluster[@]} files on real Temporal clusters with PostgreSQL run beside the others; their output follows theirs)"
(
  # shellcheck source=scripts/temporal-build.sh
  . scripts/temporal-build.sh && wait_for_build
  mapfile -t lane < <(files "${cluster[@]}")
  [ ${#lane[@]} -gt 0 ] || exit 0 # (node --test without files would run them all)
  exec "${node[@]}" "${run[@]}" --test-concurrency=2 "${lane[@]}"
) >"$cluster_out" 2>&1 &
cluster_pid=$!
others_rc=0
mapfile -t lane < <(files "${others[@]}")
"${node[@]}" "${run[@]}" --test-concurrency=3 "${lane[@]}" | tee "$others_out" || others_rc=$?
echo "== tests on Temporal clusters"
cluster_rc=0
wait "$cluster_pid" || cluster_rc=$?
cat "$cluster_out"
# Both runners' tallies in one, last.
awk '/^# (tests|pass|fail|cancelled|skipped|todo) [0-9]+$/ { n[$2] += $3 }
  END { printf "== all tests: %d, passed %d, failed %d, cancelled %d, skipped %d, todo %d\n", n["tests"], n["pass"], n["fail"], n["cancelled"], n["skipped"], n["todo"] }' "$others_out" "$cluster_out"
[ "$others_rc" = 0 ] && [ "$cluster_rc" = 0 ]
