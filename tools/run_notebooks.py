"""Execute the lessons and write both editions, with fresh, deterministic stored outputs.

    python -m tools.run_notebooks                         # every lesson
    python -m tools.run_notebooks lessons/01_conv1d.ipynb # one lesson (source or either edition)

A lesson lives once, in its bilingual source `lessons/src/NN_topic.ipynb` (tools/editions.py).
Each source runs once, top to bottom, in a fresh `python3` kernel started in `lessons/`, so
execution counts are 1..N; then it is split into the English edition `lessons/NN_topic.ipynb`
and the Japanese one `lessons/ja/NN_topic.ipynb`, which share the code cells and their outputs
(printed strings and plot labels are English in both). The source itself is stored without
outputs. Timing metadata is not recorded, each edition's Open-in-Colab badge (cell 0) and the
link to its exercise with that exercise's badge (the end of the last cell) are rewritten from
pyproject.toml by tools.notebook_hygiene.normalise, and metadata is trimmed to what the hygiene
check allows. A cell that raises fails the run unless it is tagged `raises-exception`.

Any other notebook given (not a lesson) is executed in place, as before.
"""

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

from tools.course_config import EXECUTION_ENV, LESSONS, ROOT
from tools.editions import (
    LANGUAGES,
    SOURCE_METADATA,
    is_lesson_source,
    lesson_edition,
    lesson_source,
    lesson_sources,
    split,
    strip_generated,
)
from tools.notebook_hygiene import CELL_METADATA, KERNELSPEC, is_lesson, normalise

TIMEOUT_PER_CELL_S = 300


def _run(nb, folder: Path) -> float:
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_PER_CELL_S,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(folder)}},
    )
    start = time.perf_counter()
    client.execute(env={**os.environ, **EXECUTION_ENV})
    return time.perf_counter() - start


def _coalesced(nb):
    # A print can arrive as several stream messages under load; merge them so the
    # stored file is the same on every run.
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    return nb


def clean_source(nb) -> None:
    """A lesson source as stored: no outputs, no generated exercise line, trimmed metadata."""
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    strip_generated(nb)
    allowed = CELL_METADATA | SOURCE_METADATA
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in allowed}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None


def editions_of(source_nb) -> dict:
    """{language: (path-independent) edition} of an executed or clean source."""
    return {lang: split(source_nb, lang) for lang in LANGUAGES}


def execute_lesson(source: Path) -> float:
    """Run one lesson source and write its two editions (and the cleaned source)."""
    nb = nbformat.read(source, as_version=4)
    clean_source(nb)
    executed = copy.deepcopy(nb)
    elapsed = _run(executed, LESSONS)
    executed = _coalesced(executed)
    for lang, edition in editions_of(executed).items():
        path = lesson_edition(source, lang)
        normalise(edition, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(edition, path)
    nbformat.write(nb, source)
    return elapsed


def execute_in_place(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    normalise(nb, path)
    elapsed = _run(nb, path.parent)
    nb = _coalesced(nb)
    normalise(nb, path)
    nbformat.write(nb, path)
    return elapsed


def _rel(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()


def targets(paths: list[Path]) -> list[Path]:
    """What to run for the given paths: a lesson's source for the source or either edition."""
    if not paths:
        return lesson_sources()
    out = []
    for path in paths:
        if is_lesson_source(path) or is_lesson(path):
            path = lesson_source(path)
        if path not in out:
            out.append(path)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every lesson")
    args = parser.parse_args(argv)
    failed = []
    for path in targets(args.notebooks):
        if not path.is_file():
            print(f"error: {path} does not exist; give paths like lessons/01_conv1d.ipynb")
            failed.append(path)
            continue
        try:
            if is_lesson_source(path):
                elapsed = execute_lesson(path)
                en, ja = (_rel(lesson_edition(path, lang)) for lang in LANGUAGES)
                print(f"{_rel(path)}: executed in {elapsed:.1f} s, wrote {en} and {ja}")
            else:
                elapsed = execute_in_place(path)
                print(f"{path}: executed in {elapsed:.1f} s")
        except CellExecutionError as err:
            # The files on disk are left untouched, so a failing run loses nothing.
            print(f"error: {path} raised in a cell not tagged raises-exception:\n{err}")
            failed.append(path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
