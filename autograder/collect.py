"""Find the submissions in a folder laid out as nbgrader's submitted/ step.

    DIR/<student_id>/<assignment>/<assignment>.ipynb   (plus any files beside it)

Problems with one submission (an unknown assignment folder, a renamed or broken
notebook) are reported and never stop the others.
"""

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course import ASSIGNMENTS


@dataclass
class Submission:
    student: str
    assignment: str
    folder: Path
    notebook: Path  # the file to grade (may differ from <assignment>.ipynb when renamed)


@dataclass
class Collected:
    submissions: list[Submission] = field(default_factory=list)
    students: list[str] = field(default_factory=list)
    # (student, assignment or folder name, what is wrong): shown to the instructor and in cells.csv
    problems: list[tuple[str, str, str]] = field(default_factory=list)


def _visible(path: Path) -> bool:
    return not path.name.startswith((".", "_"))


def collect(root: Path) -> Collected:
    if not root.is_dir():
        raise SystemExit(
            f"error: submissions folder {root} does not exist; give a folder laid out as "
            "DIR/<student_id>/<assignment>/<assignment>.ipynb"
        )
    found = Collected()
    for student_dir in sorted(p for p in root.iterdir() if p.is_dir() and _visible(p)):
        student = student_dir.name
        found.students.append(student)
        for folder in sorted(p for p in student_dir.iterdir() if p.is_dir() and _visible(p)):
            if folder.name not in ASSIGNMENTS:
                found.problems.append(
                    (
                        student,
                        folder.name,
                        f"unknown assignment folder; expected one of {ASSIGNMENTS}",
                    )
                )
                continue
            notebook = _pick_notebook(student, folder, found.problems)
            if notebook is not None:
                found.submissions.append(Submission(student, folder.name, folder, notebook))
    if not found.students:
        raise SystemExit(
            f"error: {root} holds no student folders; expected "
            "DIR/<student_id>/<assignment>/<assignment>.ipynb"
        )
    return found


def _pick_notebook(student: str, folder: Path, problems: list) -> Path | None:
    assignment = folder.name
    expected = folder / f"{assignment}.ipynb"
    notebooks = sorted(p for p in folder.glob("*.ipynb") if _visible(p))
    if expected.is_file():
        path = expected
    elif len(notebooks) == 1:
        path = notebooks[0]
        problems.append(
            (
                student,
                assignment,
                f"notebook named {path.name}, expected {expected.name}; graded anyway",
            )
        )
    else:
        names = [p.name for p in notebooks] or "none"
        problems.append(
            (student, assignment, f"no {expected.name} (notebooks found: {names}); scored 0")
        )
        return None
    try:
        nbformat.read(path, as_version=4)
    except Exception as err:  # empty file, not JSON, not a notebook
        problems.append(
            (student, assignment, f"{path.name} is not a valid notebook ({err}); scored 0")
        )
        return None
    return path
