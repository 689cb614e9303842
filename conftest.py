"""pytest configuration shared by every test run (see pyproject.toml for options)."""

import os

from tools.course_config import EXECUTION_ENV

# nbval's kernels inherit this process's environment: the same as `make notebooks` uses.
os.environ.update(EXECUTION_ENV)

# nbval checks the English edition of each lesson only (`pytest --nbval lessons`): the bilingual
# sources (lessons/src, stored without outputs) and the Japanese edition (lessons/ja) share its
# code cells and outputs, which tests/test_editions.py proves.
collect_ignore = ["lessons/src", "lessons/ja"]
