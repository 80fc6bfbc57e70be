"""How a forked process becomes a notebook's kernel, shared by the two places kernels are forked
from: the executor's template (nblc_kernel_fork, the executor's own interpreter) and a kernel
fork server running in another kernelspec's interpreter (nblc_kernel_server). Standard library
and nblc's sandbox only: the kernel server imports it into an interpreter nblc does not manage.
"""

import atexit
import ctypes
import json
import logging
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

import nblc_kernel_boot
import nblc_kernel_reset
import nblc_sandbox

# What every kernel imports while it starts, beyond ipykernel's kernel app and kernel (its debugger, history,
# completer, inspector, psutil, tornado's queues): ~0.08 CPU-s per notebook when each kernel
# imported them itself, about half a forked kernel's CPU. Importing them starts no thread.
KERNEL_START_MODULES = (
    "ipykernel.debugger",
    "ipykernel.zmqshell",  # adds a warnings filter: before the preloads add theirs, as in a kernel
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.logger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "faulthandler",
    "psutil",
    "pydoc",
    "sqlite3",
    "tornado.locks",
    "tornado.platform.asyncio",
    "tornado.queues",
)

PR_SET_PDEATHSIG = 1


def read_json_line(conn: socket.socket, limit: int) -> Any:
    """A fork server's request: one JSON line from a connection, refused past `limit` bytes or 10 s
    (the executor's or the main fork server's, never a kernel's: both servers frame requests so)."""
    conn.settimeout(10)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk or len(data) > limit:
            raise ValueError("incomplete request")
        data += chunk
    conn.settimeout(None)
    return json.loads(data)


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Get `signum` when the parent dies (SIGKILL: a killed executor leaves no kernel; SIGTERM:
    the process cleans up like when it is cancelled)."""
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum)
    except (OSError, AttributeError):  # not Linux: the executor's own kill path still applies
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def exit_code(e: SystemExit) -> int:
    """The process exit status a SystemExit stands for."""
    return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)


def stdin_from_devnull() -> None:
    """A forked kernel or executor reads nothing from the stdin of the process it came from."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)


def run_child(body: Callable[[], int]) -> NoReturn:
    """Run `body()` in a forked child and end the process with its result as exit status. Never
    returns: an exception must not unwind into the code of the process the child was forked from."""
    code = 1
    try:
        code = body()
    except SystemExit as e:
        code = exit_code(e)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def reset_child_state() -> None:
    """What a forked child must not inherit from the process it was forked from."""
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    atexit._clear()
    logging.root.handlers.clear()


def become_kernel(req: dict[str, Any], stdout: int | None, stderr: int | None) -> int:
    """Turn this forked process into the kernel `req` describes ({argv, env, cwd, policy}):
    own session, stdio, the sandbox when there is a policy, the notebook's folder and
    environment, the state of a fresh interpreter, then ipykernel's launcher as `python -m`."""
    os.setsid()
    stdin_from_devnull()
    for fd, given in ((1, stdout), (2, stderr)):
        if given is not None and given != fd:
            os.dup2(given, fd)
    if req["policy"]:
        # This process stays outside as the supervisor; the sandboxed child returns here.
        nblc_sandbox.enter(req["policy"], req["argv"])
    else:
        os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    sys.argv = [req["argv"][0], *req["argv"][3:]]
    sys.executable = os.path.normpath(sys.executable)  # as in the sandbox: no `..` through absent folders
    boot = nblc_kernel_boot.run_in_process  # the real launcher, never one in the notebook's folder
    fresh = nblc_kernel_reset.fresh
    for name in [m for m in sys.modules if m.startswith("nblc")]:
        del sys.modules[name]  # importable in a spawned kernel only from its own folder
    fresh()
    try:
        boot()
        code = 0
    except SystemExit as e:
        code = exit_code(e)
    atexit._run_exitfuncs()  # the kernel's own (history, cleanup), never the executor's
    return code
