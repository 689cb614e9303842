"""Run nbgrader's command line against the course configuration, with per-run overrides."""

import os
import subprocess
import sys
from pathlib import Path

from autograder.course import ROOT


def nbgrader(*args: str, root: Path | None = None, release: Path | None = None, check=True):
    """Run `nbgrader ARGS` from the repository root (where nbgrader_config.py lives).

    `root` moves the whole grading course (gradebook, submitted, autograded, feedback)
    elsewhere, for tests; `release` redirects generate_assignment's output so that
    grading never rewrites the committed exercises/.
    """
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        # nbgrader zeroes a test cell that wrote to stderr; a warning is not a failure.
        "PYTHONWARNINGS": "ignore",
        # Student code and tests run with one thread each: steadier timings, same results.
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    cmd = [str(Path(bindir) / "nbgrader"), *args]
    if root is not None:
        cmd += [
            f"--CourseDirectory.root={root}",
            f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}",
        ]
    if release is not None:
        cmd.append(f"--CourseDirectory.release_directory={release}")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{proc.stderr}")
    return proc
