"""Facts about the course's lessons and assignments, in one place for release, grading and tools."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
GRADING = ROOT / "grading"
CACHE = ROOT / ".cache"  # what is built once per checkout from solutions/ (never committed)
DEMO_SUBMISSIONS = ROOT / "autograder" / "demo_submissions"

# The course, in order from simple to complex: lesson N (lessons/<lesson>.ipynb) and its
# exercise N (solutions/<assignment>/<assignment>.ipynb, released to exercises/). This is the
# only list of the order and the pairing; everything else derives from it.
COURSE = [
    ("01_conv1d", "ex01_conv1d"),
    ("02_conv2d", "ex02_conv2d"),
    ("03_linear", "ex03_linear"),
    ("04_batchnorm_relu", "ex04_batchnorm_relu"),
    ("05_building_a_model", "ex05_model"),
    ("06_conv_from_scratch", "ex06_conv_from_scratch"),
]

ASSIGNMENTS = [assignment for _, assignment in COURSE]
LESSON_EXERCISES = dict(COURSE)  # lesson name -> its exercise's assignment


def notebook(folder: Path, assignment: str) -> Path:
    return folder / assignment / f"{assignment}.ipynb"
