#!/usr/bin/env python3
"""Execute one notebook in a fresh kernel and report the outcome as JSON.

Run by the nblc test-run activity as a child process:

    nblc_execute.py --notebook PATH --output PATH --result PATH
        [--default-kernel python3] [--cell-timeout S] [--timeout S]
        [--prerun FILE] [--scratch-root DIR]

stdout carries only JSON progress lines ({"event": "start" | "cell" | "done"});
logs go to stderr. Exit code 0 whenever --result was written (whatever the
notebook's status), 143/130 on SIGTERM/SIGINT (no result written), 2 for bad
arguments or an unreadable --notebook/--prerun file, 1 for an executor crash.
"""

import argparse
import asyncio
import json
import logging
import math
import os
import re
import signal
import sys
import tempfile
import time

import nbformat
from jupyter_client.kernelspec import NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async

from nblc_files import make_scratch, remove_tree, write_atomic
from nblc_kernel_fork import ForkingKernelManager, KernelTemplate

log = logging.getLogger("nblc_execute")

# Cell index used in results/progress for the injected --prerun cell (user cells keep
# their own 0-based index in the notebook, markdown cells included).
PRERUN_CELL = -1

# CSI sequences (colours, cursor moves), OSC sequences (hyperlinks), lone two-byte escapes.
ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def emit(event, **fields):
    """Progress line for the parent (used as the activity heartbeat)."""
    try:
        print(json.dumps({"event": event, **fields}), flush=True)
    except (OSError, ValueError):  # parent went away / stdout closed: keep going, the result file matters
        pass


class Executor:
    def __init__(self, args, nb_bytes, prerun_source, started, template=None):
        self.args = args
        self.started = started  # time.monotonic() when this run began (durationMs counts from it)
        self.template = template  # a KernelTemplate when running in the fork server
        self.nb_bytes = nb_bytes
        self.prerun_source = prerun_source
        self.client = None  # NotebookClient, once created (the signal handler kills its kernel)
        self.task = None
        self.signal = None  # first SIGTERM/SIGINT received
        self.cell_timeout = None  # effective timeout of the cell being executed (read by nbclient)
        self.timeout_message = None  # what to report if that cell times out
        # outcome
        self.kernel = None
        self.cells_total = 0
        self.cells_run = 0
        self.errors = []
        self.first_problem = None  # (status, message, error-or-None): the first unexpected event decides
        self.stopped = None  # message when execution stopped early (timeout, dead kernel)
        self.timed_out_cell = None

    def on_signal(self, signum):
        log.warning("received %s: killing the kernel", signal.Signals(signum).name)
        first = self.signal is None
        self.signal = self.signal or signum
        self.kill_kernel_group()  # at once, not after nbclient notices anything
        if first and self.task is not None:
            self.task.cancel()  # cancel once: a second cancel would interrupt our own cleanup

    def kill_kernel_group(self):
        """SIGKILL the kernel's process group (the kernel and whatever it spawned).

        jupyter_client starts kernels with start_new_session=True, so they are not in our
        process group and a signal to our group never reaches them.
        """
        km = self.client.km if self.client is not None else None
        prov = getattr(km, "provisioner", None)
        pgid, pid = getattr(prov, "pgid", None), getattr(prov, "pid", None)
        try:
            if pgid and pgid != os.getpgrp():  # never our own group
                os.killpg(pgid, signal.SIGKILL)
            elif pid:
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    async def stop_kernel(self):
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
        try:
            if km.has_kernel:
                await km.shutdown_kernel(now=True)  # kills, reaps the process, removes connection file
            else:
                await ensure_async(km.cleanup_resources())
        except (Exception, asyncio.CancelledError) as e:  # it is dead either way; keep the result
            log.warning("kernel shutdown: %s", e)
        if client.kc is not None:
            client.kc.stop_channels()
            client.kc = None

    async def main(self):
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
        write_atomic(self.args.result, json.dumps(result, indent=2) + "\n")
        emit("done", status=result["status"])
        return 0

    async def run(self):
        try:
            nb = nbformat.reads(self.nb_bytes.decode("utf-8"), as_version=4)
            nbformat.validate(nb)  # reads() only logs validation errors
        except Exception as e:
            # invalid notebook: do not start a kernel, write no artifact
            return self.result("invalid_notebook", f"invalid notebook: {type(e).__name__}: {e}".splitlines()[0])

        name = (nb.metadata.get("kernelspec") or {}).get("name")
        self.kernel = name if isinstance(name, str) and name else self.args.default_kernel
        self.cells_total = sum(1 for c in nb.cells if c.cell_type == "code")
        emit("start", kernel=self.kernel, cells=len(nb.cells), codeCells=self.cells_total)

        scratch = make_scratch(os.path.dirname(os.path.abspath(self.args.notebook)), self.args.scratch_root)
        try:
            await self.execute(nb, scratch)
        finally:
            await self.stop_kernel()
            remove_tree(scratch)
        if self.signal is not None:
            raise asyncio.CancelledError()

        write_atomic(self.args.output, nbformat.writes(nb))
        if self.first_problem is None:
            return self.result("passed", None)
        status, message, _ = self.first_problem
        if self.stopped and self.stopped != message:
            message = f"{message}; then {self.stopped}"
        return self.result(status, message)

    async def execute(self, nb, scratch):
        self.client = client = NotebookClient(
            nb,
            kernel_name=self.kernel,
            allow_errors=True,  # run every cell, errors are collected from the outputs
            timeout_func=lambda cell: self.cell_timeout,
            shutdown_kernel="immediate",
            **({"kernel_manager_class": ForkingKernelManager} if self.template else {}),
        )
        try:
            client.km = client.create_kernel_manager()
            client.km.template = self.template
            # stdout=stderr: anything the kernel process prints must not corrupt our JSON stdout
            await client.async_start_new_kernel(cwd=scratch, stdout=sys.stderr.fileno())
            await client.async_start_new_kernel_client()  # sets kc.allow_stdin = False
            reply = await client.async_wait_for_reply(await ensure_async(client.kc.kernel_info()))
            if reply and "language_info" in reply["content"]:
                nb.metadata["language_info"] = reply["content"]["language_info"]
        except NoSuchKernel as e:
            self.problem("no_such_kernel", f"no such kernel: {e.name}")
            return
        except Exception as e:
            if self.signal is None:
                self.problem("kernel_died", f"kernel {self.kernel} failed to start: {type(e).__name__}: {e}".splitlines()[0])
            return

        # The prerun cell is executed as cell 0 of the notebook object (nbclient writes the
        # cell back at its index) and removed again before the artifact is written.
        offset = 0
        if self.prerun_source is not None:
            nb.cells.insert(0, nbformat.v4.new_code_cell(self.prerun_source))
            offset = 1
        # the budget covers cell execution (prerun included), not the kernel start
        deadline = None if self.args.timeout <= 0 else time.monotonic() + self.args.timeout
        execution_count = 0
        try:
            for pos, cell in enumerate(nb.cells):
                index = pos - offset
                tags = cell.metadata.get("tags", [])
                if cell.cell_type != "code" or not cell.source.strip() or client.skip_cells_with_tag in tags:
                    continue  # nbclient would not run it either
                name = "prerun cell" if index == PRERUN_CELL else f"cell {index}"
                if not self.set_cell_timeout(deadline, name, index):
                    break
                emit("cell", index=index, of=len(nb.cells) - offset)
                before = client.code_cells_executed
                try:
                    await client.async_execute_cell(
                        cell,
                        pos,
                        execution_count=None if index == PRERUN_CELL else execution_count + 1,
                        # keeps the prerun out of In[]/history and the execution counter
                        store_history=index != PRERUN_CELL,
                    )
                    stop = None
                except CellTimeoutError:
                    stop = ("timed_out", self.timeout_message)
                    self.timed_out_cell = index
                except DeadKernelError:
                    stop = ("kernel_died", f"kernel died while executing {name}")
                finally:
                    if client.code_cells_executed > before and index != PRERUN_CELL:
                        self.cells_run += 1
                        execution_count += 1
                self.collect_errors(cell, index, expected=index != PRERUN_CELL and "raises-exception" in tags)
                if stop and self.signal is None:
                    self.problem(*stop)
                    self.stopped = stop[1]
                if stop or (index == PRERUN_CELL and self.first_problem):
                    break  # a failed prerun (login) makes running the notebook pointless
        finally:
            if offset:
                nb.cells.pop(0)

    def set_cell_timeout(self, deadline, name, index):
        """Effective timeout = min(per-cell timeout, what is left of the notebook budget)."""
        per_cell = self.args.cell_timeout if self.args.cell_timeout > 0 else math.inf
        left = math.inf if deadline is None else deadline - time.monotonic()
        if left <= 0:
            self.timed_out_cell = index
            self.stopped = f"notebook timeout of {self.args.timeout:g}s reached before {name}"
            self.problem("timed_out", self.stopped)
            return False
        self.cell_timeout = None if min(per_cell, left) == math.inf else min(per_cell, left)
        limit = f"cell timeout of {per_cell:g}s" if per_cell <= left else f"notebook timeout of {self.args.timeout:g}s"
        self.timeout_message = f"{name} exceeded the {limit}"
        return True

    def collect_errors(self, cell, index, expected):
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            err = {
                "cell": index,
                "ename": out.get("ename", ""),
                "evalue": ANSI_RE.sub("", out.get("evalue", "")),
                "traceback": ANSI_RE.sub("", "\n".join(out.get("traceback", []))),
            }
            if index == PRERUN_CELL:
                # the traceback quotes the prerun's source, which may handle credentials
                err["traceback"] = f"{err['ename']}: {err['evalue']}"
            self.errors.append({**err, "expected": expected})
            if not expected:
                # ipykernel raises StdinNotImplementedError for input()/getpass() when the
                # client disallows stdin; in the prerun it is a plain failure (login broke).
                needs_input = err["ename"] == "StdinNotImplementedError" and index != PRERUN_CELL
                where = "prerun cell" if index == PRERUN_CELL else f"cell {index}"
                message = f"{where}: {err['ename']}: {err['evalue']}".splitlines()[0][:300]
                self.problem("needs_input" if needs_input else "failed", message, err)

    def problem(self, status, message, error=None):
        if self.first_problem is None:
            self.first_problem = (status, message, error)

    def result(self, status, message):
        return {
            "status": status,
            "durationMs": int((time.monotonic() - self.started) * 1000),
            "kernel": self.kernel,
            "cellsTotal": self.cells_total,
            "cellsRun": self.cells_run,
            "error": self.first_problem[2] if self.first_problem else None,
            "errors": self.errors,
            "timedOutCell": self.timed_out_cell,
            "message": message,
        }


def main(argv=None):
    p = argparse.ArgumentParser(description="Execute a notebook in a scratch copy of its folder.")
    p.add_argument("--notebook", required=True, help="notebook to run (may be in a read-only tree)")
    p.add_argument("--output", required=True, help="where to write the executed notebook")
    p.add_argument("--result", required=True, help="where to write the result JSON")
    p.add_argument("--default-kernel", default="python3", help="kernel when the notebook has no kernelspec")
    p.add_argument("--cell-timeout", type=float, default=600, help="seconds per cell (<= 0: no limit)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds for all cells (<= 0: no limit)")
    p.add_argument("--prerun", help="file whose code runs first, hidden from the artifact")
    p.add_argument("--scratch-root", default=tempfile.gettempdir(), help="parent of the scratch directory")
    p.add_argument("--fork-kernel", action="store_true", help="fork the kernel from this process (fork server)")
    args = p.parse_args(argv)
    started = time.monotonic()  # per run: the fork server imported this module long before
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="nblc_execute %(levelname)s %(message)s")
    # An unreadable notebook file is an infrastructure problem (the cache should have it),
    # unlike invalid content, so it is an argument error rather than invalid_notebook.
    try:
        with open(args.notebook, "rb") as f:
            nb_bytes = f.read()
        prerun = None
        if args.prerun:
            with open(args.prerun, encoding="utf-8") as f:
                prerun = f.read()
    except (OSError, UnicodeDecodeError) as e:
        p.error(str(e))
    # Forked before any event loop, thread or socket exists (see nblc_kernel_fork).
    template = KernelTemplate() if args.fork_kernel else None
    try:
        return asyncio.run(Executor(args, nb_bytes, prerun, started, template).main())
    finally:
        if template is not None:
            template.discard()


if __name__ == "__main__":
    sys.exit(main())
