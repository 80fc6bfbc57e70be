#!/usr/bin/env bash
# Installs what the tests need, idempotently: the Temporal server the cluster tests run, built from
# source once per machine into ~/.cache/nblc (started first, in the background); scripts/setup.sh
# (npm packages, .venv: what the demo needs too); the Python test tools (requirements-dev.txt) into
# .venv; chromium for the dashboard's browser tests; and, as root, the Debian packages of the
# notebook sandbox's fallbacks. `npm test` runs it; each step says before it starts how long it
# takes, and a step that cannot run says which tests it skips.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "test-setup: $*" >&2; }

# apt-get install, as root where apt-get exists: why, how long, packages. One `apt-get update` per
# call, so nothing is downloaded when every package is there.
apt_install() {
  local why=$1 eta=$2
  shift 2
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "not root (or no apt-get): cannot install $* for $why; install them yourself (apt-get install $*)"
    return 1
  fi
  say "installing $* (apt-get) for $why ($eta)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } >&2
}

# The cluster tests (test/system/cluster/) and scripts/temporal-cluster.sh run the Temporal server release
# docker-compose.yml pins, built from source the first time only: ~8 CPU-minutes (about 4
# minutes on 2 idle cores), most of a new machine's extra cost. So it starts first, before the npm
# packages and .venv (mostly downloads), and as root on one core at a high priority (temporal-build.sh,
# build_beside_tests): a low one left it only the CPU the tests did not use, a fair share among the
# tests' many sessions not much more, so it ended late, and the cluster tests wait for it (in a runner
# of their own, started when the build is done: scripts/test.sh). An interrupted `npm test` lets
# it finish (its own session); its log is in ~/.cache/nblc. Without Go they are skipped, and say so.
if [ -n "${NBLC_SKIP_TEMPORAL_BUILD:-}" ]; then
  :
elif command -v go >/dev/null; then
  # shellcheck source=scripts/temporal-build.sh
  if ! (. scripts/temporal-build.sh && server_built); then
    say "building the Temporal server in the background (first time only: ~8 CPU-minutes, on one core beside the tests as root; the cluster tests wait for it)"
    NBLC_BUILD_BESIDE_TESTS=1 setsid bash scripts/temporal-build.sh </dev/null &
  fi
else
  say "no go command: the Temporal cluster tests (test/system/cluster/) will be skipped; install Go to run them"
fi

# What the demo needs too (npm packages, .venv, the kernel user): scripts/setup.sh, idempotent.
bash scripts/setup.sh

# The Python test tools (ruff, mypy, pytest, hypothesis; nbconvert for the benchmarks) into .venv,
# which scripts/setup.sh made (a shared .venv link belongs to its checkout: only checked).
dev_hash=$(sha256sum requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
if [ -L .venv ]; then
  [ -x .venv/bin/pytest ] || say ".venv links to $(readlink .venv), which lacks requirements-dev.txt; install it there"
elif [ ! -f .venv/.nblc-dev-stamp ] || [ "$(cat .venv/.nblc-dev-stamp)" != "$dev_hash" ]; then
  say "installing requirements-dev.txt into .venv (the Python test tools; about 30 s)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt >&2
  echo "$dev_hash" >.venv/.nblc-dev-stamp
fi

# The dashboard's browser tests (test/api/dashboard-browser.test.ts) drive Debian's chromium
# through playwright-core, which downloads no browser of its own.
chromium_bin=${NBLC_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium_bin" ]; then
  apt_install "the dashboard's browser tests" "about 2 minutes, ~100 MB" chromium ||
    say "no chromium at $chromium_bin: the browser tests will be skipped (or set NBLC_CHROMIUM to a Chromium binary)"
fi

# The notebook sandbox's fallback where the worker may not create namespaces itself (e.g. an
# AppArmor profile that allows only bwrap): bubblewrap (docs/security.md, "Fallbacks").
if ! command -v bwrap >/dev/null; then
  apt_install "the sandbox's bubblewrap fallback and its tests" "about 10 s" bubblewrap ||
    say "bubblewrap not installed: its fallback tests will be skipped"
fi

# The kernels' network and seccomp filter (slirp4netns, libseccomp2) and the tools of their
# tests (iproute2, python3-seccomp): a script of its own, also run by `npm start`.
bash scripts/setup-kernel-network.sh
