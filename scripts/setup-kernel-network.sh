#!/usr/bin/env bash
# What a worker's kernels need beyond scripts/setup.sh, as root with apt-get: run by `npm start`
# and by scripts/test-setup.sh (`npm test`), not by `npm run demo` (its worker runs with
# NBLC_KERNEL_NETWORK=none and needs none of it). Idempotent: nothing when all is there.
set -euo pipefail
# The kernel's network and system calls (docs/security.md, "The network boundary"; issue 21).
# Worker runtime: slirp4netns (NBLC_KERNEL_NETWORK=outbound, the default: without it a worker
# refuses to start unless NBLC_KERNEL_NETWORK is none or host), nftables (address:port entries of
# NBLC_KERNEL_NETWORK_ALLOW) and libseccomp2 (the kernels'
# seccomp filter, through pyseccomp in requirements.txt). Tests only: iproute2 (`ip netns`, the
# namespace standing in for the internet in test/system/sandbox/containment.test.ts) and python3-seccomp
# (test/system/sandbox/fallbacks.test.ts runs the probe with the system's Python, which has no .venv).
install_kernel_network() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 0
  local missing=()
  command -v slirp4netns >/dev/null || missing+=(slirp4netns)
  # nft: NBLC_KERNEL_NETWORK_ALLOW's address:port entries, enforced per port in the kernel's namespace
  command -v nft >/dev/null || [ -x /usr/sbin/nft ] || missing+=(nftables)
  command -v ip >/dev/null || missing+=(iproute2)
  # grep reads to the end (not -q): under pipefail an early exit would fail ldconfig with SIGPIPE
  ldconfig -p 2>/dev/null | grep 'libseccomp\.so\.2' >/dev/null || missing+=(libseccomp2)
  [ ! -x /usr/bin/python3 ] || /usr/bin/python3 -c 'import seccomp' 2>/dev/null || missing+=(python3-seccomp)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]} (apt-get; the kernels' network and seccomp filter; about 20 s)" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 ||
    echo "setup: could not install ${missing[*]}: set NBLC_KERNEL_NETWORK=none (or host) to run the worker without slirp4netns" >&2
}
install_kernel_network
