"""What each grading process does: own one sandboxed worker, grade submissions with it."""

import atexit
from pathlib import Path

import nbformat

from autograder.engine.feedback_html import render
from autograder.engine.runner import grade_submission, spec
from autograder.engine.sandbox import Limits, launch, warning
from autograder.engine.session import Worker

MAX_EXTRA_FILE = 1 << 20  # files beside a notebook (models.py) are small
_state = {}


def sandbox_status() -> str | None:
    """The warning to print when grading cannot be sandboxed here (None when it can)."""
    probe = launch()
    return None if probe.isolated else warning(probe)


def init_worker(counter, out: str) -> None:
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    _state["worker"] = Worker(index, launch(), Limits())
    _state["out"] = Path(out)
    atexit.register(_state["worker"].close)


def extra_files(folder: Path, notebook: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(folder.iterdir()):
        if (
            path.is_file()
            and path != notebook
            and path.suffix != ".ipynb"
            and path.stat().st_size <= MAX_EXTRA_FILE
        ):
            files[path.name] = path.read_bytes()
    return files


def grade_one(student: str, assignment: str, folder: str, notebook: str) -> dict:
    folder_, notebook_ = Path(folder), Path(notebook)
    nb = nbformat.read(notebook_, as_version=4)
    result = grade_submission(_state["worker"], assignment, nb, extra_files(folder_, notebook_))
    result["student"] = student
    if notebook_.name != f"{assignment}.ipynb":
        result["notes"].insert(
            0, f"notebook named {notebook_.name}, expected {assignment}.ipynb; graded anyway"
        )
    page = _state["out"] / "feedback" / student / assignment / f"{assignment}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render(student, assignment, nb, spec(assignment).tests, result))
    return result
