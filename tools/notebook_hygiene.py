"""Notebook hygiene: the checks nbval cannot make, and the normalisation that passes them.

    python -m tools.notebook_hygiene            # check every notebook and the README, exit 1 on problems

A notebook with no stored outputs passes nbval without checking anything, so a
lesson must be fully executed (counts 1..N in order). Solution and exercise
notebooks are stored without outputs: nbgrader executes them itself.

A lesson's last cell ends with a link to its exercise and that exercise's Colab badge
(written by `normalise`, so by `make notebooks`), and its header links to the README's
sources section, as every exercise's header does. The lessons, their exercises and the
pairing come from one list, `COURSE` in autograder/course.py. Student-facing text never
names a source by its internal number or file name ("seed 004", "document 000",
"003_c42573a8848ca86e.txt"): sources are cited by title and author in the README's
"## Sources" section.
"""

import os
import re
import sys
from pathlib import Path

import nbformat

from tools.course_config import (
    BADGE_PREFIX,
    EXERCISES,
    LESSON_EXERCISES,
    LESSONS,
    RAW_URL,
    ROOT,
    SOLUTIONS,
    colab_badge,
    raw_base,
)
from tools.editions import (
    EXERCISE_MARKERS,
    SOURCE_METADATA,
    edition_folder,
    exercise_line,
    is_lesson_source,
    language_of,
)

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
NOTEBOOK_METADATA = {"kernelspec", "language_info"}
# nbgrader and JupyterLab keep `deletable`/`editable` on locked cells.
CELL_METADATA = {"tags", "nbgrader", "deletable", "editable"}
ALLOWED_ERROR_TAG = "raises-exception"
FIX = "run `make notebooks` (lessons) or `make release` (exercises)"

README = ROOT / "README.md"
SOURCES_HEADING = "## Sources"
SOURCES_LINK = "](../README.md#sources)"  # every lesson's header cell links there
EXERCISE_SOURCES_LINK = "](../../README.md#sources)"  # and every exercise's, one folder deeper

EXERCISE_MARKER = "**Exercise:**"  # where the generated end of a lesson's last cell begins

# Internal names of the source documents, which students must never see: "seed 004",
# "document 000", "source document 003", "documents 002 and 004", or a seed file name.
SOURCE_NUMBER = re.compile(
    r"\b(?:seeds?|documents?)\s+00\d\b|\b00\d_[0-9a-f]{16}\b", flags=re.IGNORECASE
)
# Where student-facing text is checked for them (the README is always checked).
CITATION_CHECKED = [LESSONS, EXERCISES, SOLUTIONS]


def all_notebooks() -> list[Path]:
    return sorted(
        p
        for folder in (LESSONS, SOLUTIONS, EXERCISES)
        for p in folder.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
        and not is_lesson_source(p)  # bilingual sources: tests/test_editions.py checks them
    )


def is_lesson(path: Path) -> bool:
    return LESSONS in Path(path).resolve().parents


def exercise_of(lesson: Path) -> Path | None:
    """The exercise notebook that `lesson` leads to, or None for a lesson not in the table."""
    name = LESSON_EXERCISES.get(Path(lesson).stem)
    folder = edition_folder(EXERCISES, language_of(lesson))  # the lesson's language
    return folder / name / f"{name}.ipynb" if name else None


def exercise_block(lesson: Path) -> str:
    """The end of a lesson's last cell: a link JupyterLab opens and the Colab badge.

    The relative link works in JupyterLab and on GitHub; it does not resolve in Colab,
    hence the badge, whose address comes from pyproject.toml like every other badge.
    """
    exercise = exercise_of(lesson)
    link = Path(os.path.relpath(exercise, Path(lesson).resolve().parent)).as_posix()
    return exercise_line(language_of(lesson), exercise.stem, link, colab_badge(exercise))


def sources_link(lesson: Path) -> str:
    """What a lesson's header links to: the README's sources, relative to the lesson."""
    return f"]({Path(os.path.relpath(README, Path(lesson).resolve().parent)).as_posix()}#sources)"


def _with_exercise_block(nb, lesson: Path) -> None:
    block = exercise_block(lesson)
    last = nb.cells[-1] if nb.cells else None
    if last is None or last.cell_type != "markdown":
        nb.cells.append(nbformat.v4.new_markdown_cell(block))
        return
    head, marker, _ = last.source.rpartition(EXERCISE_MARKERS[language_of(lesson)])
    kept = head if marker else last.source
    last.source = f"{kept.rstrip()}\n\n{block}" if kept.strip() else block


def normalise(nb, path: Path) -> None:
    """Rewrite the badges and drop metadata that editors and executors add."""
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
    }
    badge = colab_badge(path)
    first = nb.cells[0] if nb.cells else None
    if (
        first is not None
        and first.cell_type == "markdown"
        and first.source.startswith(BADGE_PREFIX)
    ):
        first.source = badge
    else:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(badge))
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in CELL_METADATA}
        if cell.cell_type == "code":  # files fetched on Colab come from the configured repository
            cell.source = RAW_URL.sub(raw_base(), cell.source)
    if is_lesson(path) and exercise_of(path) is not None:
        _with_exercise_block(nb, path)


def student_texts(nb):
    """(cell index, text) for everything a student reads: sources and stored outputs."""
    for i, cell in enumerate(nb.cells):
        yield i, cell.source
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                yield i, out.text
            elif out.output_type == "error":
                yield i, f"{out.ename}: {out.evalue}"
            else:
                yield i, str(out.get("data", {}).get("text/plain", ""))


def source_number_problems(text: str, where: str = "") -> list[str]:
    prefix = f"{where}: " if where else ""
    return [
        f"{prefix}names a source by its internal name {m.group(0)!r}; cite it by title "
        f"and author (README.md, {SOURCES_HEADING})"
        for m in SOURCE_NUMBER.finditer(text)
    ]


def is_exercise(path: Path) -> bool:
    parents = Path(path).resolve().parents
    return EXERCISES in parents or SOLUTIONS in parents


def is_citation_checked(path: Path) -> bool:
    return any(folder in Path(path).resolve().parents for folder in CITATION_CHECKED)


def readme_problems(path: Path = README) -> list[str]:
    text = path.read_text(encoding="utf-8")
    out = source_number_problems(text)
    if f"\n{SOURCES_HEADING}\n" not in text:
        out.append(f"has no {SOURCES_HEADING!r} section, which every lesson links to")
    return out


def problems(path: Path, location: Path | None = None) -> list[str]:
    """Everything wrong with one notebook, as messages that say what to do.

    `location` is where in the repository the notebook is judged to live (its badge
    URL and whether lesson rules apply); it defaults to `path` itself.
    """
    location = location or path
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # any unreadable notebook is one problem, not a crash
        return [f"not a valid notebook ({err}); restore it with git checkout"]
    out = []
    spec = nb.metadata.get("kernelspec", {})
    if spec.get("name") != "python3":
        out.append(f"kernelspec is {spec.get('name')!r}, expected 'python3'")
    extra = set(nb.metadata) - NOTEBOOK_METADATA
    if extra:
        out.append(f"stray notebook metadata {sorted(extra)}; {FIX}")
    if not nb.cells or nb.cells[0].source != colab_badge(location):
        out.append(
            "cell 0 must be the Open-in-Colab badge from pyproject.toml; run `make notebooks`"
        )
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        for url in RAW_URL.findall(cell.source):
            if url != raw_base():
                out.append(f"fetches from {url}, not the configured repository {raw_base()}; {FIX}")
    # A solution notebook is also its exercise's bilingual source (tools.editions).
    allowed = CELL_METADATA | (
        SOURCE_METADATA if SOLUTIONS in location.resolve().parents else set()
    )
    for i, cell in enumerate(nb.cells):
        extra = set(cell.metadata) - allowed
        if extra:
            out.append(f"cell {i}: stray metadata {sorted(extra)}")
    if is_citation_checked(location):
        for i, text in student_texts(nb):
            out += source_number_problems(text, f"cell {i}")
    if is_lesson(location):
        exercise = exercise_of(location)
        if exercise is None:
            out.append(f"no exercise for lesson {location.stem} in COURSE (autograder/course.py)")
        elif nb.cells[-1].cell_type != "markdown" or not nb.cells[-1].source.endswith(
            exercise_block(location)
        ):
            out.append(
                f"the last cell must end with the link to {exercise.stem} and its Colab "
                "badge; run `make notebooks`"
            )
        header = nb.cells[1].source if len(nb.cells) > 1 else ""
        if sources_link(location) not in header:
            out.append(f"cell 1 must link to the README's sources ({sources_link(location)[1:]})")
        counts = [c.execution_count for c in code]
        if counts != list(range(1, len(code) + 1)):
            out.append(
                f"execution counts are {counts}, expected 1..{len(code)}; run `make notebooks`"
            )
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            tagged = ALLOWED_ERROR_TAG in cell.metadata.get("tags", [])
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if errors and not tagged:
                out.append(f"cell {i}: stores an error but is not tagged {ALLOWED_ERROR_TAG}")
            if tagged and not errors:
                out.append(f"cell {i}: tagged {ALLOWED_ERROR_TAG} but stores no error")
            if any(o.output_type == "stream" and o.name == "stderr" for o in cell.outputs):
                # Warnings quote machine paths and differ between versions: fix their cause.
                out.append(f"cell {i}: stores stderr output (a warning?); fix what causes it")
    else:
        header = nb.cells[1].source if len(nb.cells) > 1 else ""
        if is_exercise(location) and sources_link(location) not in header:
            out.append(f"cell 1 must link to the README's sources ({sources_link(location)[1:]})")
        for i, cell in enumerate(code):
            if cell.outputs or cell.execution_count is not None:
                out.append(f"code cell {i}: stored outputs; nbgrader notebooks are kept clean")
    return out


def main(argv=None) -> int:
    paths = [Path(p) for p in (argv or sys.argv[1:])] or all_notebooks()
    bad = 0
    for path in paths:
        for msg in problems(path):
            bad += 1
            print(f"{path.resolve().relative_to(ROOT)}: {msg}")
    for msg in readme_problems():
        bad += 1
        print(f"README.md: {msg}")
    print(f"notebook hygiene: {len(paths)} notebooks and the README, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
