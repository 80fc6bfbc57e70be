#!/usr/bin/env python3
"""Execute one notebook in a fresh kernel and report the outcome as JSON.

Run by the nblc test-run activity as a child process:

    nblc_execute.py --notebook PATH --output PATH --result PATH
        [--default-kernel python3] [--cell-timeout S] [--timeout S]
        [--prerun FILE] [--allow-errors] [--parameters JSON] [--scratch-root DIR] [--root DIR] [--sandbox on|off]
        [--kernel-user USER] [--memory SIZE] [--kernel-env NAMES] [--mask PATH]...
        [--output-limit SIZE]

stdout carries only JSON progress lines ({"event": "start" | "cell" | "done"});
logs go to stderr. Exit code 0 whenever --result was written (whatever the
notebook's status), 143/130 on SIGTERM/SIGINT (no result written), 2 for bad
arguments or an unreadable --notebook/--prerun file, 1 for an executor crash.
"""

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any, cast

import nbformat
from jupyter_client.kernelspec import NoSuchKernel
from nbclient import NotebookClient
from nbclient.util import ensure_async
from nbformat import NotebookNode

from nblc_cells import emit, run_cells
from nblc_containment import annotate
from nblc_files import make_scratch, read_notebook, remove_tree, write_atomic
from nblc_kernel_fork import KernelTemplate, NblcKernelManager
from nblc_kernel_sandbox import KernelSandbox, add_sandbox_arguments, make_sandbox, parse_size
from nblc_kernel_sockets import pin_sockets
from nblc_output import BoundedClient, OutputBudget, bound_executor
from nblc_preload import notebook_imports
from nblc_ready import fast_reconnect, wait_for_ready
from nblc_results import Outcome, Result, unsandboxed_usage

log = logging.getLogger("nblc_execute")


class Executor:
    """Runs one notebook: kernel, cells, cancellation. What it finds goes into `self.outcome`."""

    def __init__(
        self,
        args: argparse.Namespace,
        nb_bytes: bytes | None,  # None: not read (a link out of the snapshot)
        prerun_source: str | None,
        started: float,
        template: KernelTemplate | None = None,
        sandbox: KernelSandbox | str | None = None,
    ) -> None:
        self.args = args
        self.template = template  # a KernelTemplate when running in the fork server
        # the kernel's sandbox; a string: why it could not be set up; None: NBLC_SANDBOX=off
        self.sandbox = sandbox
        self.nb_bytes = nb_bytes
        self.prerun_source = prerun_source
        self.client: NotebookClient | None = None  # once created (the signal handler kills its kernel)
        self.task: asyncio.Task[Any] | None = None
        self.signal: int | None = None  # first SIGTERM/SIGINT received
        self.cell_timeout: float | None = None  # timeout of the cell being executed (read by nbclient)
        self.outcome = Outcome(started)  # started: time.monotonic() when this run began
        self.outcome.sandboxed = sandbox is not None
        self.kernel_usage: dict[str, float] | None = None  # measured by a kernel server (stop_kernel)

    def on_signal(self, signum: int) -> None:
        log.warning("received %s: killing the kernel", signal.Signals(signum).name)
        first = self.signal is None
        self.signal = self.signal or signum
        self.kill_kernel_group()  # at once, not after nbclient notices anything
        if first and self.task is not None:
            self.task.cancel()  # cancel once: a second cancel would interrupt our own cleanup

    def kill_kernel_group(self) -> None:
        """SIGKILL the kernel's process group (the kernel and whatever it spawned).

        jupyter_client starts kernels with start_new_session=True, so they are not in our
        process group and a signal to our group never reaches them.
        """
        km = self.client.km if self.client is not None else None
        prov = getattr(km, "provisioner", None)
        pgid, pid = getattr(prov, "pgid", None), getattr(prov, "pid", None)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if pgid and pgid != os.getpgrp():  # never our own group
                os.killpg(pgid, signal.SIGKILL)
            elif pid:
                os.kill(pid, signal.SIGKILL)

    async def stop_kernel(self) -> None:
        client = self.client
        if client is None or client.km is None:
            return
        self.kill_kernel_group()
        km = client.km
        # Reap synchronously: SIGKILL makes this quick, and unlike an await it cannot be
        # interrupted by a cancellation arriving now.
        proc = getattr(km.provisioner, "process", None)
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except Exception as e:
                log.warning("kernel process did not exit: %s", e)
            # A kernel forked by a kernel server is not our child: getrusage misses it
            self.kernel_usage = getattr(proc, "usage", None)
        try:
            if km.has_kernel:
                await ensure_async(km.shutdown_kernel(now=True))  # kills, reaps the process, removes connection file
            else:
                await ensure_async(km.cleanup_resources())
        except (Exception, asyncio.CancelledError) as e:  # it is dead either way; keep the result
            log.warning("kernel shutdown: %s", e)
        if client.kc is not None:
            client.kc.stop_channels()
            client.kc = None

    async def main(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.on_signal, signum)
        self.task = asyncio.current_task()
        try:
            result = await self.run()
        except asyncio.CancelledError:
            if self.signal is None:
                raise
        if self.signal is not None:
            emit("done", status="cancelled")
            return 128 + self.signal
        contained = annotate(dict(result), self.sandbox)  # Result and how it was contained
        write_atomic(self.args.result, json.dumps(contained, indent=2) + "\n")
        emit("done", status=result["status"])
        return 0

    async def run(self) -> Result:
        try:
            if self.nb_bytes is None:
                raise ValueError("it is a symbolic link leading out of the snapshot")
            nb = nbformat.reads(self.nb_bytes.decode("utf-8"), as_version=4)
            nbformat.validate(nb)  # reads() only logs validation errors
        except Exception as e:
            # invalid notebook: do not start a kernel, write no artifact
            message = f"invalid notebook: {type(e).__name__}: {e}".splitlines()[0]
            return self.outcome.result("invalid_notebook", message)

        outcome = self.outcome
        name = (nb.metadata.get("kernelspec") or {}).get("name")
        asked = name if isinstance(name, str) and name else self.args.default_kernel
        outcome.kernel = kernel_for(asked, self.args.kernel, self.args.kernel_map)
        outcome.cells_total = sum(1 for c in nb.cells if c.cell_type == "code")
        emit("start", kernel=outcome.kernel, cells=len(nb.cells), codeCells=outcome.cells_total)

        sandbox = self.sandbox
        if isinstance(sandbox, str):
            outcome.problem("kernel_died", f"the sandbox could not be set up: {sandbox}")
            return outcome.final()
        if sandbox is None:
            scratch = make_scratch(os.path.dirname(os.path.abspath(self.args.notebook)), self.args.scratch_root)
        else:
            scratch = sandbox.prepare()
        try:
            await self.execute(nb, scratch)
        finally:
            await self.stop_kernel()
            if sandbox is None:
                outcome.measured(unsandboxed_usage(self.kernel_usage))
                remove_tree(scratch)
            else:
                outcome.measured(sandbox.finish(), sandbox.limits)
                sandbox.cleanup()
        if self.signal is not None:
            raise asyncio.CancelledError()

        write_atomic(self.args.output, nbformat.writes(nb))
        return outcome.final()

    async def execute(self, nb: NotebookNode, scratch: str) -> None:
        outcome = self.outcome
        self.client = client = BoundedClient(
            nb,
            kernel_name=outcome.kernel,
            # nbclient must not raise on an error output: the loop below reads the errors from the
            # outputs, and stops at the first unexpected one itself (raises-exception goes on).
            allow_errors=True,
            timeout_func=lambda cell: self.cell_timeout,
            shutdown_kernel="immediate",
            kernel_manager_class=NblcKernelManager,
        )
        client.budget = outcome.budget = OutputBudget(self.args.output_limit)
        try:
            client.km = km = cast(NblcKernelManager, client.create_kernel_manager())
            km.template = self.template
            km.imports = notebook_imports(nb)
            if isinstance(self.sandbox, KernelSandbox):
                km.sandbox = self.sandbox
                self.sandbox.configure(km)
            # stdout=stderr: anything the kernel process prints must not corrupt our JSON stdout
            await client.async_start_new_kernel(cwd=scratch, stdout=sys.stderr.fileno())
            # nbclient's async_start_new_kernel_client, without jupyter_client's fixed waits (nblc_ready)
            client.kc = kc = km.client()
            if isinstance(self.sandbox, KernelSandbox):  # its sockets, never their names again
                await pin_sockets([km, kc], km.is_alive, client.startup_timeout)
                km.pinned = True
                km._connect_control_socket()
            fast_reconnect(kc)
            kc.start_channels()
            reply = await wait_for_ready(kc, client.startup_timeout)
            kc.allow_stdin = False
            if "language_info" in reply["content"]:
                nb.metadata["language_info"] = reply["content"]["language_info"]
        except NoSuchKernel as e:
            outcome.problem("no_such_kernel", f"no such kernel: {e.name}")
            return
        except Exception as e:
            if self.signal is None:
                failure = self.sandbox.failure() if isinstance(self.sandbox, KernelSandbox) else None
                message = f"kernel {outcome.kernel} failed to start: {failure or f'{type(e).__name__}: {e}'}"
                outcome.problem("kernel_died", message.splitlines()[0])
            return

        await run_cells(self, client, nb)


def kernel_for(asked: str, kernel: str | None, kernel_map: object) -> str:
    """The kernelspec a notebook runs with (a candidate run's choice, src/domain/runs/kernels.ts
    `kernelFor`, the same rule): the map's entry for what it asks, else the run's kernel, else its own."""
    mapped = kernel_map.get(asked) if isinstance(kernel_map, dict) else None
    if isinstance(mapped, str) and mapped:
        return mapped
    return kernel or asked


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Execute a notebook in a scratch copy of its folder.")
    p.add_argument("--notebook", required=True, help="notebook to run (may be in a read-only tree)")
    p.add_argument("--output", required=True, help="where to write the executed notebook")
    p.add_argument("--result", required=True, help="where to write the result JSON")
    p.add_argument("--default-kernel", default="python3", help="kernel when the notebook has no kernelspec")
    p.add_argument("--cell-timeout", type=float, default=600, help="seconds per cell (<= 0: no limit)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds for all cells (<= 0: no limit)")
    p.add_argument("--prerun", help="file whose code runs first, hidden from the artifact")
    p.add_argument("--scratch-root", default=tempfile.gettempdir(), help="parent of the scratch directory")
    p.add_argument("--allow-errors", action="store_true", help="errors do not fail the notebook")
    p.add_argument("--parameters", help="JSON object NAME -> VALUE for the cell tagged parameters (papermill's)")
    p.add_argument("--kernel", help="run with this kernelspec instead of the one the notebook asks for")
    p.add_argument("--kernel-map", type=json.loads, default={}, help="JSON object FROM -> TO kernelspec names")
    p.add_argument("--fork-kernel", action="store_true", help="fork the kernel from this process (fork server)")
    p.add_argument(
        "--output-limit", type=parse_size, default="64M", help="outputs of the notebook together (one: a quarter)"
    )
    add_sandbox_arguments(p)
    args = p.parse_args(argv)
    started = time.monotonic()  # per run: the fork server imported this module long before
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="nblc_execute %(levelname)s %(message)s")
    # An unreadable notebook file is an infrastructure problem (the cache should have it),
    # unlike invalid content, so it is an argument error rather than invalid_notebook.
    try:
        nb_bytes = read_notebook(args.notebook, args.root)
        prerun = None
        if args.prerun:
            with open(args.prerun, encoding="utf-8") as f:
                prerun = f.read()
    except (OSError, UnicodeDecodeError) as e:
        p.error(str(e))
    sandbox = make_sandbox(args)
    # Forked before any event loop, thread or socket exists (see nblc_kernel_fork).
    template = KernelTemplate() if args.fork_kernel else None
    bound_executor(args.output_limit)  # after the fork: the template's kernel is not bound by it
    try:
        if template is not None and isinstance(sandbox, KernelSandbox):
            sandbox.limits.add(template.pid)  # at once: all the kernel's processes descend from it
        return asyncio.run(Executor(args, nb_bytes, prerun, started, template, sandbox).main())
    finally:
        if template is not None:
            template.discard()
        if isinstance(sandbox, KernelSandbox):
            sandbox.close()  # when run() did not get to it (a crash); nothing left to do when it did


if __name__ == "__main__":
    sys.exit(main())
