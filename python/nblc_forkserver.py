#!/usr/bin/env python3
"""Fork server for the notebook executor: one child process per notebook, without paying for a
new Python and its imports each time.

Started once per worker by the test-run activity (src/activities/runs/executor-process.ts):

    nblc_forkserver.py

It imports the executor, nbclient and ipykernel once, creates a Unix socket in a private
temporary directory, prints {"socket": PATH} on stdout and serves. Per connection it reads one
JSON line {"argv": [...executor arguments], "stderr": PATH} and forks a child that starts a new
session (so the activity can signal its whole process group, as with a spawned executor),
writes {"event": "spawned", "pid": N}, then runs nblc_execute.main(argv) with stdout on the
connection (its progress lines) and stderr in PATH. When the child ends the server writes
{"event": "exit", "code": N} (128+signal when killed) and closes the connection.

Nothing is left behind: a connection closed early (the activity is gone) SIGKILLs that child's
group. Stdin closing or SIGTERM (the worker stopped or died) ends the server: each child gets
SIGTERM, so it kills its kernel's group as when a run is cancelled, then SIGKILL. A child whose
server dies anyway gets SIGTERM from the kernel (PDEATHSIG), and a kernel dies with its child.
"""

import argparse
import contextlib
import importlib
import json
import os
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import time
from typing import Any, NoReturn, cast

# Imported once here, for every child: the kernel's modules (for the forked kernels) and,
# through nblc_execute, nbclient, nbformat and jupyter_client.
import ipykernel.ipkernel  # noqa: F401
import ipykernel.kernelapp  # noqa: F401
import nbformat
from jupyter_client.provisioning.factory import KernelProvisionerFactory

import nblc_execute
import nblc_kernel_remote
import nblc_kernel_reset
from nblc_kernel_become import (
    KERNEL_START_MODULES,
    die_with_parent,
    read_json_line,
    reset_child_state,
    run_child,
    stdin_from_devnull,
)
from nblc_kernel_servers import KernelServers
from nblc_preload import parse_setting

for _name in KERNEL_START_MODULES:
    importlib.import_module(_name)
# What a fresh kernel has after these imports (warnings filters, sys.path): forked kernels get it back.
nblc_kernel_reset.snapshot()


def warm_validators() -> None:
    """Compile nbformat's schema validators here, once: each executor reads and validates its
    notebook, and compiling the validator there cost ~0.035 CPU-s per notebook (every child
    starts from this process's memory, where it had never run). A notebook of each v4 minor
    version, read and validated as the executor does."""
    for minor in range(nbformat.v4.nbformat_minor + 1):
        text = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": minor})
        with contextlib.suppress(Exception):  # an optimisation only
            nbformat.validate(nbformat.reads(text, as_version=4))


warm_validators()
# The registry of kernel provisioners (a singleton): built from the installed distributions'
# entry points, ~0.015 CPU-s, in every executor when only the executor built it.
KernelProvisionerFactory.instance()

REQUEST_LIMIT = 1 << 20
SHUTDOWN_GRACE_S = 5


def log(message: str) -> None:
    print(f"nblc_forkserver: {message}", file=sys.stderr, flush=True)


def send(conn: socket.socket, event: str, **fields: Any) -> None:
    # OSError: the activity is gone; its child is killed when the connection is seen closed
    with contextlib.suppress(OSError):
        conn.sendall((json.dumps({"event": event, **fields}) + "\n").encode())


def read_request(conn: socket.socket) -> dict[str, Any]:
    req = read_json_line(conn, REQUEST_LIMIT)
    if not isinstance(req, dict):
        raise ValueError("a request is a JSON object")
    if isinstance(req.get("kernel_server"), dict):
        return req
    if not isinstance(req.get("argv"), list) or not isinstance(req.get("stderr"), str):
        raise ValueError("request needs argv (list) and stderr (path)")
    return req


class Server:
    def __init__(self, preload: dict[str, list[str]], learned: str = "") -> None:
        self.kernel_servers = KernelServers(preload, log, learned)
        self.dir = tempfile.mkdtemp(prefix="nblc-fs-")
        self.path = os.path.join(self.dir, "s")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(64)
        self.wakeup_r, self.wakeup_w = socket.socketpair()
        self.wakeup_r.setblocking(False)
        self.wakeup_w.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.children: dict[int, socket.socket] = {}  # pid -> connection
        self.terminated = False

    def serve(self) -> int:
        signal.set_wakeup_fd(self.wakeup_w.fileno())
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the selector
        signal.signal(signal.SIGTERM, self.on_term)
        self.sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
        self.sel.register(self.listener, selectors.EVENT_READ, "listener")
        self.sel.register(self.wakeup_r, selectors.EVENT_READ, "wakeup")
        print(json.dumps({"socket": self.path}), flush=True)
        while True:
            for key, _ in self.sel.select():
                if key.data == "stdin":
                    if not os.read(sys.stdin.fileno(), 4096):
                        return self.shutdown()
                elif key.data == "listener":
                    self.accept()
                elif key.data == "wakeup":
                    try:
                        while self.wakeup_r.recv(4096):
                            pass
                    except BlockingIOError:
                        pass
                else:
                    self.peer_readable(key.data, cast(socket.socket, key.fileobj))
            self.reap()
            if self.terminated:
                return self.shutdown()

    def on_term(self, *_: object) -> None:
        self.terminated = True

    def accept(self) -> None:
        conn, _ = self.listener.accept()
        try:
            req = read_request(conn)
            if "kernel_server" in req:
                return self.kernel_server(conn, req["kernel_server"])
            err = os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except (OSError, ValueError) as e:
            send(conn, "error", message=str(e))
            conn.close()
            return
        pid = os.fork()
        if pid == 0:
            self.become_executor(conn, req, err)  # never returns
        os.close(err)
        self.children[pid] = conn
        self.sel.register(conn, selectors.EVENT_READ, pid)

    def kernel_server(self, conn: socket.socket, want: dict[str, Any]) -> None:
        """An executor asks for the kernel server of its kernelspec (nblc_kernel_remote)."""
        try:
            path = self.kernel_servers.socket_for(want.get("kernelspec"), want.get("python"))
            send(conn, "kernel_server", socket=path)
        except (OSError, ValueError) as e:
            log(str(e))
            send(conn, "error", message=str(e))
        conn.close()

    def become_executor(self, conn: socket.socket, req: dict[str, Any], err: int) -> NoReturn:
        run_child(lambda: self._execute(conn, req, err))

    def _execute(self, conn: socket.socket, req: dict[str, Any], err: int) -> int:
        reset_child_state()
        die_with_parent(signal.SIGTERM)  # the executor's SIGTERM path kills its kernel's group
        os.setsid()
        self.sel.close()
        for s in (self.listener, self.wakeup_r, self.wakeup_w, *self.children.values()):
            s.close()
        os.dup2(err, 2)
        os.close(err)
        os.dup2(conn.fileno(), 1)
        stdin_from_devnull()
        conn.close()
        self.kernel_servers.close_in_child()
        nblc_kernel_remote.SERVERS = self.path
        sys.argv = [nblc_execute.__file__, *req["argv"]]
        print(json.dumps({"event": "spawned", "pid": os.getpid()}), flush=True)
        return nblc_execute.main([*req["argv"], "--fork-kernel"])

    def peer_readable(self, pid: int, conn: socket.socket) -> None:
        """EOF: the activity closed its end before the child ended and is not waiting any more."""
        try:
            if conn.recv(4096):
                return  # the activity sends nothing after the request; stray bytes are dropped
        except OSError:
            pass
        self.sel.unregister(conn)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            code = os.waitstatus_to_exitcode(status)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # anything the notebook started and left in its group
            if conn is not None:
                send(conn, "exit", code=128 - code if code < 0 else code)
                with contextlib.suppress(KeyError, ValueError):
                    self.sel.unregister(conn)
                conn.close()

    def shutdown(self) -> int:
        """SIGTERM first, so each executor kills its kernel's process group; SIGKILL after 5 s."""
        self.signal_all(signal.SIGTERM)
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        while self.children and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.05)
        self.signal_all(signal.SIGKILL)
        for pid in list(self.children):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.kernel_servers.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)
        return 0

    def signal_all(self, signum: int) -> None:
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signum)


def main() -> int:
    p = argparse.ArgumentParser(description="nblc's notebook fork server")
    p.add_argument("--preload", default="", help="NBLC_KERNEL_PRELOAD: KERNELSPEC=mod1,mod2;OTHER=mod3")
    p.add_argument("--learned", default="", help="folder where kernel servers keep their learned preloads")
    args = p.parse_args()
    die_with_parent(signal.SIGTERM)
    return Server(parse_setting(args.preload), args.learned).serve()


if __name__ == "__main__":
    sys.exit(main())
