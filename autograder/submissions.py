"""Build student submissions from the released exercises: for the demo class and the tests.

A submission is the released notebook with some solution cells filled in, as a
student would leave it after typing answers and saving.
"""

import re
from pathlib import Path

import nbformat

from autograder.course import EXERCISES, SOLUTIONS, notebook

SOLUTION_REGION = re.compile(
    r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.S | re.M
)


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_solution(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution")) and cell.cell_type == "code"


def reference_answers(assignment: str) -> dict[str, str]:
    """Each solution cell's answer as a student would type it: the code between the markers."""
    nb = nbformat.read(notebook(SOLUTIONS, assignment), as_version=4)
    answers = {}
    for cell in nb.cells:
        if is_solution(cell):
            source = SOLUTION_REGION.sub(lambda m: m.group(1), cell.source)
            answers[grade_id(cell)] = source.strip() + "\n"
    return answers


def released(assignment: str):
    return nbformat.read(notebook(EXERCISES, assignment), as_version=4)


def filled(assignment: str, answers: dict[str, str]):
    """The released notebook with `answers` (grade_id -> source) typed into its solution cells."""
    nb = released(assignment)
    unknown = set(answers) - {grade_id(c) for c in nb.cells if is_solution(c)}
    if unknown:
        raise KeyError(f"{assignment} has no solution cells named {sorted(unknown)}")
    for cell in nb.cells:
        if is_solution(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def write_submission(root: Path, student: str, assignment: str, nb, files=None) -> Path:
    """Write `nb` (and any extra files) as DIR/<student>/<assignment>/<assignment>.ipynb."""
    folder = root / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    nbformat.write(nb, path)
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return path
