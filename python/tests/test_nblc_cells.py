"""Which cells a notebook run executes and which may raise (nblc_cells), on nbformat's own cells:
the rules the cell loop applies before and after each cell reaches the kernel.
"""

from hypothesis import given
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

from nblc_cells import expects_error, runs
from nblc_results import PRERUN_CELL

SKIP = "skip-execution"


def test_code_cells_with_a_source_run() -> None:
    """The ordinary cell runs, tagged or not (tags other than the skip tag change nothing)."""
    assert runs(new_code_cell("x = 1"), SKIP)
    assert runs(new_code_cell("x = 1", metadata={"tags": ["raises-exception", "slow"]}), SKIP)


def test_markdown_raw_and_blank_cells_do_not_run() -> None:
    """As in nbclient: only code runs, and a code cell of whitespace is not sent to the kernel."""
    assert not runs(new_markdown_cell("# Title"), SKIP)
    assert not runs(new_raw_cell("x = 1"), SKIP)
    assert not runs(new_code_cell(""), SKIP)
    assert not runs(new_code_cell("  \n\t\n"), SKIP)


def test_the_skip_tag_skips() -> None:
    """The client's skip tag (nbclient's skip_cells_with_tag) removes a cell from the run."""
    assert not runs(new_code_cell("x = 1", metadata={"tags": [SKIP]}), SKIP)
    assert runs(new_code_cell("x = 1", metadata={"tags": [SKIP]}), "another-tag")


@given(st.text(max_size=20), st.lists(st.sampled_from(["a", SKIP, "raises-exception"]), max_size=3, unique=True))
def test_a_cell_runs_exactly_when_it_has_code_and_no_skip_tag(source: str, tags: list[str]) -> None:
    """Over any source and tags: the rule is the conjunction, never something else."""
    cell = new_code_cell(source, metadata={"tags": tags})
    assert runs(cell, SKIP) == (source.strip() != "" and SKIP not in tags)


def test_raises_exception_cells_may_raise() -> None:
    """An author's raises-exception tag makes a cell's error expected (execution goes on)."""
    assert expects_error(3, ["raises-exception"])
    assert not expects_error(3, [])
    assert not expects_error(0, ["raises", "exception"])


def test_the_prerun_may_never_raise() -> None:
    """The prerun logs in: its error always stops the run, whatever tags it carried."""
    assert not expects_error(PRERUN_CELL, ["raises-exception"])
