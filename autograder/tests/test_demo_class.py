"""`make grade` with no arguments grades the bundled demo class: full, partial and empty work."""

import csv

from autograder.course import ASSIGNMENTS, DEMO_SUBMISSIONS
from autograder.grade_class import grade_class


def test_demo_class_grades_full_partial_and_empty(tmp_path):
    out = tmp_path / "grading"
    grade_class(DEMO_SUBMISSIONS, out, quiet=True)
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    total = {}
    for r in rows:
        got, most = total.get(r["student_id"], (0.0, 0.0))
        total[r["student_id"]] = (got + float(r["score"]), most + float(r["max_score"]))
    assert len(rows) == 3 * len(ASSIGNMENTS), "one grades.csv row per student and assignment"
    ada, ben, cam = total["ada"], total["ben"], total["cam"]
    assert ada[0] == ada[1] > 0, f"ada answered everything correctly but scored {ada}"
    assert 0 < ben[0] < ben[1], f"ben's half-done work should get partial credit, got {ben}"
    assert cam[0] == 0, f"cam submitted nothing answered but scored {cam}"
    for student in ("ada", "ben", "cam"):
        for assignment in ASSIGNMENTS[:3]:
            page = out / "feedback" / student / assignment / f"{assignment}.html"
            assert page.is_file(), f"no feedback for {student}/{assignment}"
    with open(out / "cells.csv", newline="") as f:
        cells = list(csv.DictReader(f))
    assert {
        r["message"]
        for r in cells
        if r["student_id"] == "cam" and r["assignment"] == "ex06_batchnorm_relu"
    } == {"no submission"}
