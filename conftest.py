"""pytest configuration shared by every test run (see pyproject.toml for options)."""

import os

from tools.course_config import EXECUTION_ENV

# nbval's kernels inherit this process's environment: the same as `make notebooks` uses.
os.environ.update(EXECUTION_ENV)
