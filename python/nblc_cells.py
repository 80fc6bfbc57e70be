"""The cells of one notebook, in order, on a started kernel (nblc_execute.Executor.execute):
per-cell and whole-notebook budgets, the hidden prerun cell, and where execution stops.
"""

import contextlib
import json
from typing import Any, Protocol

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from nblc_results import PRERUN_CELL, CellBudget, Outcome, cell_name


class Running(Protocol):
    """What of the executor the loop reads and sets (nblc_execute.Executor)."""

    args: Any
    prerun_source: str | None
    cell_timeout: float | None  # read by nbclient's timeout_func
    signal: int | None
    outcome: Outcome


def emit(event: str, **fields: Any) -> None:
    """Progress line for the parent (used as the activity heartbeat)."""
    # parent went away / stdout closed: keep going, the result file matters
    with contextlib.suppress(OSError, ValueError):
        print(json.dumps({"event": event, **fields}), flush=True)


def runs(cell: NotebookNode, skip_tag: str) -> bool:
    """Whether a cell is executed: nbclient runs code cells with a source, unless tagged to skip."""
    return cell.cell_type == "code" and bool(cell.source.strip()) and skip_tag not in cell.metadata.get("tags", [])


def expects_error(index: int, tags: list[str]) -> bool:
    """A cell tagged raises-exception may raise and execution goes on; the prerun never may."""
    return index != PRERUN_CELL and "raises-exception" in tags


async def run_cells(ex: Running, client: NotebookClient, nb: NotebookNode) -> None:
    outcome = ex.outcome
    # The prerun cell is executed as cell 0 of the notebook object (nbclient writes the
    # cell back at its index) and removed again before the artifact is written.
    offset = 0
    if ex.prerun_source is not None:
        nb.cells.insert(0, nbformat.v4.new_code_cell(ex.prerun_source))
        offset = 1
    budget = CellBudget(ex.args.cell_timeout, ex.args.timeout)  # from now: the kernel is up
    execution_count = 0
    try:
        for pos, cell in enumerate(nb.cells):
            index = pos - offset
            if not runs(cell, client.skip_cells_with_tag):
                continue  # nbclient would not run it either
            name = cell_name(index)
            limit = budget.limit(name)
            if limit.exhausted:
                outcome.timed_out_cell = index
                outcome.stop("timed_out", limit.message)
                break
            ex.cell_timeout = limit.seconds
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
                stop = ("timed_out", limit.message)
                outcome.timed_out_cell = index
            except DeadKernelError:
                stop = ("kernel_died", f"kernel died while executing {name}")
            finally:
                if client.code_cells_executed > before and index != PRERUN_CELL:
                    outcome.cells_run += 1
                    execution_count += 1
            unexpected = outcome.collect_errors(
                cell, index, expected=expects_error(index, cell.metadata.get("tags", []))
            )
            if stop and ex.signal is None:
                outcome.stop(*stop)
            # The first unexpected error ends the notebook, as nbconvert --execute does: what
            # follows is mostly its consequences (NameError after a failed import), and slow
            # or hanging cells after it would cost time and hide it (docs/architecture.md).
            # A failed prerun (login) too: running the notebook would be pointless.
            if stop or unexpected:
                break
    finally:
        if offset:
            nb.cells.pop(0)
