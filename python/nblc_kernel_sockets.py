"""The executor's connections to a sandboxed kernel, pinned to the sockets it found.

The kernel's ZeroMQ sockets are Unix sockets in its runtime folder, which the kernel can write
(it binds them there). ZeroMQ connects, and reconnects after every disconnection, by name: a
kernel that replaces a socket with a link to a Unix socket of the host, then drops its
connections, would have the executor (outside the sandbox, root on a root worker) connect there
and speak to a host service. So the executor waits until every socket of the kernel is there,
opens each with O_PATH | O_NOFOLLOW, checks that it is a socket and not a link, and connects
through `/proc/self/fd/<n>` ever after: always that socket, whatever the kernel does to the name.
"""

import asyncio
import os
import stat
import time
from collections.abc import Awaitable, Callable
from typing import Any

CHANNELS = ("shell", "iopub", "stdin", "control", "hb")
POLL_S = 0.01


class KernelSocketError(RuntimeError):
    """A kernel's socket was not there in time, or was not a socket (a link, a file)."""


def _open_socket(path: str) -> int | None:
    """A descriptor of the socket at `path` (no link followed), None while it is not there."""
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    if not stat.S_ISSOCK(os.fstat(fd).st_mode):
        os.close(fd)
        raise KernelSocketError(f"the kernel's channel {path} is not a socket (a link or a file put there)")
    return fd


async def pin_sockets(
    managers: list[Any], alive: Callable[[], Awaitable[bool]], timeout: float | None
) -> dict[str, int]:
    """Waits for the kernel's sockets (ipc transport), then makes every manager and client in
    `managers` connect through descriptors of them. KernelSocketError when the kernel died or
    did not bind them within `timeout` seconds."""
    first = managers[0]
    paths = {ch: f"{first.ip}-{getattr(first, f'{ch}_port')}" for ch in CHANNELS}
    deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
    fds: dict[str, int] = {}
    try:
        while len(fds) < len(paths):
            for ch, path in paths.items():
                if ch not in fds and (fd := _open_socket(path)) is not None:
                    fds[ch] = fd
            if len(fds) == len(paths):
                break
            if time.monotonic() > deadline or not await alive():
                missing = ", ".join(ch for ch in paths if ch not in fds)
                raise KernelSocketError(f"the kernel did not bind its channels ({missing})")
            await asyncio.sleep(POLL_S)
    except BaseException:
        for fd in fds.values():
            os.close(fd)
        raise
    for obj in managers:
        obj._make_url = lambda channel: f"ipc:///proc/self/fd/{fds[channel]}"
    return fds
