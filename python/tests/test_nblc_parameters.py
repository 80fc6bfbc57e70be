"""A run's parameters and allowed errors (issue 18): papermill's `parameters` cell gets the run's
values as literals, never as code; `metadata.execution.allow_errors` lets every cell but the
prerun raise.
"""

import json

from nbformat.v4 import new_code_cell, new_notebook

from nblc_cells import expects_error, inject_parameters, python_literal
from nblc_results import PRERUN_CELL


def test_values_read_as_papermill_reads_them() -> None:
    """Numbers and True/False/None as such, everything else a string literal."""
    assert python_literal("5") == "5"
    assert python_literal("2.5") == "2.5"
    assert python_literal("True") == "True"
    assert python_literal("small") == "'small'"
    assert python_literal("nan") == "'nan'"


def test_a_value_never_becomes_code() -> None:
    """A value that is Python code stays a string: evaluating the literal gives the text back."""
    text = "__import__('os').system('id')"
    assert eval(python_literal(text)) == text  # noqa: S307 - the point: it is only a literal


def test_the_parameters_cell_gets_the_values_and_other_cells_keep_their_index() -> None:
    nb = new_notebook(
        cells=[
            new_code_cell("print(1)"),
            new_code_cell("size = 1000", metadata={"tags": ["parameters"]}),
            new_code_cell("print(size)"),
        ]
    )
    inject_parameters(nb, json.dumps({"size": "5", "class": "x", "name": "small"}))
    assert len(nb.cells) == 3
    namespace: dict[str, object] = {}
    exec(nb.cells[1].source, namespace)  # noqa: S102 - the cell as the kernel would run it
    assert namespace["size"] == 5 and namespace["name"] == "small"
    assert "class" not in nb.cells[1].source  # a keyword is no name
    assert nb.cells[0].source == "print(1)"


def test_without_a_parameters_cell_nothing_changes() -> None:
    nb = new_notebook(cells=[new_code_cell("size = 1000")])
    inject_parameters(nb, json.dumps({"size": "5"}))
    assert nb.cells[0].source == "size = 1000"


def test_allow_errors_lets_every_cell_raise_but_the_prerun() -> None:
    assert expects_error(2, [], allow_errors=True)
    assert not expects_error(PRERUN_CELL, [], allow_errors=True)
