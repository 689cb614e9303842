"""The longest test files are scheduled first (conftest.py): the list names real files."""

import conftest
from autograder.course import ROOT


def test_the_longest_first_files_exist():
    missing = [p for p in conftest.LONGEST_FIRST if not (ROOT / p).is_file()]
    assert not missing, f"conftest.LONGEST_FIRST names files that do not exist: {missing}"
