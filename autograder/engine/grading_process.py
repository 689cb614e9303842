"""What each process of a grading pool does: own one zygote, grade submissions with it.

The grader's heavy modules (the runner with torch, the feedback renderer with nbconvert and
nbgrader) are imported inside the functions, after the zygote has been started, so that both
import at once: the service's workers import them themselves (`init_worker`); the class
driver imports them once (`import_grader`) and forks its workers (`adopt`).
"""

import atexit
from pathlib import Path

from autograder.collect import Submission, Unreadable, read_submission
from autograder.engine.client import ZygoteClient
from autograder.engine.config import Config
from autograder.engine.faults import SandboxFault
from autograder.engine.result import Result
from autograder.engine.sandbox import launch

_state = {}


def failed_result(student: str, assignment: str, why: str) -> Result:
    from autograder.engine.runner import spec

    return Result.failed(student, assignment, spec(assignment).tests, why)


def _next_index(counter) -> int:
    """This worker's number in its pool (0, 1, ...): its zygote, and its children's uids."""
    with counter.get_lock():
        counter.value += 1
        return counter.value - 1


def init_worker(counter, out: str, config: Config) -> None:
    """The initializer of each process of the service's (spawned) pool: a zygote of its own."""
    how = launch(config)
    client = ZygoteClient(_next_index(counter), how, config, wait=False)
    atexit.register(how.cleanup)
    atexit.register(client.close)  # runs first: the zygote stops, then its files go
    import_grader()  # while the zygote starts
    client.wait_ready()
    use(client, Path(out), config)


def import_grader() -> None:
    """Import what grading needs (before forking workers that share it)."""
    import autograder.engine.feedback_html  # noqa: F401
    import autograder.engine.runner  # noqa: F401
    import autograder.exchange  # noqa: F401
    import autograder.merge  # noqa: F401


def adopt(counter, clients: list[ZygoteClient], out: Path, config: Config) -> None:
    """The initializer of each process forked by the class driver: the next of its zygotes."""
    client = clients[_next_index(counter)]
    client.wait_ready()
    use(client, out, config)


def use(client: ZygoteClient, out: Path, config: Config) -> None:
    """Grade with `client`'s zygote into `out` (the pool's processes, or the driver itself)."""
    import torch

    # The test cells' own tensors are small, and there is a grading process per core: more
    # threads only spin against the other processes (OpenMP waits busily), as the zygote's
    # children already run on one.
    torch.set_num_threads(1)
    _state.update(client=client, out=Path(out), config=config)


def grade_one(sub: Submission) -> dict:
    """Grade one submission; whatever happens, return a result (a fault never stops the class)."""
    from autograder.engine.runner import grade_submission
    from autograder.merge import unanswered

    config, client = _state["config"], _state["client"]
    try:
        nb, files, notes = read_submission(sub)
    except Unreadable as err:  # changed since it was collected (a link swapped in, say)
        return failed_result(sub.student, sub.assignment, f"{err}; scored 0").to_dict()
    if sub.notebook.name != f"{sub.assignment}.ipynb":
        notes.insert(
            0, f"notebook named {sub.notebook.name}, expected {sub.assignment}.ipynb; graded anyway"
        )
    for _attempt in range(2):
        try:
            result = grade_submission(client, sub.student, sub.assignment, nb, files, config, notes)
            break
        except SandboxFault as err:  # the sandbox itself failed: start it afresh, try once more
            client.start()
            why = f"could not be graded: the grading sandbox failed ({err})"
            result = failed_result(sub.student, sub.assignment, why)
        except Exception as err:  # a grading bug must not stop the class; it is reported
            why = f"could not be graded: internal error {type(err).__name__}: {err}"
            result = failed_result(sub.student, sub.assignment, why)
            break
    result = result.to_dict()
    result["unanswered"] = unanswered(nb)  # answer cells left as released: "No response."
    write_feedback(_state["out"], result, nb, sub.folder)
    return result


def write_feedback(out: Path, result: dict, nb, folder: Path | None = None) -> None:
    """The feedback page, and beside it what `nbgrader release_feedback` reads.

    timestamp.txt and submission_secret.txt come from the graded submission's `folder` (by
    default the one `nbgrader collect` wrote, out/submitted/<student>/<assignment>/). They are
    the student's side of the exchange: read without following links, kept only when they are
    what nbgrader's submit writes, and removed when the submission has none.
    """
    from autograder.engine.feedback_html import render
    from autograder.engine.runner import spec
    from autograder.exchange import read_small, valid_secret, valid_timestamp

    student, assignment = result["student"], result["assignment"]
    page = out / "feedback" / student / assignment / f"{assignment}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render(student, assignment, nb, spec(assignment).tests, result))
    submitted = folder or out / "submitted" / student / assignment
    for name, valid in (
        ("timestamp.txt", valid_timestamp),
        ("submission_secret.txt", valid_secret),
    ):
        text = read_small(submitted, name) if submitted.is_dir() else None
        if text is not None and valid(text):
            (page.parent / name).write_text(text)
        else:
            (page.parent / name).unlink(missing_ok=True)
