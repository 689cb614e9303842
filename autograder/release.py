"""`make release`: regenerate the student notebooks in exercises/ from solutions/ with nbgrader.

nbgrader's generate_assignment strips solutions and hidden tests; afterwards each
released notebook gets its own Open-in-Colab badge (nbgrader copied the solution's).
Running it twice gives the same files.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder.course import ASSIGNMENTS, EXERCISES, SOLUTIONS, notebook
from autograder.nbgrader_cli import nbgrader
from tools.notebook_hygiene import normalise


def release(target: Path = EXERCISES) -> None:
    """Write the student version of every assignment under `target`."""
    missing = [a for a in ASSIGNMENTS if not notebook(SOLUTIONS, a).is_file()]
    if missing:
        raise SystemExit(f"error: no solution notebook for {missing} under {SOLUTIONS}")
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "release"
        nbgrader("generate_assignment", "*", "--force", "--no-db", root=Path(tmp), release=staged)
        for assignment in ASSIGNMENTS:
            path = notebook(staged, assignment)
            nb = nbformat.read(path, as_version=4)
            # Judge the badge by where the notebook will live, not where it is staged.
            normalise(nb, notebook(EXERCISES, assignment))
            nbformat.write(nb, path)
            shutil.rmtree(target / assignment, ignore_errors=True)
            shutil.copytree(staged / assignment, target / assignment)


def tidy_sources() -> None:
    """Rewrite the solution notebooks' badges and metadata in place (the source step)."""
    for assignment in ASSIGNMENTS:
        path = notebook(SOLUTIONS, assignment)
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        normalise(nb, path)
        if nbformat.writes(nb) != before:
            nbformat.write(nb, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--to", type=Path, default=EXERCISES, help="output folder (default exercises/)"
    )
    args = parser.parse_args(argv)
    tidy_sources()
    release(args.to)
    print(f"released {len(ASSIGNMENTS)} assignments to {args.to}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
