"""`make grade` with no arguments grades the bundled demo class: full, partial and empty work.

Grading the same class again, in shards merged afterwards, gives exactly the grades of the
first run: grading is deterministic and sharding changes nothing.
"""

import csv

import pytest

from autograder.course import ASSIGNMENTS, DEMO_SUBMISSIONS
from autograder.grade_class import grade_class
from autograder.merge import merge

# make check grades one shared class (test_grading.py); this second one runs in make test
pytestmark = pytest.mark.slow


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "grading"
    done = grade_class(DEMO_SUBMISSIONS, out, quiet=True)
    # 18 notebooks: graded in this process, since a second worker would cost more than it saves
    assert done["workers"] == 1, done["workers"]
    return out


def test_demo_class_grades_full_partial_and_empty(demo):
    rows = read(demo / "grades.csv")
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
            page = demo / "feedback" / student / assignment / f"{assignment}.html"
            assert page.is_file(), f"no feedback for {student}/{assignment}"
    cells = read(demo / "cells.csv")
    last = ASSIGNMENTS[-1]  # cam opened only the first three exercises
    cam_last = {r["message"] for r in cells if r["student_id"] == "cam" and r["assignment"] == last}
    assert cam_last == {"no submission"}


def test_grading_again_in_shards_gives_identical_results(demo, tmp_path):
    """A second grading of the class, in two shards merged afterwards, gives the first run's
    grades.csv and cells.csv byte for byte (the Slurm and Kubernetes tests shard a class too)."""
    shards = [tmp_path / f"shard{i}" for i in range(2)]
    for i, out in enumerate(shards):
        grade_class(DEMO_SUBMISSIONS, out, shard=(i, 2), quiet=True)
        assert not (out / "grades.csv").exists(), "a shard must not merge on its own"
    merged = tmp_path / "merged"
    merge([out / "results" for out in shards], merged, quiet=True)
    assert (merged / "cells.csv").read_bytes() == (demo / "cells.csv").read_bytes()
    assert (merged / "grades.csv").read_bytes() == (demo / "grades.csv").read_bytes()
    assert (merged / "gradebook.db").is_file()
