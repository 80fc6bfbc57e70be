"""How a notebook run is classified (nblc_results.Outcome): the first unexpected event decides
the status, expected errors are listed but never decide it, the prerun's secrets stay out of
the result, and an out-of-memory kill is named as such.
"""

import time
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nblc_results import PRERUN_CELL, CellBudget, Outcome


class Limits:
    """How memory was bounded, as nblc_cgroup.Limits reports it (a LimitsInfo)."""

    def __init__(self, mode: str, memory: int | None) -> None:
        self.mode = mode
        self.memory = memory


def error_cell(ename: str, evalue: str = "", traceback: list[str] | None = None) -> dict[str, Any]:
    """An executed cell whose outputs hold one error, as nbformat stores it."""
    return {
        "outputs": [
            {"output_type": "stream", "name": "stdout", "text": "before\n"},
            {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback or []},
        ]
    }


def test_a_run_without_problems_passes() -> None:
    """Nothing unexpected: passed, no message, the counts as the loop set them."""
    outcome = Outcome(time.monotonic())
    outcome.kernel, outcome.cells_total, outcome.cells_run = "python3", 3, 2
    assert not outcome.collect_errors({"outputs": [{"output_type": "stream", "text": "hi"}]}, 0, expected=False)
    result = outcome.final()
    assert result["status"] == "passed"
    assert result["message"] is None and result["error"] is None and result["errors"] == []
    assert (result["kernel"], result["cellsTotal"], result["cellsRun"]) == ("python3", 3, 2)
    assert (result["sandbox"], result["limits"]) == ("on", "none")


def test_an_unexpected_error_fails_the_run_and_is_its_error() -> None:
    """The error's name and value, without terminal colours, name the cell in the message."""
    outcome = Outcome(time.monotonic())
    cell = error_cell("ValueError", "\x1b[31mbad\x1b[0m value", ["\x1b[0;31mTraceback\x1b[0m", "line 1"])
    assert outcome.collect_errors(cell, 4, expected=False)
    result = outcome.final()
    assert result["status"] == "failed"
    assert result["message"] == "cell 4: ValueError: bad value"
    assert result["error"] == {
        "cell": 4,
        "ename": "ValueError",
        "evalue": "bad value",
        "traceback": "Traceback\nline 1",
    }
    assert result["errors"] == [{**result["error"], "expected": False}]


def test_an_expected_error_is_listed_but_does_not_decide() -> None:
    """raises-exception cells may raise: listed with expected=True, the run still passes."""
    outcome = Outcome(time.monotonic())
    assert not outcome.collect_errors(error_cell("KeyError", "'x'"), 1, expected=True)
    result = outcome.final()
    assert result["status"] == "passed"
    assert [e["expected"] for e in result["errors"]] == [True]


def test_the_prerun_error_keeps_only_the_exception_name() -> None:
    """A failed login may echo its token: the prerun's value and traceback never reach the result."""
    outcome = Outcome(time.monotonic())
    cell = error_cell("LoginError", "token ghp_secret refused", ["Traceback", "token = 'ghp_secret'"])
    assert outcome.collect_errors(cell, PRERUN_CELL, expected=False)
    result = outcome.final()
    assert result["status"] == "failed"
    assert result["message"] == "prerun cell: LoginError"
    assert "ghp_secret" not in repr(result)


def test_input_needed_is_its_own_status_except_in_the_prerun() -> None:
    """input()/getpass() in a notebook: needs_input; in the prerun the login simply failed."""
    notebook = Outcome(time.monotonic())
    notebook.collect_errors(error_cell("StdinNotImplementedError", "raw_input was called"), 2, expected=False)
    assert notebook.final()["status"] == "needs_input"
    prerun = Outcome(time.monotonic())
    prerun.collect_errors(error_cell("StdinNotImplementedError", "raw_input was called"), PRERUN_CELL, expected=False)
    assert prerun.final()["status"] == "failed"


def test_the_message_is_one_short_line() -> None:
    """A multi-line or huge error value becomes the first line, at most 300 characters."""
    outcome = Outcome(time.monotonic())
    outcome.collect_errors(error_cell("RuntimeError", "x" * 1000 + "\nsecond line"), 0, expected=False)
    message = outcome.final()["message"]
    assert message is not None
    assert len(message) == 300 and "\n" not in message and message.startswith("cell 0: RuntimeError: xxx")


def test_the_first_problem_wins_and_a_later_stop_is_appended() -> None:
    """A failure then a timeout: failed, and the message says what happened next."""
    outcome = Outcome(time.monotonic())
    outcome.collect_errors(error_cell("ZeroDivisionError", "division by zero"), 1, expected=False)
    outcome.timed_out_cell = 2
    outcome.stop("timed_out", "cell 2 exceeded the cell timeout of 5s")
    result = outcome.final()
    assert result["status"] == "failed"
    assert (
        result["message"] == "cell 1: ZeroDivisionError: division by zero; then cell 2 exceeded the cell timeout of 5s"
    )
    assert result["timedOutCell"] == 2


def test_a_stop_that_is_the_first_problem_is_said_once() -> None:
    """A timeout alone: timed_out, its message not repeated."""
    outcome = Outcome(time.monotonic())
    outcome.stop("timed_out", "cell 0 exceeded the notebook timeout of 60s")
    result = outcome.final()
    assert (result["status"], result["message"]) == ("timed_out", "cell 0 exceeded the notebook timeout of 60s")


def test_an_oom_kill_in_the_cgroup_is_out_of_memory() -> None:
    """The kernel died and the cgroup counted an OOM kill: out_of_memory, naming the setting and limit."""
    outcome = Outcome(time.monotonic())
    outcome.stop("kernel_died", "kernel died while executing cell 3")
    outcome.measured({"peak": 2 << 30, "cpu": 1.5, "oom_kills": 1}, Limits("cgroup2", 2 << 30))
    result = outcome.final()
    assert result["status"] == "out_of_memory"
    assert result["message"] == (
        "out of memory: the notebook's processes exceeded NBLC_NOTEBOOK_MEMORY (2 GiB) and were killed"
        " (kernel died while executing cell 3)"
    )
    assert (result["peakMemoryBytes"], result["cpuSeconds"], result["limits"]) == (2 << 30, 1.5, "cgroup2")


def test_a_memory_error_is_out_of_memory_only_under_a_per_process_limit() -> None:
    """MemoryError at the rlimit is the limit's doing; under a cgroup it is the notebook's own failure."""
    for mode, status in (("rlimit", "out_of_memory"), ("cgroup2", "failed")):
        outcome = Outcome(time.monotonic())
        outcome.collect_errors(error_cell("MemoryError"), 0, expected=False)
        outcome.measured({"peak": None, "cpu": None, "oom_kills": 0}, Limits(mode, 512 << 20))
        result = outcome.final()
        assert result["status"] == status
        if status == "out_of_memory":
            assert "per-process limit NBLC_NOTEBOOK_MEMORY (512 MiB)" in str(result["message"])


def test_without_a_memory_limit_nothing_is_out_of_memory() -> None:
    """No limit set (or unsandboxed): an OOM count alone does not rename the failure."""
    outcome = Outcome(time.monotonic())
    outcome.stop("kernel_died", "kernel died while executing cell 0")
    outcome.measured({"peak": 1, "cpu": 0.1, "oom_kills": 1}, Limits("cgroup2", None))
    assert outcome.final()["status"] == "kernel_died"
    outcome.sandboxed = False
    outcome.measured({"peak": 1, "cpu": 0.1, "oom_kills": 0}, None)
    assert (outcome.final()["sandbox"], outcome.final()["limits"]) == ("off", "none")


# One executed cell for the property below: its error names (None: no error) and whether it was
# tagged raises-exception.
cells = st.lists(
    st.tuples(st.lists(st.sampled_from(["ValueError", "KeyError", None]), max_size=3), st.booleans()), max_size=8
)


@given(cells)
def test_the_first_unexpected_error_decides_whatever_follows(run: list[tuple[list[str | None], bool]]) -> None:
    """Over any sequence of cells: every error is listed in order, and the run's error is the
    first one not expected, or none and passed."""
    outcome = Outcome(time.monotonic())
    listed, first = [], None
    for index, (names, expected) in enumerate(run):
        outputs = [{"output_type": "error", "ename": n, "evalue": "v", "traceback": []} for n in names if n]
        outcome.collect_errors({"outputs": outputs}, index, expected=expected)
        listed += [(index, n, expected) for n in names if n]
        if first is None and not expected:
            first = next(((index, n) for n in names if n), None)
    result = outcome.final()
    assert [(e["cell"], e["ename"], e["expected"]) for e in result["errors"]] == listed
    if first is None:
        assert (result["status"], result["error"]) == ("passed", None)
    else:
        assert result["status"] == "failed"
        assert result["error"] is not None and (result["error"]["cell"], result["error"]["ename"]) == first


def test_a_cell_gets_the_shorter_of_its_timeout_and_the_notebooks_budget() -> None:
    """Per-cell limit when the budget is larger, the budget (and its wording) when it is smaller."""
    per_cell = CellBudget(cell_timeout=10, timeout=3600).limit("cell 1")
    assert (per_cell.seconds, per_cell.exhausted) == (10, False)
    assert per_cell.message == "cell 1 exceeded the cell timeout of 10s"
    budget = CellBudget(cell_timeout=3600, timeout=10).limit("cell 1")
    assert budget.seconds is not None and 0 < budget.seconds <= 10 and not budget.exhausted
    assert budget.message == "cell 1 exceeded the notebook timeout of 10s"


def test_no_limits_means_no_timeout() -> None:
    """Timeouts <= 0 are no limit: nbclient gets None, never exhausted."""
    limit = CellBudget(cell_timeout=0, timeout=-1).limit("prerun cell")
    assert (limit.seconds, limit.exhausted) == (None, False)


def test_a_used_up_budget_starts_no_more_cells() -> None:
    """Once the notebook's deadline has passed the next cell is refused, saying which."""
    budget = CellBudget(cell_timeout=10, timeout=60)
    budget.deadline = time.monotonic()  # the deadline is now: nothing is left
    limit = budget.limit("cell 7")
    assert limit.exhausted
    assert limit.message == "notebook timeout of 60s reached before cell 7"
