"""The notebook fork server's kernel servers (nblc_kernel_server): one per kernelspec and
interpreter, started when an executor first asks for it, kept while the fork server runs.

Each runs in the kernelspec's own Python with the fork server's environment (the kernels'
allow-list, see executor-process.ts) in a private working folder, and preloads
NBLC_KERNEL_PRELOAD's modules for its kernelspec (nblc_preload.parse_setting).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable

import nblc_seccomp
from nblc_kernel_reset import started_env
from nblc_preload import for_kernelspec, learned_file

KERNEL_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nblc_kernel_server.py")
START_TIMEOUT_S = 30  # until it prints its socket: before its imports


class KernelServers:
    """Started kernel servers by (kernelspec, python); a dead one is started again when asked for."""

    def __init__(self, preload: dict[str, list[str]], log: Callable[[str], None], learned: str = "") -> None:
        self.preload = preload
        self.learned = learned
        self.log = log
        self.servers: dict[tuple[str, str], tuple[subprocess.Popen[bytes], str]] = {}
        self.dir = tempfile.mkdtemp(prefix="nblc-kss-")
        try:
            self.trial_filter = nblc_seccomp.trial_filter()
        except (OSError, ValueError, RuntimeError) as e:  # no libseccomp: trials without it
            log(f"preload trials run without their seccomp filter: {e}")
            self.trial_filter = ""

    def socket_for(self, kernelspec: object, python: object) -> str:
        """The socket of that kernelspec's server; ValueError/OSError say why there is none."""
        if not isinstance(kernelspec, str) or not isinstance(python, str) or not os.path.isabs(python):
            raise ValueError("kernel_server needs a kernelspec name and the absolute path of its Python")
        if not os.access(python, os.X_OK):
            raise ValueError(f"{python} is not an executable")
        key = (kernelspec, python)
        running = self.servers.get(key)
        if running is not None and running[0].poll() is None:
            return running[1]
        if running is not None:
            self.log(f"the kernel server of {kernelspec} ({python}) ended ({running[0].returncode}); starting another")
        proc, path = self.start(kernelspec, python)
        self.servers[key] = (proc, path)
        return path

    def start(self, kernelspec: str, python: str) -> tuple[subprocess.Popen[bytes], str]:
        """A new kernel server, in its own session; its socket, as soon as it printed it."""
        mods = for_kernelspec(self.preload, kernelspec)
        argv = [python, KERNEL_SERVER, "--preload", ",".join(mods), "--trial-filter", self.trial_filter]
        if self.learned:
            argv += ["--learned", learned_file(self.learned, kernelspec, python)]
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=self.dir,
            env=started_env(),  # not what this server's imports added: the kernel server's own add them
            start_new_session=True,  # the worker's signals to the fork server's group are not for it
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        line = b""
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                break
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
        try:
            path = json.loads(line)["socket"]
            if not isinstance(path, str):
                raise ValueError("no socket")
        except (ValueError, KeyError, TypeError) as e:
            proc.kill()
            proc.wait()
            raise ValueError(f"the kernel server of {kernelspec} ({python}) did not start: {e}") from e
        self.log(f"kernel server for {kernelspec} ({python}) started, preloading {mods}")
        return proc, path

    def close_in_child(self) -> None:
        """In a forked executor: these pipes keep the servers alive and are not its to hold."""
        for proc, _ in self.servers.values():
            for f in (proc.stdin, proc.stdout):
                if f is not None:
                    with contextlib.suppress(OSError):
                        os.close(f.fileno())

    def shutdown(self) -> None:
        """Stdin closing ends each server, which kills its kernels; SIGKILL after 5 s."""
        for proc, _ in self.servers.values():
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
        deadline = time.monotonic() + 5
        for proc, _ in self.servers.values():
            try:
                proc.wait(max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
