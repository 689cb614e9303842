"""Submissions that lost nbgrader metadata or cells get them back before grading."""

import copy

import nbformat

from autograder.restore import restore
from autograder.submissions import grade_id


def _cell(kind, source, gid, **flags):
    meta = {
        "nbgrader": {
            "grade_id": gid,
            "schema_version": 3,
            "locked": False,
            "solution": False,
            "grade": False,
            "task": False,
            **flags,
        }
    }
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    return make(source, metadata=meta)


def released():
    return nbformat.v4.new_notebook(
        cells=[
            _cell("markdown", "# Header", "header", locked=True),
            _cell(
                "code", "# YOUR CODE HERE\nraise NotImplementedError()", "answer_a", solution=True
            ),
            _cell(
                "code",
                "assert a == 1, 'a should be 1'",
                "test_a",
                grade=True,
                locked=True,
                points=1,
            ),
            _cell(
                "code", "# YOUR CODE HERE\nraise NotImplementedError()", "answer_b", solution=True
            ),
            _cell(
                "code",
                "assert b == 2, 'b should be 2'",
                "test_b",
                grade=True,
                locked=True,
                points=1,
            ),
        ]
    )


def test_intact_submission_is_left_alone():
    nb = released()
    before = copy.deepcopy(nb)
    assert restore(nb, released()) == []
    assert nb == before


def test_stripped_metadata_is_restored_like_colab_saves_it():
    nb = released()
    nb.cells[1].source, nb.cells[3].source = "a = 1", "b = 2"
    for cell in nb.cells:
        cell.metadata = {"id": "x1", "colab": {"base_uri": "https://localhost:8080/"}}
        if cell.cell_type == "code":
            cell.execution_count = None
    notes = restore(nb, released())
    assert [grade_id(c) for c in nb.cells] == ["header", "answer_a", "test_a", "answer_b", "test_b"]
    assert nb.cells[1].source == "a = 1" and nb.cells[3].source == "b = 2"
    assert len(notes) == 5


def test_deleted_test_cell_is_put_back_in_place():
    nb = released()
    del nb.cells[2]
    notes = restore(nb, released())
    assert [grade_id(c) for c in nb.cells] == ["header", "answer_a", "test_a", "answer_b", "test_b"]
    assert notes == ["cell 'test_a' was missing; put back from the release"]


def test_extra_student_cells_keep_their_place_and_answers_are_found():
    nb = released()
    nb.cells[1].source = "import math"
    nb.cells.insert(2, nbformat.v4.new_code_cell("a = 1"))
    for cell in nb.cells:
        cell.metadata = {}
    restore(nb, released())
    ids = [grade_id(c) for c in nb.cells]
    assert ids == ["header", "answer_a", None, "test_a", "answer_b", "test_b"]
