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

# The notebook sandbox (docs/security.md). As root, kernels run as their own unprivileged user
# (NBLC_KERNEL_USER, default nblc-kernel): created here when missing. bubblewrap is the
# fallback where the worker may not create namespaces itself (e.g. an AppArmor profile that
# allows only bwrap); installed when apt-get is available and it is missing.
if [ "$(id -u)" = 0 ]; then
  kernel_user=${NBLC_KERNEL_USER:-nblc-kernel}
  if ! getent passwd "$kernel_user" >/dev/null; then
    echo "setup: creating the kernel user $kernel_user" >&2
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$kernel_user"
  fi
  if ! command -v bwrap >/dev/null && command -v apt-get >/dev/null; then
    echo "setup: installing bubblewrap" >&2
    apt-get install -y --no-install-recommends bubblewrap >&2 || echo "setup: bubblewrap not installed (only a fallback)" >&2
  fi
fi
