"""Kernel fork server: warm IPython kernels for one kernelspec, in that kernelspec's own Python.

Started by the notebook fork server (nblc_forkserver) on first use of a kernelspec, as

    KERNEL_PYTHON nblc_kernel_server.py [--preload mod1,mod2]

with the kernels' allow-listed environment, in a private working folder. It binds a Unix socket
in a private folder and prints {"socket": PATH} at once, then imports what every kernel imports
(ipykernel) and the --preload modules (NBLC_KERNEL_PRELOAD), each tried first in a throwaway
process (nblc_preload), and serves. Per connection, one JSON line {"imports": [...]} (the
notebook's imports, preloaded here afterwards for the notebooks that follow): it forks a child
and answers {"pid": N}; the child reads the launch request {argv, env, cwd, policy} and the
kernel's stdout and stderr (file descriptors) from the connection and becomes the kernel
(nblc_kernel_become: the same sandbox, the state of a fresh interpreter). When the child ends,
{"exit": code} follows and the connection closes.

No user code runs here: the notebook only names modules, which are imported from this
interpreter's own path. The kernel is contained exactly as a kernel the executor forks or
spawns: it enters the sandbox its executor planned. The requesting executor's death (a pidfd)
kills its kernel; this server's death kills all its kernels (PDEATHSIG); stdin closing or
SIGTERM ends the server.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import sys
import tempfile

REQUEST_LIMIT = 1 << 20


def log(message: str) -> None:
    """Lines on stderr, which the notebook fork server passes on to the worker's log."""
    print(f"nblc_kernel_server[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


class Server:
    """One listener; the preloader's trials and each executor's pidfd on the same selector."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="nblc-ks-")
        self.path = os.path.join(self.dir, "s")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(64)
        self.sel = selectors.DefaultSelector()
        self.children: dict[int, tuple[socket.socket, int | None]] = {}  # pid -> (conn, pidfd)

    def warm(self, preload: list[str], trial_filter: str, learned: str = "") -> None:
        """What every kernel imports, then the operator's preloads and those learned before a restart."""
        import ipykernel.ipkernel  # noqa: F401
        import ipykernel.kernelapp  # noqa: F401

        import nblc_cgroup  # noqa: F401  (imported lazily by the sandbox: here while python/ is on the path)
        import nblc_kernel_become  # (and the sandbox: imported once, not per kernel)
        import nblc_kernel_reset
        import nblc_policy  # noqa: F401  (as nblc_cgroup)
        from nblc_preload_trial import Preloader

        # nblc's folder off the path: a preload's name is found in the interpreter's own path only
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]

        for name in nblc_kernel_become.KERNEL_START_MODULES:
            with contextlib.suppress(Exception):  # an optimisation only (another ipykernel version)
                importlib.import_module(name)
        nblc_kernel_reset.snapshot()  # a fresh kernel's state after these: forked kernels get it back

        self.preloader = Preloader(self.sel, log, trial_filter, learned)
        self.preloader.load_now(preload)
        self.preloader.load_now(self.preloader.learned_before())

    def serve(self) -> int:
        """Until stdin closes or SIGTERM: requests, trials, executors that died, kernels that ended."""
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        wakeup_r, wakeup_w = socket.socketpair()
        for s in (wakeup_r, wakeup_w):
            s.setblocking(False)
        self.wakeup = (wakeup_r, wakeup_w)
        signal.set_wakeup_fd(wakeup_w.fileno())
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the selector: a kernel ended
        self.sel.register(wakeup_r, selectors.EVENT_READ, "wakeup")
        self.sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
        self.sel.register(self.listener, selectors.EVENT_READ, "listener")
        try:
            while True:
                for key, _ in self.sel.select(timeout=1.0):
                    if key.data == "stdin":
                        if not os.read(sys.stdin.fileno(), 4096):
                            return 0
                    elif key.data == "listener":
                        self.accept()
                    elif key.data == "wakeup":
                        with contextlib.suppress(BlockingIOError):
                            while wakeup_r.recv(4096):
                                pass
                    elif key.data is self.preloader:
                        self.preloader.readable()
                    else:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(key.data, signal.SIGKILL)  # its executor is gone
                        self.forget_pidfd(key.data)
                self.preloader.check_deadline()
                self.reap()
        finally:
            self.shutdown()

    def accept(self) -> None:
        """A kernel request: fork the child at once, answer its pid, then try the notebook's imports."""
        conn, _ = self.listener.accept()
        try:
            imports = self.read_request(conn)
            peer = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
            pidfd = os.pidfd_open(peer) if hasattr(os, "pidfd_open") else None
        except (OSError, ValueError) as e:
            with contextlib.suppress(OSError):
                conn.sendall((json.dumps({"error": str(e)}) + "\n").encode())
            conn.close()
            return
        pid = os.fork()
        if pid == 0:
            from nblc_kernel_become import run_child

            run_child(lambda: self.become(conn))  # never returns
        self.children[pid] = (conn, pidfd)
        if pidfd is not None:
            self.sel.register(pidfd, selectors.EVENT_READ, pid)
        with contextlib.suppress(OSError):
            conn.sendall((json.dumps({"pid": pid}) + "\n").encode())
        self.preloader.want(imports)

    @staticmethod
    def read_request(conn: socket.socket) -> list[str]:
        """One JSON line from an executor: its notebook's imports (a stranger's names, bounded)."""
        from nblc_kernel_become import read_json_line

        req = read_json_line(conn, REQUEST_LIMIT)
        imports = req.get("imports", []) if isinstance(req, dict) else None
        if not isinstance(imports, list):
            raise ValueError("imports must be a list")
        return [n for n in imports if isinstance(n, str)]

    def become(self, conn: socket.socket) -> int:
        """The forked child: waits for its launch request, then becomes the kernel."""
        from nblc_kernel_become import become_kernel, die_with_parent, reset_child_state

        reset_child_state()
        die_with_parent()
        self.sel.close()
        self.listener.close()
        for s in self.wakeup:
            s.close()
        for other, pidfd in self.children.values():
            other.close()
            if pidfd is not None:
                os.close(pidfd)
        data, fds, _, _ = socket.recv_fds(conn, REQUEST_LIMIT, 2)
        while data and not data.endswith(b"\n") and len(data) < REQUEST_LIMIT:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        conn.close()
        if not data or len(fds) != 2:
            return 0  # the executor did not want this kernel after all
        req = json.loads(data)
        return become_kernel(req, fds[0], fds[1])

    def forget_pidfd(self, pid: int) -> None:
        """The executor of `pid` is no longer watched (it ended, or its kernel did)."""
        conn, pidfd = self.children.get(pid, (None, None))
        if pidfd is not None and conn is not None:
            self.sel.unregister(pidfd)
            os.close(pidfd)
            self.children[pid] = (conn, None)

    def reap(self) -> None:
        """Only the kernels (waitpid(-1) would take the preload trials' status from their Popen)."""
        for pid in list(self.children):
            try:
                # wait4: the kernel is our child, not its executor's, so its CPU and peak memory
                # go to the executor with its exit (what NBLC_SANDBOX=off reports; a cgroup
                # measures them otherwise)
                done, status, ru = os.wait4(pid, os.WNOHANG)
                usage = {"cpu": round(ru.ru_utime + ru.ru_stime, 3), "peak": ru.ru_maxrss * 1024}
            except ChildProcessError:
                done, status, usage = pid, 0, {}
            if done == 0:
                continue
            self.forget_pidfd(pid)
            conn, _ = self.children.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # anything the kernel started and left in its group
            with contextlib.suppress(OSError):
                conn.sendall((json.dumps({"exit": 128 - code if code < 0 else code, **usage}) + "\n").encode())
            conn.close()

    def shutdown(self) -> None:
        """The server ends: its kernels end with it, nothing is left in its folder."""
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        for pid in list(self.children):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        if hasattr(self, "preloader"):
            self.preloader.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def main() -> int:
    """Socket first (the fork server waits for it), imports after."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--preload", default="", help="modules to import first, comma-separated")
    p.add_argument("--trial-filter", default="", help="seccomp program of the trial imports (base64)")
    p.add_argument("--learned", default="", help="file that keeps the preloads learned from notebooks")
    args = p.parse_args()
    from nblc_kernel_become import die_with_parent

    die_with_parent(signal.SIGTERM)
    server = Server()
    print(json.dumps({"socket": server.path}), flush=True)
    server.warm([m for m in args.preload.split(",") if m], args.trial_filter, args.learned)
    return server.serve()


if __name__ == "__main__":
    sys.exit(main())
