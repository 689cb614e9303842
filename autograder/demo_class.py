"""Regenerate the bundled demo class in autograder/demo_submissions/ from the released exercises.

    python -m autograder.demo_class

Three students show the whole range a new instructor will meet:
- ada answered everything correctly (ex05_model through the optional models.py route);
- ben answered the first half of each notebook's cells and left the rest;
- cam opened three exercises, saved them unanswered, and submitted nothing else.
"""

import shutil
import sys

from autograder.course import ASSIGNMENTS, DEMO_SUBMISSIONS
from autograder.submissions import filled, reference_answers, write_submission

MODEL = "ex05_model"  # the assignment with the optional models.py
MODELS_ROUTE = "from models import ExerciseModel\n"


def models_py() -> str:
    """ada's models.py: the reference ExerciseModel moved into its own module."""
    lines = reference_answers(MODEL)["exercise_model"].splitlines(keepends=True)
    while lines and lines[0].startswith("#"):  # the cell's instructions, not ada's code
        lines.pop(0)
    answer = "".join(lines)
    header = '"""ExerciseModel, imported by the notebook."""\n\nfrom torch import nn\n\n\n'
    return header + answer


def build() -> None:
    shutil.rmtree(DEMO_SUBMISSIONS, ignore_errors=True)
    for assignment in ASSIGNMENTS:
        answers = reference_answers(assignment)
        files = None
        if assignment == MODEL:
            answers = {**answers, "exercise_model": MODELS_ROUTE}
            files = {"models.py": models_py()}
        write_submission(DEMO_SUBMISSIONS, "ada", assignment, filled(assignment, answers), files)
        half = dict(list(reference_answers(assignment).items())[: max(1, len(answers) // 2)])
        write_submission(DEMO_SUBMISSIONS, "ben", assignment, filled(assignment, half))
    for assignment in ASSIGNMENTS[:3]:
        write_submission(DEMO_SUBMISSIONS, "cam", assignment, filled(assignment, {}))


if __name__ == "__main__":
    build()
    print(f"wrote the demo class to {DEMO_SUBMISSIONS}")
    sys.exit(0)
