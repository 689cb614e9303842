"""Re-execute notebooks in place so their stored outputs are fresh and deterministic.

    python -m tools.run_notebooks lessons/*.ipynb

Each notebook runs top to bottom in a fresh `python3` kernel started in its own
folder, so execution counts are 1..N. Timing metadata is not recorded, the
Open-in-Colab badge (cell 0) and, for a lesson, the link to its exercise with that
exercise's badge (the end of the last cell) are rewritten from pyproject.toml by
tools.notebook_hygiene.normalise, and metadata is trimmed to what the hygiene check
allows. A cell that raises fails the run unless it is tagged `raises-exception`.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

from tools.course_config import EXECUTION_ENV
from tools.notebook_hygiene import normalise

TIMEOUT_PER_CELL_S = 300


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    normalise(nb, path)
    env = {**os.environ, **EXECUTION_ENV}
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_PER_CELL_S,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute(env=env)
    elapsed = time.perf_counter() - start
    # A print can arrive as several stream messages under load; merge them so the
    # stored file is the same on every run.
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    normalise(nb, path)
    nbformat.write(nb, path)
    return elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    failed = []
    for path in args.notebooks:
        if not path.is_file():
            print(f"error: {path} does not exist; give paths like lessons/01_conv1d.ipynb")
            failed.append(path)
            continue
        try:
            elapsed = execute(path)
            print(f"{path}: executed in {elapsed:.1f} s")
        except CellExecutionError as err:
            # The file on disk is left untouched, so a failing run loses nothing.
            print(f"error: {path} raised in a cell not tagged raises-exception:\n{err}")
            failed.append(path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
