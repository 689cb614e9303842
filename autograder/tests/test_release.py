"""exercises/ and exercises/ja/ are exactly what `make release` generates from solutions/."""

import filecmp

import nbformat

from autograder.course import ASSIGNMENTS, EXERCISES, SOLUTIONS, notebook
from autograder.release import edition_path, release, tidy
from tools.editions import LANGUAGES


def test_exercises_are_up_to_date(tmp_path):
    release(tmp_path)
    for language in LANGUAGES:
        for assignment in ASSIGNMENTS:
            fresh = edition_path(tmp_path, assignment, language).parent
            committed = edition_path(EXERCISES, assignment, language).parent
            where = committed.relative_to(EXERCISES.parent)
            assert committed.is_dir(), f"{where} is missing; run `make release`"
            fresh_files = sorted(p.name for p in fresh.iterdir())
            committed_files = sorted(p.name for p in committed.iterdir())
            assert fresh_files == committed_files, f"{where} is stale; run `make release`"
            for name in fresh_files:
                if name.endswith(".ipynb"):
                    same = nbformat.read(fresh / name, 4) == nbformat.read(committed / name, 4)
                else:
                    same = filecmp.cmp(fresh / name, committed / name, shallow=False)
                assert same, f"{where}/{name} is stale; run `make release`"


def test_solution_sources_are_tidy():
    """The sources' badges and setup messages are what `make release` writes."""
    for assignment in ASSIGNMENTS:
        path = notebook(SOLUTIONS, assignment)
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        tidy(nb, path)
        assert nbformat.writes(nb) == before, f"{path.name} is not tidy; run `make release`"


def test_released_notebooks_hold_no_solutions_or_hidden_tests():
    for language in LANGUAGES:
        for assignment in ASSIGNMENTS:
            text = edition_path(EXERCISES, assignment, language).read_text()
            for marker in (
                "BEGIN SOLUTION",
                "END SOLUTION",
                "BEGIN HIDDEN TESTS",
                "END HIDDEN TESTS",
            ):
                assert marker not in text, (
                    f"{language}/{assignment}: released notebook still contains {marker!r}"
                )
            assert "raise NotImplementedError" in text
