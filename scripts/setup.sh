#!/usr/bin/env bash
# Installs what nblc needs, idempotently: npm packages (from package-lock.json)
# and the Python virtualenv .venv (Temporal CLI, nbclient, ipykernel).
# A stamp holding the hash of the lock file / requirements skips work already done.
set -euo pipefail
cd "$(dirname "$0")/.."

hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

npm_hash=$(hash_of package.json package-lock.json)
if [ ! -f node_modules/.nblc-stamp ] || [ "$(cat node_modules/.nblc-stamp)" != "$npm_hash" ]; then
  echo "setup: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$npm_hash" > node_modules/.nblc-stamp
fi

py_hash=$(hash_of requirements.txt)
if [ ! -f .venv/.nblc-stamp ] || [ "$(cat .venv/.nblc-stamp)" != "$py_hash" ]; then
  echo "setup: creating .venv and installing requirements.txt" >&2
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt >&2
  echo "$py_hash" > .venv/.nblc-stamp
fi
