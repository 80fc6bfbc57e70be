"""The sandbox's root file system: a new tmpfs root holding only what the policy's mounts list
(read-only and writable binds, tmpfs, /proc, a minimal /dev with its own pseudo-terminals, masks),
built by nblc_sandbox inside the new mount namespace. Standard library only, imported before the
root is built (between the two pivots nothing can be imported).
"""

import os
import re
from typing import Any

import nblc_containment
import nblc_linux as lx
from nblc_policy import Policy

OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")
PTS_OPTIONS = "newinstance,ptmxmode=0666,mode=0620"


def build_root(policy: Policy) -> None:
    """A tmpfs root holding only what the policy lists (bubblewrap's way: pivot into a tmpfs,
    bind from /oldroot into /newroot, pivot again, detach the old root)."""
    lx.mount(None, "/", None, lx.MS_REC | lx.MS_PRIVATE)  # nothing propagates back to the host
    lx.mount("tmpfs", "/tmp", "tmpfs", lx.MS_NOSUID | lx.MS_NODEV, "mode=0755")
    os.chdir("/tmp")
    os.mkdir("newroot")
    os.mkdir("oldroot")
    lx.mount("newroot", "newroot", None, lx.MS_BIND | lx.MS_REC)
    lx.pivot_root("/tmp", "/tmp/oldroot")
    os.chdir("/")
    for m in policy["mounts"]:
        apply_mount(m)
    lx.mount(None, "/oldroot", None, lx.MS_REC | lx.MS_PRIVATE)
    lx.umount2("/oldroot", lx.MNT_DETACH)
    os.chdir("/newroot")
    lx.pivot_root(".", ".")
    lx.umount2(".", lx.MNT_DETACH)
    os.chdir("/")
    lx.mount(None, "/", None, lx.MS_BIND | lx.MS_REMOUNT | lx.MS_RDONLY | lx.MS_NOSUID | lx.MS_NODEV)


def _target(dst: str, like: str | None = None) -> str:
    """The mount point under /newroot, created as a file or folder like `like`."""
    path = "/newroot" + dst
    if like is not None and not os.path.isdir(like):
        if not os.path.lexists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").close()
    else:
        os.makedirs(path, exist_ok=True)
    return path


def apply_mount(m: dict[str, Any]) -> None:
    op, dst = m["op"], m["dst"]
    if op in ("ro", "rw"):
        src = "/oldroot" + m["src"]
        target = _target(dst, src)
        lx.mount(src, target, None, lx.MS_BIND | lx.MS_REC)
        if op == "ro":
            for point in mounts_under(target):
                lx.remount_readonly(point)
    elif op == "symlink":
        os.symlink(m["target"], "/newroot" + dst)
    elif op == "tmpfs":
        lx.mount("tmpfs", _target(dst), "tmpfs", lx.MS_NOSUID | lx.MS_NODEV, "mode=1777")
    elif op in nblc_containment.OPS:
        nblc_containment.apply_mount(m, _target)
    elif op == "proc":
        lx.mount("proc", _target(dst), "proc", lx.MS_NOSUID | lx.MS_NODEV | lx.MS_NOEXEC)
    elif op == "dev":
        dev = _target(dst)
        lx.mount("tmpfs", dev, "tmpfs", lx.MS_NOSUID | lx.MS_NOEXEC, "mode=0755")
        for node in DEV_NODES:
            if os.path.exists(f"/oldroot/dev/{node}"):
                lx.mount(f"/oldroot/dev/{node}", _target(f"{dst}/{node}", f"/oldroot/dev/{node}"), None, lx.MS_BIND)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "0"), ("stdout", "1"), ("stderr", "2")):
            os.symlink(target if name == "fd" else f"/proc/self/fd/{target}", f"{dev}/{name}")
        lx.mount("tmpfs", _target(f"{dst}/shm"), "tmpfs", lx.MS_NOSUID | lx.MS_NODEV, "mode=1777")
        mount_devpts(dst)
    elif op == "mask":
        path = "/newroot" + dst
        if os.path.isdir(path):
            lx.mount("tmpfs", path, "tmpfs", lx.MS_NOSUID | lx.MS_NODEV | lx.MS_RDONLY, "mode=0")
        elif os.path.lexists(path):
            lx.mount("/oldroot/dev/null", path, None, lx.MS_BIND)
    else:
        raise OSError(22, f"unknown mount operation {op!r}")


def mount_devpts(dst: str) -> None:
    """A private /dev/pts (a new devpts instance, as bubblewrap's --dev makes): IPython runs `!cmd`
    on a pseudo-terminal, and `%%bash` or pty.spawn need one; none of the host's terminals shows."""
    lx.mount("devpts", _target(f"{dst}/pts"), "devpts", lx.MS_NOSUID | lx.MS_NOEXEC, PTS_OPTIONS)
    os.symlink("pts/ptmx", f"/newroot{dst}/ptmx")


def mounts_under(target: str) -> list[str]:
    """`target` and the mounts below it, from mountinfo (paths there escape space as \\040)."""
    points = []
    with open("/oldroot/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            point = OCTAL_ESCAPE.sub(lambda e: chr(int(e[1], 8)), line.split()[4])
            if point == target or point.startswith(target.rstrip("/") + "/"):
                points.append(point)
    return points
