"""NBLC_NOTEBOOK_DISK under bubblewrap (docs/security.md, "Disk"). bwrap cannot copy a folder
into a tmpfs, nor bind one folder of a tmpfs it made: so the notebook's writable folder is a
size-limited tmpfs of its own at the folder's place, filled from its copy (bound read-only at
STAGE) by `cp -a` inside the sandbox just before the kernel starts, and /tmp another. Their
sizes share the bound: the folder gets its files plus half of what is left, /tmp the other half,
so that together they never hold more than NBLC_NOTEBOOK_DISK. Standard library only (the
launcher runs with python -S).
"""

import os
from typing import Any

STAGE = "/nblc-disk-src"  # the folder's copy, read-only, in the sandbox's view
PAGE = 4096
# Runs in the sandbox, as the kernel's user, after the filter: the copy, then the kernel.
COPY = 'cp -a /nblc-disk-src/. . && exec "$@"'
MIN_TMP = 1 << 20


def tree_bytes(root: str) -> int:
    """What a folder takes in a tmpfs: its files rounded up to pages, a page per entry."""
    total = PAGE
    for base, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            st = os.lstat(os.path.join(base, name))
            total += PAGE + -(-st.st_size // PAGE) * PAGE
    return total


def sizes(disk: int, folder: str | None) -> dict[str, int]:
    """{"work": bytes, "tmp": bytes} for a bound of `disk` bytes and the folder's copy."""
    used = tree_bytes(folder) if folder else 0
    free = max(disk - used, 0)
    tmp = max(free // 2, MIN_TMP) if free else MIN_TMP
    return {"work": max(disk - tmp, PAGE), "tmp": tmp}


def plan(policy: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The policy's mounts for bwrap_args (disk ones replaced) and the size of each tmpfs by its
    mount point (bwrap's --size goes right before its --tmpfs)."""
    disks = [m for m in policy["mounts"] if m["op"] == "disk"]
    if not disks:
        return policy["mounts"], {}
    work = next((m for m in disks if m["sub"] == "work"), None)
    split = sizes(int(disks[0]["size"]), work.get("src") if work else None)
    mounts: list[dict[str, Any]] = []
    sized: dict[str, int] = {}
    for m in policy["mounts"]:
        if m["op"] != "disk":
            mounts.append(m)
            continue
        if m["sub"] == "work" and m.get("src"):
            mounts.append({"op": "ro", "src": m["src"], "dst": STAGE})
        mounts.append({"op": "tmpfs", "dst": m["dst"]})
        sized[m["dst"]] = split[m["sub"]] if work else int(m["size"])
    return mounts, sized


def command(policy: dict[str, Any], cmd: list[str]) -> list[str]:
    """The kernel's command, preceded by the copy of its folder when the folder is a tmpfs."""
    if any(m["op"] == "disk" and m["sub"] == "work" and m.get("src") for m in policy["mounts"]):
        return ["/bin/sh", "-c", COPY, "nblc-disk", *cmd]
    return cmd
