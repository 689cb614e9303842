"""`make release`: regenerate the student notebooks in exercises/ from solutions/ with nbgrader.

A solution notebook is the one bilingual source of its exercise (docs/AUTHORING.md,
"Languages"): English markdown cells, each with its Japanese twin (`metadata.language`),
shared code. First the sources are tidied in place: badge and metadata, and the setup cell's
`MESSAGES` block, rewritten from autograder/messages for the keys its visible tests name.
nbgrader's generate_assignment then strips solutions and hidden tests, and each generated
notebook is split into its two editions (tools.editions): the English one at
exercises/<a>/<a>.ipynb, the Japanese one at exercises/ja/<a>/<a>.ipynb. Each keeps only its
language's markdown, sets `COURSE_LANGUAGE`, gets its own Open-in-Colab badge, and the
Japanese edition's markdown cells take back the grade ids of the English ones (`header_ja` ->
`header`), so both editions have the same grade ids and are collected and graded alike.
Running it twice gives the same files.
"""

import argparse
import copy
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbgrader.utils import compute_checksum

from autograder.course import ASSIGNMENTS, EXERCISES, SOLUTIONS, notebook
from autograder.messages import visible_keys, with_messages
from autograder.nbgrader_cli import nbgrader
from tools.editions import LANGUAGES, SOURCE_METADATA, set_course_language, split
from tools.notebook_hygiene import normalise

JA_SUFFIX = "_ja"  # a Japanese markdown cell's grade id in the source: its twin's, plus this


def edition_path(target: Path, assignment: str, language: str) -> Path:
    """exercises/<a>/<a>.ipynb (en) or exercises/ja/<a>/<a>.ipynb, under `target`."""
    return notebook(target if language == "en" else target / language, assignment)


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _language_metadata(nb) -> list[dict]:
    return [{k: c.metadata[k] for k in SOURCE_METADATA if k in c.metadata} for c in nb.cells]


def edition(generated, source, assignment: str, language: str):
    """`language`'s edition of a generated (bilingual) student notebook. The language tags
    come from the source, cell by cell (generate_assignment keeps the cells in order)."""
    nb = copy.deepcopy(generated)
    for cell, tags in zip(nb.cells, _language_metadata(source), strict=True):
        cell.metadata.update(tags)
    nb = split(nb, language)
    set_course_language(nb, language)
    # The ja edition's relative links start one folder deeper than the source's.
    for cell in nb.cells:
        if language != "en" and cell.cell_type == "markdown":
            cell.source = cell.source.replace("](../../", "](../../../")
        meta = _nbgrader(cell)
        if meta.get("grade_id", "").endswith(JA_SUFFIX):
            meta["grade_id"] = meta["grade_id"][: -len(JA_SUFFIX)]
        if "checksum" in meta:
            meta["checksum"] = compute_checksum(cell)
    # Judge the badge by where the notebook will live, not where it is staged.
    normalise(nb, edition_path(EXERCISES, assignment, language))
    return nb


def release(target: Path = EXERCISES) -> None:
    """Write both editions of every assignment under `target` (English) and `target`/ja."""
    missing = [a for a in ASSIGNMENTS if not notebook(SOLUTIONS, a).is_file()]
    if missing:
        raise SystemExit(f"error: no solution notebook for {missing} under {SOLUTIONS}")
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "release"
        nbgrader("generate_assignment", "*", "--force", "--no-db", root=Path(tmp), release=staged)
        for assignment in ASSIGNMENTS:
            path = notebook(staged, assignment)
            generated = nbformat.read(path, as_version=4)
            source = nbformat.read(notebook(SOLUTIONS, assignment), as_version=4)
            for language in LANGUAGES:
                out = edition_path(target, assignment, language)
                shutil.rmtree(out.parent, ignore_errors=True)
                shutil.copytree(staged / assignment, out.parent)
                nbformat.write(edition(generated, source, assignment, language), out)


def tidy(nb, path: Path) -> None:
    """A solution notebook as `make release` keeps it: badge, metadata (its language tags
    kept) and the setup cell's messages (autograder/messages) rewritten."""
    tags = _language_metadata(nb)
    normalise(nb, path)
    for cell, kept in zip(nb.cells[-len(tags) :], tags, strict=True):
        cell.metadata.update(kept)
    keys = visible_keys(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and _nbgrader(cell).get("grade_id") == "setup":
            if "def msg(" in cell.source:
                cell.source = with_messages(cell.source, keys)


def tidy_sources() -> None:
    """Rewrite the solution notebooks' badges, metadata and messages in place (the source step)."""
    for assignment in ASSIGNMENTS:
        path = notebook(SOLUTIONS, assignment)
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        tidy(nb, path)
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
    print(f"released {len(ASSIGNMENTS)} assignments in {len(LANGUAGES)} languages to {args.to}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
