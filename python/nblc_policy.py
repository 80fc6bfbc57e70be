"""What a sandboxed kernel may see: the one description of the sandbox (docs/security.md), built
by the executor and applied by nblc_sandbox, in-process or through bubblewrap.

A policy is JSON: it crosses the fork (the kernel template) and the command line (the launcher).

    {"mounts": [{"op": "ro"|"rw", "src": HOST, "dst": PATH} | {"op": "symlink", "target", "dst"}
                | {"op": "tmpfs"|"dev"|"proc"|"mask", "dst": PATH}, ...],   # applied in order
     "cwd": PATH, "uid": N|null, "gid": N|null, "data_limit": BYTES|null,
     "cgroups": [".../cgroup.procs", ...], "backend": "auto"|"bwrap"}

Everything not listed is absent: the service's data, results, users' copies, caches, secret
files, /root, /home, /run, /sys, the host's /tmp and processes.
"""

import os
import pwd
import shutil
import sys
from collections.abc import Iterable, Mapping
from typing import Any

NOTEBOOKS = "/nblc/notebooks"  # where the published snapshot appears, read-only
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# Passed to a kernel whatever the operator lists; all else must be named in NBLC_KERNEL_ENV.
BASE_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM")
DEFAULT_USER = "nblc-kernel"

Policy = dict[str, Any]


def kernel_env(env: Mapping[str, str], extra: Iterable[str]) -> dict[str, str]:
    """The allow-listed environment of a kernel: what a locale-aware program needs, what
    jupyter_client sets for its kernels (JPY_*), and the names the operator listed."""
    names = set(BASE_ENV) | set(extra)
    out = {k: v for k, v in env.items() if k in names or k.startswith(("LC_", "JPY_"))}
    out.update(HOME="/tmp", TMPDIR="/tmp")  # the sandbox's private /tmp
    return out


def kernel_ids(user: str) -> tuple[int | None, int | None]:
    """uid/gid the kernel runs as. Only root can switch users; otherwise the kernel keeps the
    worker's ids, mapped in a user namespace (None)."""
    if os.geteuid() != 0:
        return None, None
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise SandboxError(
            f"NBLC_KERNEL_USER {user!r} does not exist: run scripts/setup.sh (creates {DEFAULT_USER}) "
            "or name an existing unprivileged user"
        ) from None
    if pw.pw_uid == 0 or pw.pw_gid == 0:
        raise SandboxError(f"NBLC_KERNEL_USER {user!r} is root: kernels must run unprivileged")
    return pw.pw_uid, pw.pw_gid


class SandboxError(RuntimeError):
    """The sandbox cannot be set up on this host: an infrastructure problem, not the notebook's."""


def python_dirs(executable: str) -> list[str]:
    """The directories an interpreter needs: its prefix (also through symlinks) and, for a
    virtualenv, the base installation named in pyvenv.cfg."""
    found = shutil.which(executable) or executable
    dirs = []
    for exe in (os.path.abspath(found), os.path.realpath(found)):
        prefix = os.path.dirname(os.path.dirname(exe))
        dirs += [prefix, os.path.realpath(prefix)]
        cfg = os.path.join(prefix, "pyvenv.cfg")
        if os.path.isfile(cfg):
            with open(cfg, encoding="utf-8") as f:
                for line in f:
                    key, _, value = line.partition("=")
                    if key.strip() == "home":
                        home = os.path.dirname(value.strip())
                        dirs += [home, os.path.realpath(home)]
    return dirs


def this_python() -> list[str]:
    return [sys.prefix, sys.base_prefix, sys.exec_prefix, *python_dirs(sys.executable)]


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def plan(
    *,
    snapshot: str,
    rel_dir: str,
    scratch: str,
    runtime_dir: str,
    subdirs: Iterable[str],
    extra_dirs: Iterable[str] = (),
    masks: Iterable[str] = (),
    uid: int | None = None,
    gid: int | None = None,
    data_limit: int | None = None,
    cgroups: Iterable[str] = (),
    backend: str = "auto",
) -> Policy:
    """The policy of one notebook's kernel.

    snapshot: the published tree, read-only at NOTEBOOKS so `../data` and `../utils.py` resolve
    as in the repository; scratch: the private writable copy of the notebook's folder `rel_dir`,
    bound over it (the subfolders `subdirs` of that folder bound back read-only inside it);
    runtime_dir: the kernel's connection file and sockets, at the same path as outside.
    """
    mounts: list[dict[str, str | bool]] = []
    bound: list[tuple[str, str]] = []  # (host source, sandbox path) of bind mounts

    def bind(src: str, dst: str, op: str = "ro") -> None:
        # the real path: symlinks are resolved later from a root where their targets are absent
        src = os.path.realpath(src)
        mounts.append({"op": op, "src": src, "dst": dst})
        bound.append((src, dst))

    for path in SYSTEM:
        if os.path.islink(path):
            mounts.append({"op": "symlink", "target": os.readlink(path), "dst": path})
        elif os.path.isdir(path):
            bind(path, path)
    resolv = os.path.realpath("/etc/resolv.conf")  # often a link into /run (systemd-resolved)
    if os.path.isfile(resolv) and not _under(resolv, "/etc"):
        bind(resolv, resolv)
    # before the binds below: a Python environment or kernelspec may live under /tmp
    mounts += [{"op": "dev", "dst": "/dev"}, {"op": "proc", "dst": "/proc"}, {"op": "tmpfs", "dst": "/tmp"}]
    covered = [p for p in SYSTEM if not os.path.islink(p)]
    for d in sorted({os.path.normpath(d) for d in [*this_python(), *extra_dirs] if d}, key=len):
        if d != "/" and os.path.isdir(d) and not any(_under(d, c) for c in covered):
            bind(d, d)  # the interpreter's own paths (sys.path, compiled-in prefixes) stay valid
            covered.append(d)
    bind(snapshot, NOTEBOOKS)
    cwd = os.path.normpath(os.path.join(NOTEBOOKS, rel_dir))
    bind(scratch, cwd, "rw")
    for sub in subdirs:
        bind(os.path.join(snapshot, rel_dir, sub), os.path.join(cwd, sub))
    bind(runtime_dir, runtime_dir, "rw")
    for mask in masks:
        mask = os.path.abspath(mask)
        for src, dst in bound:
            if _under(mask, src) and os.path.lexists(mask):
                inside = dst + mask[len(src.rstrip("/")) :]
                mounts.append({"op": "mask", "dst": inside, "dir": os.path.isdir(mask)})
    return {
        "mounts": mounts,
        "cwd": cwd,
        "uid": uid,
        "gid": gid,
        "data_limit": data_limit,
        "cgroups": list(cgroups),
        "backend": backend,
    }


def bwrap_args(policy: Policy) -> list[str]:
    """The same policy as bubblewrap arguments, for the fallback where this process may not
    create namespaces but bwrap may (e.g. an AppArmor profile allowing only bwrap). bwrap runs
    unprivileged, as the kernel's user: what it binds must be readable by that user."""
    args = ["--unshare-all", "--share-net", "--hostname", "nblc", "--die-with-parent", "--cap-drop", "ALL"]
    args += ["--unshare-user", "--disable-userns"]
    for m in policy["mounts"]:
        op, dst = m["op"], m["dst"]
        if op in ("ro", "rw"):
            args += ["--ro-bind" if op == "ro" else "--bind", m["src"], dst]
        elif op == "symlink":
            args += ["--symlink", m["target"], dst]
        elif op in ("tmpfs", "dev", "proc"):
            args += [f"--{op}", dst]
        elif op == "mask":
            args += ["--tmpfs", dst, "--remount-ro", dst] if m["dir"] else ["--ro-bind", "/dev/null", dst]
    return [*args, "--remount-ro", "/", "--chdir", policy["cwd"]]
