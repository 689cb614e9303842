"""Merging results updates nbgrader's gradebook in place: what graders typed survives a regrade."""

import csv
import shutil
import time
import warnings

import pytest
from nbgrader.api import Gradebook

from autograder.course import ASSIGNMENTS
from autograder.engine.runner import spec
from autograder.merge import HASH_FILE, fresh_start, merge, unanswered, write_result
from autograder.submissions import released

A = ASSIGNMENTS[0]


def fake_result(student: str, assignment: str, wrong=(), unanswered_cells=()) -> dict:
    cells = [
        {
            "cell": cid,
            "score": 0.0 if cid in wrong else points,
            "max_score": points,
            "message": f"AssertionError: {cid} is wrong" if cid in wrong else "passed",
        }
        for cid, (_, points) in spec(assignment).tests.items()
    ]
    return {
        "student": student,
        "assignment": assignment,
        "cells": cells,
        "outputs": {},
        "notes": [],
        "seconds": 0.1,
        "unanswered": list(unanswered_cells),
    }


def cell_ids(assignment):
    return list(spec(assignment).tests)


def answer_cells(assignment):
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in released(assignment).cells
        if c.metadata.get("nbgrader", {}).get("solution")
    ]


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def gradebook(out):
    warnings.simplefilter("ignore")
    return Gradebook(f"sqlite:///{out / 'gradebook.db'}")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("grading")
    t = cell_ids(A)
    write_result(out, fake_result("ada", A))
    write_result(out, fake_result("ben", A, wrong={t[0], t[1]}))
    write_result(out, fake_result("cam", A, wrong=set(t), unanswered_cells=answer_cells(A)[:1]))
    for assignment in ASSIGNMENTS[1:]:
        write_result(out, fake_result("ada", assignment))
    (out / "results" / "dan").mkdir()  # on the class list, handed nothing in
    start = time.perf_counter()
    merge([out / "results"], out, quiet=True)
    print(
        f"\nfirst merge (builds the gradebook's assignments): {time.perf_counter() - start:.1f} s"
    )
    first = {
        "grades": read(out / "grades.csv"),
        "cells": read(out / "cells.csv"),
        "mtime": (out / "gradebook.db").stat().st_mtime_ns,
    }

    # A grader, in Formgrader, gives ben a manual score on his first test and comments on
    # his first answer cell (formgrader's GradeHandler/CommentHandler do exactly this).
    with gradebook(out) as gb:
        grade = gb.find_grade(t[0], A, A, "ben")
        grade.manual_score = 0.5
        grade.needs_manual_grade = False
        comment = gb.find_comment(answer_cells(A)[0], A, A, "ben")
        comment.manual_comment = "Nice try; see the stride."
        gb.db.commit()

    # ben is regraded: his first test now passes (automatic), his second still fails.
    write_result(out, fake_result("ben", A, wrong={t[1], t[2]}))
    start = time.perf_counter()
    merge([out / "results"], out, quiet=True)
    print(f"second merge (gradebook in place): {time.perf_counter() - start:.2f} s")
    return {"out": out, "first": first, "tests": t}


def test_manual_score_and_comment_survive_a_regrade(graded):
    out, t = graded["out"], graded["tests"]
    with gradebook(out) as gb:
        grade = gb.find_grade(t[0], A, A, "ben")
        assert grade.manual_score == 0.5
        assert grade.auto_score == spec(A).tests[t[0]][1]  # the new automatic score
        assert grade.needs_manual_grade  # SaveAutoGrades: a manual score is to be reviewed
        comment = gb.find_comment(answer_cells(A)[0], A, A, "ben")
        assert comment.manual_comment == "Nice try; see the stride."
        assert gb.find_grade(t[2], A, A, "ben").auto_score == 0.0


def test_grades_csv_uses_the_manual_score(graded):
    out, t = graded["out"], graded["tests"]
    points = {cid: p for cid, (_, p) in spec(A).tests.items()}
    expected = 0.5 + sum(p for cid, p in points.items() if cid not in {t[0], t[1], t[2]})
    (row,) = [
        r for r in read(out / "grades.csv") if r["student_id"] == "ben" and r["assignment"] == A
    ]
    assert float(row["score"]) == pytest.approx(expected)
    assert float(row["max_score"]) == pytest.approx(sum(points.values()))


def test_cells_csv_shows_the_automatic_score(graded):
    out, t = graded["out"], graded["tests"]
    rows = {
        r["cell"]: r
        for r in read(out / "cells.csv")
        if r["student_id"] == "ben" and r["assignment"] == A
    }
    assert float(rows[t[0]]["score"]) == spec(A).tests[t[0]][1]
    assert rows[t[0]]["message"] == "passed"
    assert float(rows[t[2]]["score"]) == 0.0
    assert rows[t[2]]["message"] == f"AssertionError: {t[2]} is wrong"


def test_needs_manual_grade_is_false_for_automatic_cells(graded):
    out, t = graded["out"], graded["tests"]
    with gradebook(out) as gb:
        for student in ("ada", "ben", "cam"):
            for nb in gb.find_submission(A, student).notebooks:
                for grade in nb.grades:
                    manual = student == "ben" and grade.name == t[0]
                    assert grade.needs_manual_grade == manual, (student, grade.name)
        assert not gb.find_submission(A, "ada").needs_manual_grade
        for assignment in ASSIGNMENTS[1:]:
            assert not gb.find_submission(assignment, "ada").needs_manual_grade


def test_automatic_comments_are_nbgraders(graded):
    out = graded["out"]
    first, *rest = answer_cells(A)
    with gradebook(out) as gb:
        assert gb.find_comment(first, A, A, "cam").auto_comment == "No response."
        for cell in rest:
            assert gb.find_comment(cell, A, A, "cam").auto_comment is None
        for cell in answer_cells(A):
            assert gb.find_comment(cell, A, A, "ada").auto_comment is None


def test_other_students_are_unchanged(graded):
    out, first = graded["out"], graded["first"]

    def others(rows):
        return [r for r in rows if r["student_id"] != "ben"]

    assert others(read(out / "grades.csv")) == others(first["grades"])
    assert others(read(out / "cells.csv")) == others(first["cells"])
    assert {r["student_id"] for r in first["grades"]} == {"ada", "ben", "cam", "dan"}
    dan = [r for r in read(out / "cells.csv") if r["student_id"] == "dan"]
    assert dan and all(r["message"] == "no submission" and float(r["score"]) == 0 for r in dan)


def test_missing_students_and_gradebook_are_kept(graded, tmp_path):
    """Merging only ben's results (a regrade of one student) keeps everyone else."""
    out = graded["out"]
    only_ben = tmp_path / "results"
    shutil.copytree(out / "results" / "ben", only_ben / "ben")
    before = read(out / "grades.csv")
    merge([only_ben], out, quiet=True)
    assert read(out / "grades.csv") == before
    merge([out / "results"], out, quiet=True)


def test_changed_solutions_rebuild_in_place_and_drop_old_assignments(graded):
    out, t = graded["out"], graded["tests"]
    before = read(out / "grades.csv")
    with gradebook(out) as gb:
        gb.update_or_create_assignment("ex00_retired")
        # the solutions lost a test cell: nbgrader refuses to update a notebook with submissions
        gb.update_or_create_grade_cell("test_retired", A, A, max_score=1.0, cell_type="code")
    (out / HASH_FILE).write_text("something else\n")  # as if solutions/ had changed
    merge([out / "results"], out, quiet=True)
    with gradebook(out) as gb:
        assert sorted(a.name for a in gb.assignments) == sorted(ASSIGNMENTS)
        assert "test_retired" not in {c.name for c in gb.find_notebook(A, A).grade_cells}
        assert gb.find_grade(t[0], A, A, "ben").manual_score == 0.5
        assert gb.find_grade(t[0], A, A, "ben").needs_manual_grade
        assert gb.find_grade(t[1], A, A, "ben").manual_score is None
        comment = gb.find_comment(answer_cells(A)[0], A, A, "ben")
        assert comment.manual_comment == "Nice try; see the stride."
    assert read(out / "grades.csv") == before
    assert (out / HASH_FILE).read_text().strip() != "something else"


def test_unanswered_cells_of_a_released_notebook():
    assert unanswered(released(A)) == answer_cells(A)


def test_fresh_start_forgets_everything(graded, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(graded["out"], out)
    (out / "feedback" / "ada").mkdir(parents=True)
    fresh_start(out)
    for name in ("gradebook.db", "grades.csv", "cells.csv", "results", "feedback", HASH_FILE):
        assert not (out / name).exists(), name


def test_merge_time_for_a_class(graded, tmp_path):
    """40 students x 6 assignments into a gradebook whose assignments are built (printed)."""
    out = tmp_path / "class"
    out.mkdir()
    for name in ("gradebook.db", HASH_FILE):
        shutil.copy(graded["out"] / name, out / name)
    for k in range(40):
        for assignment in ASSIGNMENTS:
            wrong = set(cell_ids(assignment)[: k % 3])
            write_result(out, fake_result(f"student{k:02d}", assignment, wrong=wrong))
    start = time.perf_counter()
    merge([out / "results"], out, quiet=True)
    first = time.perf_counter() - start
    start = time.perf_counter()
    merge([out / "results"], out, quiet=True)
    again = time.perf_counter() - start
    print(f"\nmerge of 40 students x 6 assignments: {first:.2f} s new, {again:.2f} s again")
    assert len(read(out / "grades.csv")) == 4 * 6 + 40 * 6  # the copied class too
