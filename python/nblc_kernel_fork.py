"""Fresh kernels without a fresh interpreter: a kernel forked from a process that already
imported ipykernel, used by the executor when it runs inside the fork server.

A kernel normally costs a new Python and ~0.2 CPU-seconds of imports before it runs a cell.
Here the executor forks a *template* before it starts any event loop, thread or socket; when
jupyter_client launches a kernel whose command is exactly this interpreter's
`-m ipykernel_launcher -f {connection_file}`, the template becomes that kernel: new session
(its own process group, like jupyter_client's own launch), working directory, environment and
argv as requested, then `ipykernel_launcher` is run as `__main__`, as `python -m` would.
No user code has run in the template, so every kernel is still fresh. Any other kernel (another
kernelspec, another interpreter, unusual stdio) is launched by jupyter_client as usual.
"""

import atexit
import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any, NoReturn, cast

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

import nblc_kernel_boot
import nblc_sandbox
from nblc_kernel_sandbox import KernelSandbox
from nblc_output import unbound_kernel

PR_SET_PDEATHSIG = 1


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


class KernelTemplate:
    """A forked child waiting to become a kernel; at most one kernel per template."""

    def __init__(self) -> None:
        r, w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(w)
            self._serve(r)  # never returns
        os.close(r)
        self._w: int | None = w

    def launch(
        self,
        cmd: list[str],
        env: dict[str, str],
        cwd: str,
        stdout: int | None = None,
        stderr: int | None = None,
        policy: dict[str, Any] | None = None,
    ) -> int:
        """Turn the template into the kernel `cmd`, in the sandbox `policy` if any; returns its pid."""
        request = {"argv": cmd, "env": env, "cwd": cwd, "stdout": stdout, "stderr": stderr, "policy": policy}
        assert self._w is not None, "launch() once"
        with os.fdopen(self._w, "wb") as w:
            self._w = None
            w.write(json.dumps(request).encode())
        return self.pid

    def discard(self) -> None:
        """The template is not needed: closing the pipe makes it exit; reap it."""
        if self._w is not None:
            os.close(self._w)
            self._w = None
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)

    @property
    def available(self) -> bool:
        return self._w is not None

    @staticmethod
    def _serve(r: int) -> NoReturn:
        run_child(lambda: KernelTemplate._become_kernel(r))

    @staticmethod
    def _become_kernel(r: int) -> int:
        reset_child_state()
        die_with_parent()
        chunks = []
        while chunk := os.read(r, 65536):
            chunks.append(chunk)
        os.close(r)
        if not chunks:
            return 0  # discarded
        req = json.loads(b"".join(chunks))
        os.setsid()
        stdin_from_devnull()
        for fd, stream in ((1, "stdout"), (2, "stderr")):
            if req[stream] is not None and req[stream] != fd:
                os.dup2(req[stream], fd)
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
        for name in [m for m in sys.modules if m.startswith("nblc")]:
            del sys.modules[name]  # importable in a spawned kernel only from its own folder
        try:
            boot()
            code = 0
        except SystemExit as e:
            code = exit_code(e)
        atexit._run_exitfuncs()  # the kernel's own (history, cleanup), never the executor's
        return code


class ForkedProcess:
    """The subset of Popen that LocalProvisioner uses, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def _reaped(self, status: int) -> int:
        self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = 0
                return 0
            if pid:
                self._reaped(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if timeout is not None:
            deadline = time.monotonic() + timeout
            while self.poll() is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"kernel {self.pid} still running after {timeout}s")
                time.sleep(0.01)
            return self.returncode
        if self.returncode is None:
            try:
                self._reaped(os.waitpid(self.pid, 0)[1])
            except ChildProcessError:
                self.returncode = 0
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def forkable(cmd: list[str], kwargs: dict[str, Any]) -> bool:
    """Only this interpreter's `python -m ipykernel_launcher -f FILE [options]`, with stdio the
    template can reproduce (inherited, or our own stdout/stderr)."""
    return (
        len(cmd) >= 5
        and cmd[0] == sys.executable
        and cmd[1:4] == ["-m", "ipykernel_launcher", "-f"]
        and kwargs.get("stdin") is None
        and kwargs.get("stdout") in (None, 1, 2)
        and kwargs.get("stderr") in (None, 1, 2)
    )


class NblcProvisioner(LocalProvisioner):
    """Forks the kernel from the template when it can, else launches it as jupyter_client does;
    either way inside the sandbox when there is one."""

    template: KernelTemplate | None = None  # set by NblcKernelManager
    sandbox: KernelSandbox | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        template, sandbox = self.template, self.sandbox
        if sandbox is not None:
            kwargs["env"] = sandbox.env(kwargs.get("env") or os.environ, self.kernel_spec)
        if template is None or not template.available or not forkable(cmd, kwargs):
            if template is not None:
                template.discard()
            boot = nblc_kernel_boot.safe_command
            cmd = sandbox.launcher(cmd, self.kernel_spec) if sandbox is not None else boot(cmd)
            kwargs["preexec_fn"] = unbound_kernel  # the executor's memory bound is not the kernel's
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        policy = sandbox.policy(cmd, self.kernel_spec) if sandbox is not None else None
        pid = template.launch(cmd, env, cwd, kwargs.get("stdout"), kwargs.get("stderr"), policy)
        self.process = cast(subprocess.Popen[bytes], ForkedProcess(pid))  # Popen as LocalProvisioner uses it
        self.pid = pid
        self.pgid = pid  # the template calls setsid(): its own group, as jupyter_client's launch
        self.cwd = cwd
        return self.connection_info


class NblcKernelManager(AsyncKernelManager):
    """A kernel manager whose provisioner forks the given template when it can, and sandboxes."""

    template: KernelTemplate | None = None  # both set by the executor after create_kernel_manager()
    sandbox: KernelSandbox | None = None
    pinned = False  # the sandboxed kernel's sockets are pinned (nblc_kernel_sockets)

    def _connect_control_socket(self) -> None:
        """A sandboxed kernel's control socket connects only once its sockets are pinned: by
        name, a link the kernel put there would lead it to a socket of the host."""
        if self.sandbox is None or self.pinned:
            super()._connect_control_socket()

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
            provisioner = NblcProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
            provisioner.template = self.template
            provisioner.sandbox = self.sandbox
            self.provisioner = provisioner
        return await super()._async_pre_start_kernel(**kw)
