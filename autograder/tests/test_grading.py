"""Grading a class end to end: solutions, blank exercises, wrong and alternative answers, feedback.

One nbgrader run grades every case below (a session fixture), then each test reads
its rows from grades.csv and cells.csv.
"""

import csv
import shutil
import sys

import nbformat
import pytest

from autograder.course import ASSIGNMENTS, EXERCISES, SOLUTIONS, notebook
from autograder.grade_class import grade_class
from autograder.release import edition_path
from autograder.submissions import filled, grade_id, reference_answers, write_submission
from autograder.tests.feedback_text import hidden_lines, leaked_lines, visible_text
from autograder.tests.variants import load as variants

NBGRADER_EXPORT_COLUMNS = [
    "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
    "raw_score", "late_submission_penalty", "score", "max_score",
]  # fmt: skip


def colab_saved(nb):
    """A notebook as Colab saves it, in the worst case: Colab's own metadata everywhere,
    nbgrader's and the execution counts gone, outputs in Colab's form."""
    nb.metadata = {
        "colab": {"provenance": [], "gpuType": "T4"},
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python"},
        "accelerator": "GPU",
    }
    for i, cell in enumerate(nb.cells):
        cell.metadata = {"id": f"cell{i:03d}"}
        if cell.cell_type == "code":
            cell.metadata["colab"] = {"base_uri": "https://localhost:8080/"}
            cell.metadata["outputId"] = f"out{i:03d}"
            cell.execution_count = None
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text="torch.Size([32, 64])\n")
            ]
    return nb


# A student of the Japanese edition: ex03 with out1 scaled (a hidden check fails) and out3 of
# the wrong shape (a visible one fails). Messages and the page's words must be Japanese.
JAPANESE_STUDENT = "ja-student"
JAPANESE_ANSWERS = {
    "fc1": "fc1 = nn.Linear(1024, 256)\nout1 = fc1(x) * 2\n",
    "out3": "out3 = out1.reshape(32, 256, 1)\n",
}


def japanese_submission(assignment, answers):
    """The Japanese edition of `assignment` with `answers` (grade_id -> source) typed in."""
    nb = nbformat.read(edition_path(EXERCISES, assignment, "ja"), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def student_id(kind, assignment, name):
    return f"{kind}--{assignment}--{name}"


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    subs = root / "submitted"
    for assignment in ASSIGNMENTS:
        folder = notebook(SOLUTIONS, assignment).parent
        shutil.copytree(folder, subs / "solution" / assignment)
        write_submission(subs, "blank", assignment, filled(assignment, {}))
        reference = reference_answers(assignment)
        wrong, right = variants(assignment)
        for kind, group in (("wrong", wrong), ("right", right)):
            for name, variant in group.items():
                nb = filled(assignment, {**reference, **variant.cells})
                write_submission(
                    subs, student_id(kind, assignment, name), assignment, nb, variant.files
                )
    for assignment in ("ex01_conv1d", "ex05_model"):
        nb = colab_saved(filled(assignment, reference_answers(assignment)))
        write_submission(subs, "colab", assignment, nb)
    nb = japanese_submission(
        "ex03_linear", {**reference_answers("ex03_linear"), **JAPANESE_ANSWERS}
    )
    write_submission(subs, JAPANESE_STUDENT, "ex03_linear", nb)
    nb = colab_saved(japanese_submission("ex03_linear", reference_answers("ex03_linear")))
    write_submission(subs, "colab-ja", "ex03_linear", nb)
    # Faults that must cost only their own submission.
    (subs / "broken" / "ex02_conv2d").mkdir(parents=True)
    (subs / "broken" / "ex02_conv2d" / "ex02_conv2d.ipynb").write_text("")
    renamed = write_submission(
        subs, "broken", "ex03_linear", filled("ex03_linear", reference_answers("ex03_linear"))
    )
    renamed.rename(renamed.with_name("Copy of ex03_linear.ipynb"))

    out = root / "grading"
    grade_class(subs, out, quiet=True)
    with open(out / "grades.csv", newline="") as f:
        grades = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}
    with open(out / "cells.csv", newline="") as f:
        cells = list(csv.DictReader(f))
    return {"out": out, "grades": grades, "cells": cells}


def cells_of(graded, student, assignment):
    rows = [
        r for r in graded["cells"] if r["student_id"] == student and r["assignment"] == assignment
    ]
    assert rows, f"no cells.csv rows for {student}/{assignment}"
    return {r["cell"]: r for r in rows}


def test_grades_csv_has_nbgrader_export_columns(graded):
    with open(graded["out"] / "grades.csv", newline="") as f:
        assert next(csv.reader(f)) == NBGRADER_EXPORT_COLUMNS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_scores_full_marks(graded, assignment):
    row = graded["grades"][("solution", assignment)]
    assert float(row["max_score"]) > 0
    lost = {
        c: r["message"]
        for c, r in cells_of(graded, "solution", assignment).items()
        if r["score"] != r["max_score"]
    }
    assert float(row["score"]) == float(row["max_score"]), f"solution loses points: {lost}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_unanswered_exercise_scores_zero_on_every_test(graded, assignment):
    passing = {
        c: r["message"]
        for c, r in cells_of(graded, "blank", assignment).items()
        if float(r["score"]) > 0
    }
    assert not passing, f"tests that pass with no answer (vacuous): {passing}"


WRONG_CASES = [(a, n, v) for a in ASSIGNMENTS for n, v in variants(a)[0].items()]
RIGHT_CASES = [(a, n, v) for a in ASSIGNMENTS for n, v in variants(a)[1].items()]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_assignment_has_wrong_and_alternative_answers(assignment):
    wrong, right = variants(assignment)
    assert len(wrong) >= 3 and len(right) >= 1, (assignment, list(wrong), list(right))


@pytest.mark.parametrize(
    ("assignment", "name", "variant"), WRONG_CASES, ids=[f"{a}-{n}" for a, n, _ in WRONG_CASES]
)
def test_wrong_answer_loses_exactly_its_points(graded, assignment, name, variant):
    rows = cells_of(graded, student_id("wrong", assignment, name), assignment)
    lost = {c for c, r in rows.items() if float(r["score"]) < float(r["max_score"])}
    messages = {c: rows[c]["message"] for c in lost | set(variant.loses)}
    assert lost == set(variant.loses), (
        f"expected to lose {sorted(variant.loses)}, lost {sorted(lost)}: {messages}"
    )


VISIBLE_CASES = [(a, n, v) for a, n, v in WRONG_CASES if v.visible]


def visible_failures(assignment, answers, files, folder):
    """The test cells whose visible checks fail when the released notebook, with `answers`
    typed in, runs top to bottom in one plain Python namespace, as in the student's kernel."""
    nb = filled(assignment, answers)
    for name, text in files.items():
        (folder / name).write_text(text)
    scope, failed = {"__name__": "__main__"}, set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            exec(compile(cell.source, grade_id(cell) or "cell", "exec"), scope)
        except AssertionError:
            failed.add(grade_id(cell))
    return failed


@pytest.mark.parametrize("assignment", sorted({a for a, _, _ in VISIBLE_CASES}))
def test_reference_answers_pass_the_visible_checks(tmp_path, monkeypatch, assignment):
    monkeypatch.chdir(tmp_path)
    assert visible_failures(assignment, reference_answers(assignment), {}, tmp_path) == set()


@pytest.mark.parametrize(
    ("assignment", "name", "variant"), VISIBLE_CASES, ids=[f"{a}-{n}" for a, n, _ in VISIBLE_CASES]
)
def test_visible_checks_catch_what_the_student_can_fix(
    tmp_path, monkeypatch, assignment, name, variant
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "models", raising=False)
    answers = {**reference_answers(assignment), **variant.cells}
    failed = visible_failures(assignment, answers, variant.files, tmp_path)
    sys.modules.pop("models", None)
    assert failed == set(variant.loses), (
        f"the released notebook's visible checks should fail {sorted(variant.loses)}, "
        f"failed {sorted(failed)}"
    )


@pytest.mark.parametrize(
    ("assignment", "name", "variant"), RIGHT_CASES, ids=[f"{a}-{n}" for a, n, _ in RIGHT_CASES]
)
def test_alternative_right_answer_keeps_full_marks(graded, assignment, name, variant):
    row = graded["grades"][(student_id("right", assignment, name), assignment)]
    rows = cells_of(graded, student_id("right", assignment, name), assignment)
    lost = {c: r["message"] for c, r in rows.items() if r["score"] != r["max_score"]}
    assert float(row["score"]) == float(row["max_score"]), f"correct answer loses points: {lost}"


@pytest.mark.parametrize("assignment", ["ex01_conv1d", "ex05_model"])
def test_notebook_saved_by_colab_is_graded_like_any_other(graded, assignment):
    row = graded["grades"][("colab", assignment)]
    lost = {
        c: r["message"]
        for c, r in cells_of(graded, "colab", assignment).items()
        if r["score"] != r["max_score"]
    }
    assert float(row["score"]) == float(row["max_score"]) > 0, (
        f"Colab-saved answer loses points: {lost}"
    )


def test_broken_and_renamed_notebooks_are_reported_and_cost_only_themselves(graded):
    broken = cells_of(graded, "broken", "ex02_conv2d")
    assert all(
        float(r["score"]) == 0 and "not a valid notebook" in r["message"] for r in broken.values()
    )
    renamed = graded["grades"][("broken", "ex03_linear")]
    assert float(renamed["score"]) == float(renamed["max_score"]), (
        "a renamed notebook is still graded"
    )
    assert float(graded["grades"][("solution", "ex02_conv2d")]["score"]) > 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_names_failures_but_hides_hidden_tests(graded, assignment):
    wrong = next(iter(variants(assignment)[0]))
    student = student_id("wrong", assignment, wrong)
    page = graded["out"] / "feedback" / student / assignment / f"{assignment}.html"
    text = visible_text(page)
    assert hidden_lines(assignment), f"{assignment} has no hidden tests"
    leaked = leaked_lines(page, assignment)
    assert not leaked, f"feedback shows hidden test code: {leaked[:3]}"
    assert "Traceback (most recent call last)" not in text
    for cell, row in cells_of(graded, student, assignment).items():
        if float(row["score"]) < float(row["max_score"]):
            assert row["message"].split(":")[0] in text, f"feedback does not show why {cell} failed"


def test_japanese_edition_gets_japanese_messages_and_feedback(graded):
    rows = cells_of(graded, JAPANESE_STUDENT, "ex03_linear")
    lost = {c for c, r in rows.items() if float(r["score"]) < float(r["max_score"])}
    assert lost == {"test_fc1", "test_out3"}, {c: rows[c]["message"] for c in rows}
    visible = rows["test_out3"]["message"]
    hidden = rows["test_fc1"]["message"]
    assert visible.startswith("AssertionError: out3 の形状は (32, 16, 16) のはずですが、"), visible
    assert hidden.startswith("AssertionError: out1 は fc1(x) に等しいはずです"), hidden
    page = graded["out"] / "feedback" / JAPANESE_STUDENT / "ex03_linear" / "ex03_linear.html"
    text = visible_text(page)
    for words in ("フィードバック", "得点: 3 / 7", "テスト", "点数", "結果", "合格: 1 / 1 点"):
        assert words in text, words
    assert "out3 の形状は (32, 16, 16) のはずですが、(32, 256, 1) です" in text
    assert "Score:" not in text and "passed:" not in text
    english = (
        graded["out"] / "feedback" / "solution" / "ex03_linear" / "ex03_linear.html"
    ).read_text()
    assert "Score: 7 / 7" in english


def test_japanese_notebook_saved_by_colab_is_lined_up_with_the_japanese_edition(graded):
    row = graded["grades"][("colab-ja", "ex03_linear")]
    assert float(row["score"]) == float(row["max_score"]) == 7
    page = graded["out"] / "feedback" / "colab-ja" / "ex03_linear" / "ex03_linear.html"
    text = visible_text(page)
    assert "演習 03" in text and "得点: 7 / 7" in text
    # Restored against the Japanese edition: no English cell is put back into it.
    assert "Exercise 03" not in text and "was missing" not in text, text[:2000]
