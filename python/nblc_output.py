"""Bounds on what a kernel can make the executor hold and write: each output, all of a
notebook's outputs together (NBLC_NOTEBOOK_OUTPUT_LIMIT), the error fields, and the executor's
own memory. A kernel is untrusted: it may print without end, or send one huge display; the
executor runs outside the sandbox, beyond the notebook's memory limit, and its notebook and
result are read by the report of the whole run.

Past a bound the output is cut (text) or replaced (data), a note says so in the executed
notebook, and the result says `outputTruncated`. Errors are always kept (they decide the
notebook's status), with their fields capped.
"""

import json
import resource
from typing import Any

from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_output

ENAME_LIMIT = 200  # one line, like the evalue the report groups causes by
EVALUE_LIMIT = 16 * 1024
TRACEBACK_LIMIT = 256 * 1024
PER_OUTPUT_SHARE = 4  # one output may take a quarter of the notebook's limit
EXECUTOR_BASE_MEMORY = 1 << 30  # nbclient, zmq and the notebook itself, beyond its outputs


def one_line(text: Any, limit: int = ENAME_LIMIT) -> str:
    """An exception's name as a report shows it: one line, spaces collapsed, at most `limit`."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… [nblc: cut at {limit} characters]"


def cap_error(content: dict[str, Any]) -> dict[str, Any]:
    """An error output's fields within bounds: ename one line, evalue and traceback capped."""
    traceback = [str(line) for line in content.get("traceback") or []]
    kept, size = [], 0
    for line in traceback:
        size += len(line) + 1
        if size > TRACEBACK_LIMIT:
            kept.append(f"… [nblc: traceback cut at {TRACEBACK_LIMIT} characters]")
            break
        kept.append(line)
    return {
        **content,
        "ename": one_line(content.get("ename", "")),
        "evalue": capped(str(content.get("evalue", "")), EVALUE_LIMIT),
        "traceback": kept,
    }


def data_size(data: Any) -> int:
    """Characters an output's data takes in the notebook's JSON (text as is, JSON mimetypes dumped)."""
    if not isinstance(data, dict):
        return 0
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values())


def human(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):g} MiB"


class OutputBudget:
    """What is left of a notebook's output budget, and whether any output was cut."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.per_output = max(limit // PER_OUTPUT_SHARE, 1)
        self.used = 0
        self.truncated = False
        self.noted: set[int] = set()  # cells that already carry the note

    def note(self, outs: list[NotebookNode], cell_index: int) -> None:
        self.truncated = True
        if cell_index not in self.noted:
            self.noted.add(cell_index)
            text = (
                f"[nblc: output truncated: this notebook's outputs exceed NBLC_NOTEBOOK_OUTPUT_LIMIT "
                f"({human(self.limit)}; one output at most {human(self.per_output)})]\n"
            )
            outs.append(new_output("stream", name="stderr", text=text))

    def admit(self, msg: dict[str, Any], outs: list[NotebookNode], cell_index: int) -> dict[str, Any] | None:
        """The message to record (cut or replaced past the bounds), or None to drop it."""
        kind, content = msg["msg_type"], msg.get("content") or {}
        if kind == "error":
            content = cap_error(content)
            self.used += sum(len(line) for line in content["traceback"])
            return {**msg, "content": content}
        if kind == "stream":
            text = str(content.get("text", ""))
            room = min(self.per_output, self.limit - self.used)
            if len(text) <= room:
                self.used += len(text)
                return msg
            self.note(outs, cell_index)
            if room <= 0:
                return None
            self.used += room
            return {**msg, "content": {**content, "text": text[:room]}}
        if kind in ("display_data", "execute_result", "update_display_data"):
            size = data_size(content.get("data"))
            if size <= min(self.per_output, self.limit - self.used):
                self.used += size
                return msg
            self.note(outs, cell_index)
            replaced = {"text/plain": f"[nblc: an output of {size} characters was left out]"}
            return {**msg, "content": {**content, "data": replaced, "metadata": {}}}
        return msg


class BoundedClient(NotebookClient):
    """nbclient's client, with every output passing the notebook's budget first."""

    budget: OutputBudget | None = None  # set by the executor; None: no bound (tests of nbclient itself)

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        if self.budget is not None:
            admitted = self.budget.admit(msg, outs, cell_index)
            if admitted is None:
                return None
            msg = admitted
        return super().output(outs, msg, display_id, cell_index)

    def _update_display_id(self, display_id: str, msg: dict[str, Any]) -> None:
        if self.budget is not None:
            cell_index = next(iter(self._display_id_map.get(display_id, {})), -1)
            msg = self.budget.admit(msg, [], cell_index) or msg
        super()._update_display_id(display_id, msg)


def executor_memory(output_limit: int) -> int:
    """The executor's own bound: its base, and room for the outputs to be held, copied and written."""
    return EXECUTOR_BASE_MEMORY + 4 * output_limit


def bound_executor(output_limit: int) -> None:
    """A soft RLIMIT_DATA on this process: an output flood ends as a MemoryError here, not as a
    worker host out of memory. Soft only: the kernel it launches (which inherits it when spawned)
    lifts it again (unbound_kernel), its memory being the cgroup's or NBLC_NOTEBOOK_MEMORY's."""
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = executor_memory(output_limit)
    if hard == resource.RLIM_INFINITY or hard > limit:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def unbound_kernel() -> None:
    """In a kernel's process, before anything else: the executor's bound is not the kernel's."""
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))
