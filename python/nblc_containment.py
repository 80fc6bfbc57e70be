"""What bounds a sandboxed notebook beyond its files and memory (docs/security.md): its network
(nblc_network), its system calls (nblc_seccomp), its CPU (a cgroup quota) and its disk (one
size-limited tmpfs holding its writable folder and /tmp). The executor's arguments for them,
and what they add to the policy (nblc_policy) and to the notebook's cgroup (nblc_cgroup).
"""

import argparse
import contextlib
import os
import shutil
from typing import Any

import nblc_bwrap_disk
import nblc_linux as lx
import nblc_network
import nblc_seccomp

OPS = ("disk", "file")  # the policy's mount operations applied here (apply_mount)
CPU_PERIOD_US = 100_000
DISK_ROOT = "/nblc-disk"  # on the sandbox's first root (a tmpfs), detached with it
ENOSPC_TEXT = "No space left on device"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The executor's arguments for these settings (src/activities/runs/sandbox.ts passes them)."""
    p.add_argument("--network", choices=["outbound", "none", "host"], default="outbound", help="NBLC_KERNEL_NETWORK")
    p.add_argument("--network-allow", default="", help="NBLC_KERNEL_NETWORK_ALLOW: comma-separated CIDRs or host:port")
    p.add_argument("--cpus", type=float, default=0, help="NBLC_NOTEBOOK_CPUS: CPUs of its processes (0: no bound)")
    p.add_argument("--disk", default="0", help="NBLC_NOTEBOOK_DISK: its folder and /tmp together (0: no bound)")
    p.add_argument("--seccomp", choices=["on", "off"], default="on", help=argparse.SUPPRESS)


class Containment:
    """The settings of one notebook, from the executor's arguments."""

    def __init__(self, network: str = "host", allow: str = "", cpus: float = 0, disk: int = 0, seccomp: bool = False):
        # the defaults contain nothing: what an executor without these arguments did before
        self.network = network
        self.allow = [a.strip() for a in allow.split(",") if a.strip()]
        self.cpus = cpus
        self.disk = disk
        self.seccomp = seccomp

    @classmethod
    def from_args(cls, args: argparse.Namespace, parse_size: Any) -> "Containment":
        """From nblc_execute's arguments (sizes parsed as NBLC_NOTEBOOK_MEMORY's)."""
        return cls(
            getattr(args, "network", "host"),
            getattr(args, "network_allow", ""),
            float(getattr(args, "cpus", 0) or 0),
            parse_size(str(getattr(args, "disk", "0") or "0")),
            getattr(args, "seccomp", "off") == "on",
        )

    def apply_to_policy(self, policy: dict[str, Any]) -> None:
        """The network, the filter and the disk bound, into the kernel's policy."""
        policy["network"] = nblc_network.policy_entry(self.network, self.allow)
        if self.network == "outbound":  # the host's nameserver may be private: slirp4netns' forwarder
            policy["mounts"].append({"op": "file", "dst": "/etc/resolv.conf", "text": nblc_network.RESOLV_CONF})
        if self.seccomp:
            policy["seccomp"] = nblc_seccomp.compile_filter()
        if self.disk:
            bound_disk(policy, self.disk)

    def apply_to_cgroup(self, dirs: dict[str, str]) -> str | None:
        """The CPU quota on the notebook's cgroup (v2 cpu.max, else v1 cpu.cfs_quota_us in a
        cpu hierarchy cgroup of the same name, added to `dirs`). Returns where it is set."""
        if not self.cpus:
            return None
        try:
            return self._cpu_quota(dirs, max(1000, int(self.cpus * CPU_PERIOD_US)))
        except OSError:  # no writable cpu controller: unbounded, as results show (no cpuLimit)
            return None

    def _cpu_quota(self, dirs: dict[str, str], quota: int) -> str | None:
        """v2 where the notebook's v2 cgroup has the cpu controller, else v1's cpu hierarchy
        (a hybrid host binds cpu to v1, as memory)."""
        unified = dirs.get("unified")
        if unified and os.path.exists(f"{unified}/cpu.max"):
            _write(f"{unified}/cpu.max", f"{quota} {CPU_PERIOD_US}")
            return f"{unified}/cpu.max"
        from nblc_cgroup import own_dirs  # the v1 cpu hierarchy

        own = own_dirs().get("cpu")
        if own and os.access(own, os.W_OK) and dirs:
            name = os.path.basename(next(iter(dirs.values())))
            d = f"{own}/{name}"
            os.mkdir(d)
            dirs["cpu"] = d
            _write(f"{d}/cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(f"{d}/cpu.cfs_quota_us", str(quota))
            return f"{d}/cpu.cfs_quota_us"
        return None


def _write(path: str, value: str) -> None:
    """cgroup files take one short ASCII value."""
    with open(path, "w", encoding="ascii") as f:
        f.write(value)


def _read(path: str) -> str:
    """cgroup files hold one short ASCII value or key-value lines."""
    with open(path, encoding="ascii") as f:
        return f.read().strip()


def cpu_usage(dirs: dict[str, str]) -> dict[str, Any]:
    """The quota as set and how often it held the notebook back (cpu.stat of v2 or v1)."""
    out: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        if "unified" in dirs and os.path.exists(f"{dirs['unified']}/cpu.max"):
            quota, period = _read(f"{dirs['unified']}/cpu.max").split()
            d = dirs["unified"]
        elif "cpu" in dirs:
            d = dirs["cpu"]
            quota, period = _read(f"{d}/cpu.cfs_quota_us"), _read(f"{d}/cpu.cfs_period_us")
        else:
            return out
        stat = dict(line.split() for line in _read(f"{d}/cpu.stat").splitlines())
        if quota not in ("max", "-1"):
            out["cpuLimit"] = round(int(quota) / int(period), 3)
        out["cpuThrottledPeriods"] = int(stat.get("nr_throttled", 0))
        out["cpuPeriods"] = int(stat.get("nr_periods", 0))  # enforcement periods it was running in
        out["cpuPeriodSeconds"] = int(period) / 1e6
    return out


# --- the disk bound


def bound_disk(policy: dict[str, Any], size: int) -> None:
    """The policy's private /tmp and writable folder become two folders of one tmpfs of `size`
    bytes: past it writes fail with ENOSPC inside the sandbox, and nothing reaches the host's
    disk. (The folder is copied into it when the sandbox is built.)"""
    for m in policy["mounts"]:
        if m["op"] == "tmpfs" and m["dst"] == "/tmp":
            m.update(op="disk", sub="tmp", size=size)
        elif m["op"] == "rw" and m["dst"] == policy["cwd"]:
            m.update(op="disk", sub="work", size=size, uid=policy.get("uid"), gid=policy.get("gid"))


def apply_mount(m: dict[str, Any], target_of: Any) -> None:
    """Called by nblc_sandbox while it builds the root (the host's root at /oldroot, cwd the
    first root, a tmpfs); `target_of(dst, like)` makes the mount point under the new root."""
    if m["op"] == "disk":
        apply_disk_mount(m, target_of(m["dst"]))
    else:  # "file": a read-only file of the given text at dst
        path = f"/nblc-file-{abs(hash(m['dst']))}"
        with open(path, "w", encoding="utf-8") as f:
            f.write(m["text"])
        target = target_of(m["dst"], path)
        lx.mount(path, target, None, lx.MS_BIND)
        lx.remount_readonly(target)


def apply_disk_mount(m: dict[str, Any], target: str) -> None:
    """The tmpfs on first use, the folder `sub` in it (a copy of `src` if given), bound at
    `target`."""
    if not os.path.ismount(DISK_ROOT):
        os.makedirs(DISK_ROOT, exist_ok=True)
        lx.mount("tmpfs", DISK_ROOT, "tmpfs", lx.MS_NOSUID | lx.MS_NODEV, f"size={int(m['size'])},mode=0755")
    folder = f"{DISK_ROOT}/{m['sub']}"
    if m.get("src"):
        shutil.copytree("/oldroot" + m["src"], folder, symlinks=True)
        if m.get("uid") is not None:  # as root: the kernel user's, as the host's copy was
            uid, gid = int(m["uid"]), int(m["gid"])
            for base, dirs, files in os.walk(folder):
                for name in [*dirs, *files]:
                    os.chown(os.path.join(base, name), uid, gid, follow_symlinks=False)
            os.chown(folder, uid, gid)
    else:
        os.mkdir(folder)
        os.chmod(folder, 0o1777)
    lx.mount(folder, target, None, lx.MS_BIND)


def bwrap_args_for(policy: dict[str, Any]) -> list[str]:
    """The policy as bubblewrap arguments, with the network, the filter and the files. The disk
    bound: two tmpfs sharing NBLC_NOTEBOOK_DISK (nblc_bwrap_disk; the command copies the folder)."""
    from nblc_policy import bwrap_args

    disk_mounts, sized = nblc_bwrap_disk.plan(policy)
    mounts, files = [], []
    for m in disk_mounts:
        if m["op"] == "file":
            files += ["--ro-bind-data", str(nblc_seccomp.memfd(m["text"].encode())), m["dst"]]
            continue
        mounts.append(m)
    args = bwrap_args({**policy, "mounts": mounts})
    for dst, size in sized.items():
        i = next(i for i in range(len(args) - 1) if args[i : i + 2] == ["--tmpfs", dst])
        args[i:i] = ["--size", str(size)]
    bpf = nblc_seccomp.program(policy)
    if bpf:  # the filter refuses new user namespaces: bwrap's own nested one is not needed
        args = [a for a in args if a != "--disable-userns"]
        files += ["--seccomp", str(nblc_seccomp.memfd(bpf))]
    if nblc_network.needs_netns(policy.get("network")):  # --unshare-all's own, then
        args = [a for a in args if a != "--share-net"]
    return [*args[:-4], *files, *args[-4:]]  # before the final --remount-ro / --chdir


def disk_note(message: str | None, disk: int) -> str | None:
    """The result's words when a notebook failed on its disk bound."""
    if disk and message and ENOSPC_TEXT in message:
        return f"{message} (the notebook's disk bound NBLC_NOTEBOOK_DISK, {disk >> 20} MiB, is full)"
    return None


def annotate(result: dict[str, Any], sandbox: Any) -> dict[str, Any]:
    """The result says how the notebook was contained: its network ("host": not isolated), its
    CPU quota and throttling, and whether it failed on its disk bound."""
    containment = getattr(sandbox, "containment", None)
    result["network"] = containment.network if containment is not None else "host"
    result.update(getattr(sandbox, "cpu_usage", None) or {})
    if containment is not None:
        note = disk_note(result.get("message"), containment.disk)
        if note:
            result["message"] = note
            result["diskFull"] = True
        elif result["status"] != "passed":
            result["message"] = read_only_note(network_note(result.get("message"), containment.network))
    return result


READ_ONLY_TEXT = "Read-only file system"
READ_ONLY_WORDS = (
    "in the sandbox only the notebook's own folder (a private copy, with its sub-folders) and /tmp are"
    " writable; the rest of the repository is read-only: write results under the notebook's folder"
)


def read_only_note(message: str | None) -> str | None:
    """A notebook that failed writing outside its folder (e.g. `../data/out.csv`, which works when
    run in place): the result says so in words, as this difference is by design."""
    if message and READ_ONLY_TEXT in message:
        return f"{message} ({READ_ONLY_WORDS})"
    return message


# "Connection refused": the kernel's loopback is its own, so a service on the host's loopback (the
# API, Temporal, a database) refuses it; the words say why, whatever the address was
NETWORK_ERRORS = (
    "Network is unreachable",
    "No route to host",
    "Temporary failure in name resolution",
    "Connection refused",
)
NETWORK_WORDS = {
    "outbound": "the kernel's network is NBLC_KERNEL_NETWORK=outbound: the internet only; the host's loopback"
    " and own addresses and private, link-local and metadata ranges are unreachable unless"
    " NBLC_KERNEL_NETWORK_ALLOW lists them",
    "none": "the kernel's network is NBLC_KERNEL_NETWORK=none: nothing but its own loopback",
}


def network_note(message: str | None, network: str) -> str | None:
    """A notebook that failed on the network boundary: the result says so in words (a difference
    from running it in place is by design)."""
    if message and network in NETWORK_WORDS and any(e in message for e in NETWORK_ERRORS):
        return f"{message} ({NETWORK_WORDS[network]})"
    return message
