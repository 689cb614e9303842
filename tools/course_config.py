"""The course's settings, read from pyproject.toml's [tool.course] table, and its paths."""

import re
import tomllib
from pathlib import Path

# The folders, the order of the course and the lesson -> exercise pairing live in one list,
# autograder/course.py's COURSE; they are re-exported here for the tools.
from autograder.course import (  # noqa: F401
    ASSIGNMENTS,
    COURSE,
    EXERCISES,
    LESSON_EXERCISES,
    LESSONS,
    ROOT,
    SOLUTIONS,
)

COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_PREFIX = "[![Open In Colab]"


def settings() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["course"]


def colab_url(notebook: Path) -> str:
    """The Colab address that opens `notebook` (a path inside the repository)."""
    cfg = settings()
    rel = Path(notebook).resolve().relative_to(ROOT).as_posix()
    return (
        f"https://colab.research.google.com/github/{cfg['github_repo']}/blob/{cfg['branch']}/{rel}"
    )


RAW_URL = re.compile(r"https://raw\.githubusercontent\.com/[^/\s\"']+/[^/\s\"']+/[^/\s\"']+/")


def raw_base() -> str:
    """Where Colab fetches repository files from (setup cells), ending in '/'."""
    cfg = settings()
    return f"https://raw.githubusercontent.com/{cfg['github_repo']}/{cfg['branch']}/"


def colab_badge(notebook: Path) -> str:
    """The markdown of the Open-in-Colab badge, the first cell of every notebook."""
    return f"{BADGE_PREFIX}({COLAB_BADGE_IMAGE})]({colab_url(notebook)})"


# Environment for executing lessons, both when storing outputs (make notebooks) and when
# nbval compares them (make test): one BLAS thread and fixed hashing, so that printed numbers
# are identical run to run. MPLBACKEND is cleared so the kernel uses its inline backend.
EXECUTION_ENV = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "",
}
