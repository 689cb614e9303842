"""The longest test files are scheduled first (conftest.py): the list names real files."""

from pathlib import Path

import conftest

REPO = Path(__file__).resolve().parent.parent


def test_the_longest_first_files_exist():
    missing = [p for p in conftest.LONGEST_FIRST if not (REPO / p).is_file()]
    assert not missing, f"conftest.LONGEST_FIRST names files that do not exist: {missing}"
