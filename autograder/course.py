"""Facts about the course's assignments and folders, in one place for release and grading."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
GRADING = ROOT / "grading"
DEMO_SUBMISSIONS = ROOT / "autograder" / "demo_submissions"

# In course order; each is solutions/<name>/<name>.ipynb and exercises/<name>/<name>.ipynb.
ASSIGNMENTS = [
    "ex01_conv1d",
    "ex02_conv2d",
    "ex03_linear",
    "ex04_model",
    "ex05_conv_from_scratch",
    "ex06_batchnorm_relu",
]


def notebook(folder: Path, assignment: str) -> Path:
    return folder / assignment / f"{assignment}.ipynb"
