"""What one notebook run reports: the errors its cells raised, the status the first unexpected
event decides, the time limit of each cell, and the result JSON the executor writes.

Kept apart from nblc_execute, which drives nbclient and the kernel: nothing here touches a
kernel or an event loop, so the rules that classify a run can be read in one place.
"""

import math
import re
import resource
import time
from typing import Any, NamedTuple, Protocol, TypedDict

from nblc_output import one_line

# Cell index used in results/progress for the injected --prerun cell (user cells keep
# their own 0-based index in the notebook, markdown cells included).
PRERUN_CELL = -1

# CSI sequences (colours, cursor moves), OSC sequences (hyperlinks), lone two-byte escapes.
ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


class CellError(TypedDict):
    """One error output of a cell (NotebookError in src/domain/runs/model.ts); `error` in the result."""

    cell: int
    ename: str
    evalue: str
    traceback: str


class ListedError(CellError):
    """An entry of `errors` in the result: the error and whether the cell was tagged raises-exception."""

    expected: bool


class Result(TypedDict):
    """The result JSON (ExecutorResult in src/domain/runs/model.ts); keys in the order they are written."""

    status: str
    durationMs: int
    kernel: str | None
    cellsTotal: int
    cellsRun: int
    error: CellError | None
    errors: list[ListedError]
    timedOutCell: int | None
    message: str | None
    peakMemoryBytes: int | None
    cpuSeconds: float | None
    sandbox: str  # "on" | "off"
    # how memory was limited and measured: "cgroup2" | "cgroup1" (all the notebook's processes
    # together), "rlimit" (each process's data; peak of the largest process), "none" (unsandboxed)
    limits: str
    # an output was cut or left out: past NBLC_NOTEBOOK_OUTPUT_LIMIT (nblc_output)
    outputTruncated: bool


class LimitsInfo(Protocol):
    mode: str
    memory: int | None


class Problem(NamedTuple):
    status: str
    message: str
    error: CellError | None


class CellLimit(NamedTuple):
    seconds: float | None  # the cell's timeout for nbclient; None: no limit
    message: str  # what to report if the cell times out, or (exhausted) why it does not start
    exhausted: bool  # the notebook's budget is used up: the cell must not start


def cell_name(index: int) -> str:
    return "prerun cell" if index == PRERUN_CELL else f"cell {index}"


class CellBudget:
    """Per-cell timeout and the notebook's total budget; a cell gets whichever is shorter.

    Created when the kernel is up: the budget covers cell execution (prerun included), not the
    kernel start. Timeouts <= 0 mean no limit.
    """

    def __init__(self, cell_timeout: float, timeout: float) -> None:
        self.timeout = timeout
        self.per_cell = cell_timeout if cell_timeout > 0 else math.inf
        self.deadline = None if timeout <= 0 else time.monotonic() + timeout

    def limit(self, name: str) -> CellLimit:
        left = math.inf if self.deadline is None else self.deadline - time.monotonic()
        if left <= 0:
            return CellLimit(0, f"notebook timeout of {self.timeout:g}s reached before {name}", True)
        seconds = None if min(self.per_cell, left) == math.inf else min(self.per_cell, left)
        limit = (
            f"cell timeout of {self.per_cell:g}s" if self.per_cell <= left else f"notebook timeout of {self.timeout:g}s"
        )
        return CellLimit(seconds, f"{name} exceeded the {limit}", False)


class Outcome:
    """What a run has found so far; the first unexpected event decides the status."""

    def __init__(self, started: float) -> None:
        self.started = started  # time.monotonic() when this run began (durationMs counts from it)
        self.kernel: str | None = None
        self.cells_total = 0
        self.cells_run = 0
        self.errors: list[ListedError] = []
        self.first_problem: Problem | None = None
        self.stopped: str | None = None  # message when execution stopped early (timeout, dead kernel)
        self.timed_out_cell: int | None = None
        self.usage: dict[str, Any] = {}
        self.limits: LimitsInfo | None = None
        self.sandboxed = True  # False: NBLC_SANDBOX=off
        self.budget: Any = None  # nblc_output.OutputBudget, once the kernel is being started

    def problem(self, status: str, message: str, error: CellError | None = None) -> None:
        if self.first_problem is None:
            self.first_problem = Problem(status, message, error)

    def stop(self, status: str, message: str) -> None:
        """Execution ends early (timeout, dead kernel); reported after the first problem if that differs."""
        self.problem(status, message)
        self.stopped = message

    def collect_errors(self, cell: dict[str, Any], index: int, expected: bool) -> bool:
        """Records the error outputs of an executed cell (nbformat's NotebookNode is a dict);
        True when one of them was unexpected (execution stops there)."""
        unexpected = False
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            err: CellError = {
                "cell": index,
                "ename": one_line(out.get("ename", "")),
                "evalue": ANSI_RE.sub("", out.get("evalue", "")),
                "traceback": ANSI_RE.sub("", "\n".join(out.get("traceback", []))),
            }
            if index == PRERUN_CELL:
                # The prerun handles credentials: its traceback quotes its source and an
                # exception's message may hold one (a failed login echoing the token). Only the
                # exception's name goes into the result, the reports and junit.xml.
                err["evalue"] = ""
                err["traceback"] = err["ename"]
            self.errors.append({**err, "expected": expected})
            if not expected:
                # ipykernel raises StdinNotImplementedError for input()/getpass() when the
                # client disallows stdin; in the prerun it is a plain failure (login broke).
                needs_input = err["ename"] == "StdinNotImplementedError" and index != PRERUN_CELL
                text = f"{err['ename']}: {err['evalue']}" if err["evalue"] else err["ename"]
                message = f"{cell_name(index)}: {text}".splitlines()[0][:300]
                self.problem("needs_input" if needs_input else "failed", message, err)
                unexpected = True
        return unexpected

    def measured(self, usage: dict[str, Any], limits: LimitsInfo | None = None) -> None:
        """What the kernel's processes used (nblc_cgroup.Limits.usage), and how it was bounded."""
        self.usage = usage
        self.limits = limits

    def out_of_memory(self) -> str | None:
        """Why the notebook counts as out of memory: the OOM killer struck in its cgroup, or,
        bounded per process (rlimit), an allocation failed with MemoryError."""
        limits, problem = self.limits, self.first_problem
        if limits is None or problem is None or not limits.memory:
            return None
        limit = f"{limits.memory / (1 << 30):g} GiB" if limits.memory >= 1 << 30 else f"{limits.memory >> 20} MiB"
        if self.usage.get("oom_kills"):
            return f"out of memory: the notebook's processes exceeded NBLC_NOTEBOOK_MEMORY ({limit}) and were killed"
        if limits.mode == "rlimit" and problem.error and problem.error["ename"] == "MemoryError":
            return f"out of memory: an allocation failed at the per-process limit NBLC_NOTEBOOK_MEMORY ({limit})"
        return None

    def final(self) -> Result:
        """The result of a run whose cells were executed (or tried): passed, or the first problem."""
        if self.first_problem is None:
            return self.result("passed", None)
        status, message, _ = self.first_problem
        oom = self.out_of_memory()
        if oom:
            status, message = "out_of_memory", f"{oom} ({message})"
        if self.stopped and self.stopped not in message:
            message = f"{message}; then {self.stopped}"
        return self.result(status, message)

    def result(self, status: str, message: str | None) -> Result:
        return {
            "status": status,
            "durationMs": int((time.monotonic() - self.started) * 1000),
            "kernel": self.kernel,
            "cellsTotal": self.cells_total,
            "cellsRun": self.cells_run,
            "error": self.first_problem.error if self.first_problem else None,
            "errors": self.errors,
            "timedOutCell": self.timed_out_cell,
            "message": message,
            "peakMemoryBytes": self.usage.get("peak"),
            "cpuSeconds": self.usage.get("cpu"),
            "sandbox": "on" if self.sandboxed else "off",
            "limits": "none" if self.limits is None else self.limits.mode,
            "outputTruncated": bool(self.budget is not None and self.budget.truncated),
        }


def unsandboxed_usage(remote: dict[str, float] | None = None) -> dict[str, Any]:
    """NBLC_SANDBOX=off: no cgroup; what getrusage says of the kernel's processes we reaped, and
    `remote`: what its kernel server measured of a kernel forked there (not our child)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu, peak = ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024
    if remote:
        cpu += remote.get("cpu", 0.0)
        peak = max(peak, int(remote.get("peak", 0)))
    return {"peak": peak, "cpu": round(cpu, 3), "oom_kills": 0}
