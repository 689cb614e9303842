"""Grade one submission: the student's cells run in the sandbox, each test cell here.

A test cell's code comes from the solution notebook (hidden tests included), never from
the student's copy, and runs in this (the grader's) process with the setup cell's names;
it reaches the student's work only through `@answers` functions, which run in the sandbox
and return data (see docs/AUTHORING.md). Points come from the solution notebook too. So
nothing the student's code does in its own process (monkeypatching torch, overriding
`__eq__`, editing test cells, points or metadata) can change a verdict.
"""

import ast
import builtins
import contextlib
import copy
import hashlib
import io
import random
import time
import types
from dataclasses import dataclass, field
from functools import cache

import nbformat
import numpy as np
import torch
import torch.testing._comparison

from autograder.course import EXERCISES, SOLUTIONS, notebook
from autograder.engine.client import AnswerFailed, ZygoteClient
from autograder.engine.config import Config
from autograder.engine.faults import SandboxFault, StudentFault
from autograder.engine.result import Result
from autograder.messages import bound, detect_language
from autograder.messages import text as message
from autograder.restore import restore
from autograder.submissions import grade_id

# Test cells compare with torch.testing.assert_close, whose first call imports
# torch.distributed.tensor (0.8 s per grading process) only to unwrap DTensors. Values reach
# this process through the data codec, which never makes one, so that step is skipped.
if hasattr(torch.testing._comparison, "_HAS_DTENSOR"):
    torch.testing._comparison._HAS_DTENSOR = False


@dataclass
class Spec:
    """What grading needs from the course's own notebooks, for one assignment."""

    assignment: str
    tests: dict[str, tuple[str, float]]  # grade_id -> (source with hidden tests, points)
    locked: dict[str, str]  # grade_id -> released source of locked code cells (setup)
    setup: str
    released: object = field(repr=False)
    # Each edition's released notebook, by language (the English one is `released`): a
    # submission is lined up (restored) against its own edition's cells.
    editions: dict = field(default_factory=dict, repr=False)


@cache
def spec(assignment: str) -> Spec:
    solution = nbformat.read(notebook(SOLUTIONS, assignment), as_version=4)
    released = nbformat.read(notebook(EXERCISES, assignment), as_version=4)
    tests = {
        grade_id(c): (c.source, float(c.metadata["nbgrader"].get("points", 0)))
        for c in solution.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }
    locked = {
        grade_id(c): c.source
        for c in released.cells
        if c.cell_type == "code"
        and c.metadata.get("nbgrader", {}).get("locked")
        and grade_id(c) not in tests
    }
    editions = {"en": released}
    ja = notebook(EXERCISES / "ja", assignment)
    if ja.is_file():
        editions["ja"] = nbformat.read(ja, as_version=4)
    return Spec(assignment, tests, locked, locked.get("setup", ""), released, editions)


def _function_source(cell_source: str, fn) -> str:
    """The `def` of an `@answers` function, without its decorator, from the test cell's source."""
    return _function_source_at(cell_source, fn.__name__, fn.__code__.co_firstlineno)


# The test cells are the same for every student: what is read from them is read once per process.
@cache
def _function_source_at(cell_source: str, name: str, first: int) -> str:
    for node in ast.walk(ast.parse(cell_source)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            lines = {node.lineno, *(d.lineno for d in node.decorator_list)}
            if first in lines:
                node.decorator_list = []
                return ast.unparse(node)
    raise RuntimeError(f"test bug: cannot find the source of @answers function {name}")


@cache
def _names_used(source: str) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name))


@cache
def _compiled(source: str, filename: str):
    return compile(source, filename, "exec")


def submitted_code(nb, spec_: Spec, files: dict[str, bytes]) -> dict[str, str]:
    """The student's own code as the grader read it from the submission (never from their process):
    each answer cell's source by grade_id (unlabelled cells as "cell N"), and each .py file beside it."""
    code = {}
    for index, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if cell.cell_type == "code" and gid not in spec_.tests and gid not in spec_.locked:
            code[gid or f"cell {index}"] = cell.source
    for name, data in files.items():
        if name.endswith(".py"):
            code[name] = data.decode("utf-8", errors="replace")
    return code


HIDDEN = "### BEGIN HIDDEN TESTS"


class StudentText(str):
    """A string from the student's side, as a hidden test sees it: it compares as itself but
    prints as a placeholder, so a hidden test's message never quotes what the student sent."""

    def __str__(self):
        return "<text from your code>"

    __repr__ = __str__

    def __format__(self, spec):
        return format(str(self), spec)


def _unquotable(value):
    if isinstance(value, str):
        return StudentText(value)
    if type(value) in (list, tuple):
        return type(value)(_unquotable(v) for v in value)
    if type(value) is dict:
        return {k: _unquotable(v) for k, v in value.items()}
    return value


def _exception_name(ename: str) -> str:
    """The name of a built-in exception, else nothing the student chose."""
    is_builtin = isinstance(getattr(builtins, ename, None), type) and issubclass(
        getattr(builtins, ename), BaseException
    )
    return ename if is_builtin else "an exception"


# The values of `@reference` functions, computed once per grading process (so once per
# worker for a whole class) and keyed by the test cell's source: what every submission of
# the class is compared against.
_REFERENCES: dict[tuple[str, str, str], object] = {}


def reference_value(key: tuple[str, str, str], fn, setup: dict):
    """`fn()` as a test cell's `@reference` sees it: run once, with the setup cell's names only
    (so that nothing of the student's can reach a value every student is compared against),
    without touching the random state the rest of the cell sees; each test gets its own copy."""
    if key not in _REFERENCES:
        code = fn.__code__
        if code.co_argcount or code.co_kwonlyargcount or fn.__closure__:
            raise TypeError(f"test bug: @reference function {fn.__name__} takes no arguments")
        pure = types.FunctionType(code, dict(setup), fn.__name__)
        states = (torch.random.get_rng_state(), np.random.get_state(), random.getstate())
        try:
            torch.manual_seed(0)
            _REFERENCES[key] = pure()
        finally:
            torch.random.set_rng_state(states[0])
            np.random.set_state(states[1])
            random.setstate(states[2])
    return copy.deepcopy(_REFERENCES[key])


class BudgetSpent(Exception):
    """The submission's wall-clock budget is used up."""


class Clock:
    """The submission's budget: every exchange with its child gets at most what is left."""

    def __init__(self, config: Config):
        self.config = config
        self.deadline = time.monotonic() + config.budget_s

    def timeout(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0.05:
            raise BudgetSpent
        return min(self.config.cell_timeout_s, left)


class TestRun:
    """Runs the test cells of one submission against its child (which may be replaced)."""

    def __init__(
        self,
        spec_: Spec,
        child_ref,
        clock: Clock,
        code: dict[str, str] | None = None,
        language: str = "en",
    ):
        self.spec = spec_
        self.language = language
        self.child_ref = child_ref  # a callable returning the current Child (new after a crash)
        self.clock = clock
        self.setup_ns = {"__name__": "__grader__"}
        exec(_compiled(spec_.setup, "<setup>"), self.setup_ns)
        self.trusted_setup = dict(self.setup_ns)  # what @reference functions see
        code = code or {}

        def student_code(*names: str) -> str:
            """The submitted source of the named answer cells / files (all of it when none named)."""
            return "\n\n".join(code.get(n, "") for n in (names or code))

        # Grader-side tools for test cells that check a task's rules (see docs/AUTHORING.md).
        from autograder.engine import rules

        # Messages in the submission's language, hidden tests' included (autograder/messages).
        self.setup_ns.update(student_code=student_code, rules=rules, msg=bound(language))

    def run(self, test_id: str) -> tuple[bool, str]:
        source, _ = self.spec.tests[test_id]
        torch.manual_seed(0)
        np.random.seed(0)
        random.seed(0)
        ns = dict(self.setup_ns)
        own = set(self.setup_ns)
        hidden = [False]

        def answers(fn):
            body = _function_source(source, fn)
            values = {}
            for name in _names_used(body) - own:
                if (
                    name in ns
                    and not isinstance(ns[name], types.ModuleType)
                    and not hasattr(builtins, name)
                ):
                    values[name] = ns[name]
            data = self.child_ref().answers(body, fn.__name__, values, self.clock.timeout())
            return _unquotable(data) if hidden[0] else data

        digest = hashlib.sha256(source.encode()).hexdigest()

        def reference(fn):
            key = (self.spec.assignment, test_id, f"{fn.__name__} {digest}")
            return reference_value(key, fn, self.trusted_setup)

        ns["answers"] = answers
        ns["reference"] = reference
        # The visible part, then the hidden part (compiled at its own line numbers, so that
        # `_function_source` finds its @answers functions in the whole cell).
        visible, mark, rest = source.partition(HIDDEN)
        parts = [(visible, False)] + (
            [("\n" * visible.count("\n") + mark + rest, True)] if mark else []
        )
        try:
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                for part, is_hidden in parts:
                    hidden[0] = is_hidden
                    exec(_compiled(part, f"<test {test_id}>"), ns)
        except (StudentFault, SandboxFault, BudgetSpent):
            raise
        except AnswerFailed as err:
            if hidden[0]:
                return False, message(
                    self.language, "engine.hidden_raised", ename=_exception_name(err.ename)
                )
            return False, str(err)
        except BaseException as err:  # a failed assert, or anything else the test raised
            return False, f"{type(err).__name__}: {err}"
        return True, "passed"


def plan(submission, spec_: Spec) -> list[tuple[str, str, str]]:
    """The cells to run, in the student's order: ("student", label, source) or ("test", id, "")."""
    steps, seen = [], set()
    for index, cell in enumerate(submission.cells):
        if cell.cell_type != "code":
            continue
        gid = grade_id(cell)
        if gid in spec_.tests:
            if gid not in seen:
                steps.append(("test", gid, ""))
                seen.add(gid)
        elif gid in spec_.locked:
            steps.append(("student", gid, spec_.locked[gid]))  # locked cells run as released
        else:
            steps.append(("student", gid or f"cell {index}", cell.source))
    return steps


def grade_submission(
    client: ZygoteClient,
    student: str,
    assignment: str,
    nb,
    files: dict[str, bytes],
    config: Config,
    notes: list[str] | None = None,
) -> Result:
    """Grade one submission notebook (restored here); SandboxFault if the sandbox fails."""
    spec_ = spec(assignment)
    language = detect_language(nb)  # from the notebook as submitted, before any repair
    say = bound(language)
    edition = spec_.editions.get(language, spec_.released)
    notes = [*(notes or []), *restore(nb, edition)]
    steps = plan(nb, spec_)
    started = time.perf_counter()
    clock = Clock(config)
    state = {"child": None, "restarts": 0}
    done_ok: list[tuple[str, str]] = []
    outputs: dict[str, str] = {}
    verdicts: dict[str, tuple[bool, str]] = {}
    tests = TestRun(
        spec_, lambda: state["child"], clock, submitted_code(nb, spec_, files), language
    )
    missing: list[str] = []

    def new_child() -> None:
        try:
            state["child"] = client.new_child(files, clock.timeout())
        except StudentFault as err:  # a child that cannot even start is the sandbox's fault
            raise SandboxFault(f"a child could not be started: {err.reason}") from None
        missing[:] = state["child"].missing_limits

    def restart() -> bool:
        state["restarts"] += 1
        if state["restarts"] > config.max_restarts:
            return False
        new_child()
        for label, source in done_ok:  # replay what worked, so later tests see the same state
            try:
                state["child"].exec(source, label, clock.timeout())
            except StudentFault:
                return False
        return True

    stop = None  # why the remaining steps are not run
    try:
        new_child()
        for kind, label, source in steps:
            if stop:
                break
            try:
                if kind == "student":
                    try:
                        reply = state["child"].exec(source, label, clock.timeout())
                    except StudentFault as err:
                        outputs[label] = say("engine.kernel_died_in_cell", reason=err.reason)
                        notes.append(say("engine.cell_crashed", label=label, reason=err.reason))
                        if not restart():
                            stop = say("engine.too_many_crashes")
                        continue
                    text = reply["output"]
                    if not reply["ok"]:
                        text += f"{reply['ename']}: {reply['evalue']}\n"
                    else:
                        done_ok.append((label, source))
                    outputs[label] = text[: config.output_keep]
                else:
                    try:
                        verdicts[label] = tests.run(label)
                    except StudentFault as err:
                        verdicts[label] = (False, say("engine.crashed_in_test", reason=err.reason))
                        if not restart():
                            stop = say("engine.too_many_crashes")
            except BudgetSpent:
                stop = say("engine.budget_not_graded", budget=f"{config.budget_s:g}")
                notes.append(
                    say(
                        "engine.budget_used_at",
                        budget=f"{config.budget_s:g}",
                        kind=say(f"engine.kind_{kind}"),
                        label=label,
                    )
                )
    except BudgetSpent:
        stop = say("engine.budget_not_graded", budget=f"{config.budget_s:g}")
        notes.append(say("engine.budget_used_before", budget=f"{config.budget_s:g}"))
    finally:
        if state["child"] is not None:
            state["child"].end()
    cells = []
    for test_id, (_, points) in spec_.tests.items():
        ok, verdict = verdicts.get(test_id, (False, stop or say("engine.test_missing")))
        cells.append(
            {
                "cell": test_id,
                "score": points if ok else 0.0,
                "max_score": points,
                "message": verdict,
            }
        )
    return Result(
        student,
        assignment,
        cells,
        outputs,
        notes,
        missing,
        round(time.perf_counter() - started, 3),
    )
