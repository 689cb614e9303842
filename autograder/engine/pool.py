"""What each grading process does: own one sandboxed worker, grade submissions with it."""

import atexit
from pathlib import Path

import nbformat

from autograder.engine.feedback_html import render
from autograder.engine.protocol import ProtocolError
from autograder.engine.runner import grade_submission, spec
from autograder.engine.sandbox import Limits, launch, warning
from autograder.engine.session import Crashed, Worker, WorkerDied


def failed_result(assignment: str, why: str) -> dict:
    """Every test of `assignment` scores 0 with the reason."""
    cells = [
        {"cell": cid, "score": 0.0, "max_score": points, "message": why}
        for cid, (_, points) in spec(assignment).tests.items()
    ]
    return {"assignment": assignment, "cells": cells, "outputs": {}, "notes": [why], "seconds": 0}


MAX_EXTRA_FILE = 1 << 20  # files beside a notebook (models.py) are small
_state = {}


def sandbox_status() -> str | None:
    """The warning to print when grading cannot be sandboxed here (None when it can)."""
    probe = launch()
    probe.cleanup()
    return None if probe.isolated else warning(probe)


def init_worker(counter, out: str) -> None:
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    how = launch()
    _state["worker"] = Worker(index, how, Limits(drop_uid=how.drop_uid))
    _state["out"] = Path(out)
    atexit.register(how.cleanup)
    atexit.register(_state["worker"].close)  # runs first: the worker stops, then its files go


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
    """Grade one submission; whatever happens, return a result (a fault never stops the class)."""
    folder_, notebook_ = Path(folder), Path(notebook)
    nb = nbformat.read(notebook_, as_version=4)
    worker = _state["worker"]
    sandbox_broke = (WorkerDied, ProtocolError, OSError, Crashed)
    for _attempt in range(2):
        try:
            result = grade_submission(worker, assignment, nb, extra_files(folder_, notebook_))
            break
        except sandbox_broke as err:  # the sandbox itself failed: start it afresh, try once more
            worker.start()
            why = f"could not be graded: the grading sandbox failed ({err})"
            result = failed_result(assignment, why)
        except Exception as err:  # a grading bug must not stop the class; it is reported
            why = f"could not be graded: internal error {type(err).__name__}: {err}"
            result = failed_result(assignment, why)
            break
    result["student"] = student
    if notebook_.name != f"{assignment}.ipynb":
        note = f"notebook named {notebook_.name}, expected {assignment}.ipynb; graded anyway"
        result["notes"].insert(0, note)
    page = _state["out"] / "feedback" / student / assignment / f"{assignment}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render(student, assignment, nb, spec(assignment).tests, result))
    return result
