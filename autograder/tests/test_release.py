"""exercises/ is exactly what `make release` generates from solutions/."""

import filecmp

import nbformat

from autograder.course import ASSIGNMENTS, EXERCISES, notebook
from autograder.release import release


def test_exercises_are_up_to_date(tmp_path):
    release(tmp_path)
    for assignment in ASSIGNMENTS:
        fresh, committed = tmp_path / assignment, EXERCISES / assignment
        assert committed.is_dir(), f"exercises/{assignment} is missing; run `make release`"
        fresh_files = sorted(p.name for p in fresh.iterdir())
        committed_files = sorted(p.name for p in committed.iterdir())
        assert fresh_files == committed_files, (
            f"exercises/{assignment} is stale; run `make release`"
        )
        for name in fresh_files:
            if name.endswith(".ipynb"):
                same = nbformat.read(fresh / name, 4) == nbformat.read(committed / name, 4)
            else:
                same = filecmp.cmp(fresh / name, committed / name, shallow=False)
            assert same, f"exercises/{assignment}/{name} is stale; run `make release`"


def test_released_notebooks_hold_no_solutions_or_hidden_tests():
    for assignment in ASSIGNMENTS:
        text = notebook(EXERCISES, assignment).read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{assignment}: released notebook still contains {marker!r}"
        assert "raise NotImplementedError" in text
