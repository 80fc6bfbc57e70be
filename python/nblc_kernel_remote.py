"""The executor's side of the kernel fork servers (nblc_kernel_server): a warm kernel for any
IPython kernelspec, whichever interpreter its argv names.

The notebook fork server (nblc_forkserver) runs one kernel server per kernelspec and
interpreter, started on first use; an executor it forked asks it for that server's socket
(`SERVERS` is the fork server's own socket), then asks the kernel server for a kernel: the
server forks a child at once and answers with its pid; the executor puts the pid in the
notebook's cgroups and sends the launch request (argv, environment, folder, sandbox policy) with
the kernel's stdout and stderr as file descriptors; the child becomes the kernel exactly as the
executor's own template does (nblc_kernel_become). The server reports the kernel's exit on the
connection, and kills the kernel when the executor dies before it.

Anything that does not work (no fork server, a server that cannot start, Python < 3.9 in the
kernelspec) returns None: the kernel then starts as before, never worse.
"""

import contextlib
import json
import logging
import os
import shutil
import socket
import time
from typing import Any

SERVERS: str | None = None  # the notebook fork server's socket, set in each executor it forks
CONNECT_TIMEOUT_S = 120.0  # a new kernel server imports its preloads before it answers
log = logging.getLogger("nblc_execute")


def _ask(path: str, request: dict[str, Any], timeout: float) -> tuple[socket.socket, dict[str, Any]]:
    """Sends one JSON line on a new connection to `path`; returns the connection and the first line."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(timeout)
        conn.connect(path)
        conn.sendall((json.dumps(request) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                raise OSError("closed without an answer")
            data += chunk
        conn.settimeout(None)
        return conn, json.loads(data)
    except BaseException:
        conn.close()
        raise


def resolve(cmd0: str, env: dict[str, str]) -> str | None:
    """The kernel's interpreter as the kernel's own launch would find it (PATH of its environment)."""
    found = shutil.which(cmd0, path=env.get("PATH", os.defpath)) if os.sep not in cmd0 else cmd0
    return os.path.abspath(found) if found and os.access(found, os.X_OK) else None


class RemoteKernel:
    """A kernel forked by a kernel server: the subset of Popen that LocalProvisioner uses."""

    stdin = stdout = stderr = None

    def __init__(self, conn: socket.socket, pid: int) -> None:
        self.conn = conn
        self.pid = pid
        self.returncode: int | None = None
        self.usage: dict[str, float] = {}  # the kernel's own CPU seconds and peak bytes, from its server

    def launch(self, req: dict[str, Any], stdout: int, stderr: int) -> None:
        """The launch request, with the kernel's stdout and stderr passed as descriptors."""
        data = (json.dumps(req) + "\n").encode()
        socket.send_fds(self.conn, [data], [stdout, stderr])

    def _read_exit(self, timeout: float | None) -> None:
        """The server's {"exit": code} line, which it sends when it reaped the kernel."""
        self.conn.settimeout(timeout)
        data = b""
        try:
            while not data.endswith(b"\n"):
                chunk = self.conn.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (TimeoutError, BlockingIOError):
            return
        except OSError:
            pass
        with contextlib.suppress(ValueError):
            for line in data.decode().splitlines():
                event = json.loads(line)
                if "exit" in event:
                    self.returncode = int(event["exit"])
                    self.usage = {k: event[k] for k in ("cpu", "peak") if isinstance(event.get(k), (int, float))}
        if self.returncode is None:
            self.returncode = -9  # the server is gone: so is the kernel (it dies with its server)
        self.conn.close()

    def poll(self) -> int | None:
        """As Popen.poll: the kernel is not our child, so its exit comes from its server."""
        if self.returncode is None:
            self._read_exit(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """As Popen.wait, from the server's exit line."""
        if self.returncode is None:
            self._read_exit(timeout)
            if self.returncode is None:
                raise TimeoutError(f"kernel {self.pid} still running after {timeout}s")
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Signals go straight to the kernel (same user), as jupyter_client sends them."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        """As Popen.kill."""
        self.send_signal(9)

    def terminate(self) -> None:
        """As Popen.terminate."""
        self.send_signal(15)


def fork(kernelspec: str, python: str, imports: list[str]) -> RemoteKernel | None:
    """A child of the kernel server of (kernelspec, python), waiting for its launch request."""
    if SERVERS is None or not hasattr(socket, "send_fds"):
        return None
    started = time.monotonic()
    try:
        conn, answer = _ask(SERVERS, {"kernel_server": {"kernelspec": kernelspec, "python": python}}, 10)
        conn.close()
        if "socket" not in answer:
            log.info("no warm kernel for %s: %s", kernelspec, answer.get("message"))
            return None
        conn, answer = _ask(answer["socket"], {"imports": imports}, CONNECT_TIMEOUT_S)
        return RemoteKernel(conn, int(answer["pid"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.info("no warm kernel for %s after %.1fs: %s", kernelspec, time.monotonic() - started, e)
        return None
