"""What a worker does with cgroups once, at start (python/nblc_sandbox_probe.py): make its cgroup v2
nblc's to manage where it may (delegate), say how notebooks' memory will be bounded, and remove
notebook cgroups a killed executor left behind (sweep). The per-notebook cgroups themselves:
nblc_cgroup.Limits.
"""

import contextlib
import os
import time

from nblc_cgroup import WORKER_LEAF, _mounts, _read, _write, is_v2, own_dirs, v2_parent


def _enable(base: str, controllers: list[str]) -> list[str]:
    wanted: list[str] = [c for c in ("memory", "pids", "cpu") if c in controllers]
    if wanted:
        _write(f"{base}/cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))
    return wanted


def _memory_fallback() -> str:
    v1 = own_dirs().get("memory")
    return "through cgroup v1" if v1 and os.access(v1, os.W_OK) else "per process (RLIMIT_DATA)"


def delegate(root: str | None = None) -> str:
    """cgroup v2 allows no processes in a cgroup whose children have controllers, so notebook
    cgroups cannot go below the worker's own as they are. Where the worker's cgroup is its to
    manage (the root of its cgroup namespace, as in a container, or one systemd delegated with
    Delegate=yes), move its processes into a leaf WORKER_LEAF and enable memory, pids and cpu
    for the children. With NBLC_CGROUP_ROOT, only enable them there (its processes are the
    operator's business). Anywhere else nothing is moved: the notebooks fall back to v1 or
    rlimits. Returns what was done, for the worker's log."""
    if root:
        if not is_v2(root):
            return f"NBLC_CGROUP_ROOT {root} is not a cgroup v2 folder: not used"
        try:
            wanted = _enable(root, _read(f"{root}/cgroup.controllers").split())
        except OSError as e:
            return f"cgroup v2: NBLC_CGROUP_ROOT {root} not usable ({e.strerror or e})"
        return _v2_note(root, wanted)
    unified = own_dirs().get("unified")
    if not unified:
        return "no cgroup v2 change"
    own = v2_parent(unified)
    if not os.access(own, os.W_OK):  # root, or the user systemd delegated the cgroup to
        return "no cgroup v2 change"
    try:
        if not os.path.exists(f"{own}/cgroup.type"):  # the host's root cgroup: not nblc's to reorder
            return "cgroup v2: the worker is in the root cgroup, not used (set NBLC_CGROUP_ROOT)"
        controllers = _read(f"{own}/cgroup.controllers").split()
        if "memory" in _read(f"{own}/cgroup.subtree_control").split():
            return f"cgroup v2: notebook cgroups below {own}"
        if not (own == _mounts()["unified"][0] or _delegated(own)):
            return f"cgroup v2: {own} is not delegated to nblc (systemd: Delegate=yes; docker: --cgroupns=private)"
        leaf = f"{own}/{WORKER_LEAF}"
        os.makedirs(leaf, exist_ok=True)
        for _ in range(20):  # processes forked meanwhile land in own too: until none is left
            pids = _read(f"{own}/cgroup.procs").split()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(OSError):  # gone meanwhile, or a kernel thread
                    _write(f"{leaf}/cgroup.procs", pid)
        return f"worker moved to {leaf}; " + _v2_note(own, _enable(own, controllers))
    except OSError as e:
        return f"cgroup v2: {own} not usable ({e.strerror or e})"


def _v2_note(base: str, enabled: list[str]) -> str:
    note = f"cgroup v2: notebook cgroups below {base} ({', '.join(enabled) or 'no controllers'})"
    if "memory" not in enabled:
        note += f"; no memory controller on v2 there: memory limited {_memory_fallback()}"
    return note


def sweep(min_age_s: float = 600, root: str | None = None) -> int:
    """Remove notebook cgroups an executor killed by SIGKILL left behind (empty ones only: rmdir
    refuses a cgroup with processes; old ones only: a new one may not have its first yet)."""
    removed = 0
    parents = {ctl: v2_parent(own) if ctl == "unified" else own for ctl, own in own_dirs().items()}
    if root:
        parents["unified"] = root
    for parent in parents.values():
        with contextlib.suppress(OSError):
            for entry in os.scandir(parent):
                if entry.name.startswith("nblc-nb-") and time.time() - entry.stat().st_mtime > min_age_s:
                    with contextlib.suppress(OSError):
                        os.rmdir(entry.path)
                        removed += 1
    return removed


def _delegated(path: str) -> bool:
    for name in ("trusted.delegate", "user.delegate"):
        with contextlib.suppress(OSError):
            if os.getxattr(path, name) == b"1":
                return True
    return False
