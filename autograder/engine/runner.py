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
import io
import os
import random
import time
import types
from dataclasses import dataclass, field
from functools import cache

import nbformat
import numpy as np
import torch

from autograder.course import EXERCISES, SOLUTIONS, notebook
from autograder.engine.session import Crashed, Worker
from autograder.restore import restore
from autograder.submissions import grade_id

# Wall-clock limit for one student cell or one @answers call (the CPU limit is in sandbox.Limits).
CELL_TIMEOUT_S = float(os.environ.get("GRADER_CELL_TIMEOUT_S", "60"))
MAX_RESTARTS = 3
OUTPUT_KEEP = 2000


@dataclass
class Spec:
    """What grading needs from the course's own notebooks, for one assignment."""

    assignment: str
    tests: dict[str, tuple[str, float]]  # grade_id -> (source with hidden tests, points)
    locked: dict[str, str]  # grade_id -> released source of locked code cells (setup)
    setup: str
    released: object = field(repr=False)


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
    return Spec(assignment, tests, locked, locked.get("setup", ""), released)


class AnswerFailed(Exception):
    """The student's side raised inside an `@answers` function; the message is theirs."""


def _function_source(cell_source: str, fn) -> str:
    """The `def` of an `@answers` function, without its decorator, from the test cell's source."""
    first = fn.__code__.co_firstlineno
    for node in ast.walk(ast.parse(cell_source)):
        if isinstance(node, ast.FunctionDef) and node.name == fn.__name__:
            lines = {node.lineno, *(d.lineno for d in node.decorator_list)}
            if first in lines:
                node.decorator_list = []
                return ast.unparse(node)
    raise RuntimeError(f"test bug: cannot find the source of @answers function {fn.__name__}")


def _names_used(source: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}


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


class TestRun:
    """Runs the test cells of one submission against one sandbox job."""

    def __init__(self, spec_: Spec, job_ref, code: dict[str, str] | None = None):
        self.spec = spec_
        self.job_ref = job_ref  # a callable returning the current Job (it changes after a crash)
        self.setup_ns = {"__name__": "__grader__"}
        exec(compile(spec_.setup, "<setup>", "exec"), self.setup_ns)
        code = code or {}

        def student_code(*names: str) -> str:
            """The submitted source of the named answer cells / files (all of it when none named)."""
            return "\n\n".join(code.get(n, "") for n in (names or code))

        # Grader-side tools for test cells that check a task's rules (see docs/AUTHORING.md).
        from autograder.engine import rules

        self.setup_ns.update(student_code=student_code, rules=rules)

    def run(self, test_id: str) -> tuple[bool, str]:
        source, _ = self.spec.tests[test_id]
        torch.manual_seed(0)
        np.random.seed(0)
        random.seed(0)
        ns = dict(self.setup_ns)
        own = set(self.setup_ns)

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
            reply, data = self.job_ref().answers(body, fn.__name__, values, CELL_TIMEOUT_S)
            if not reply.get("ok"):
                raise AnswerFailed(f"{reply.get('ename')}: {reply.get('evalue')}")
            return data

        ns["answers"] = answers
        try:
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                exec(compile(source, f"<test {test_id}>", "exec"), ns)
        except Crashed:
            raise
        except AnswerFailed as err:
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


def grade_submission(worker: Worker, assignment: str, nb, files: dict[str, bytes]) -> dict:
    """Grade one restored submission notebook; returns its result (scores, messages, outputs)."""
    spec_ = spec(assignment)
    notes = restore(nb, spec_.released)
    steps = plan(nb, spec_)
    started = time.perf_counter()
    state = {"job": worker.job(files), "restarts": 0}
    done_ok: list[tuple[str, str]] = []
    outputs: dict[str, str] = {}
    verdicts: dict[str, tuple[bool, str]] = {}
    tests = TestRun(spec_, lambda: state["job"], submitted_code(nb, spec_, files))

    def restart(reason: str) -> bool:
        state["restarts"] += 1
        if state["restarts"] > MAX_RESTARTS:
            return False
        state["job"] = worker.job(files)
        for label, source in done_ok:  # replay what worked, so later tests see the same state
            try:
                state["job"].exec(source, label, CELL_TIMEOUT_S)
            except Crashed:
                return False
        return True

    alive = True
    for kind, label, source in steps:
        if not alive:
            if kind == "test":
                verdicts[label] = (False, "not graded: your code crashed the kernel too many times")
            continue
        if kind == "student":
            try:
                reply = state["job"].exec(source, label, CELL_TIMEOUT_S)
            except Crashed as err:
                outputs[label] = f"The kernel died while running this cell: {err.reason}."
                notes.append(f"cell {label}: {err.reason}; later cells ran without it")
                alive = restart(err.reason)
                continue
            text = reply.get("output", "")
            if not reply.get("ok"):
                text += f"{reply.get('ename')}: {reply.get('evalue')}\n"
            else:
                done_ok.append((label, source))
            outputs[label] = text[:OUTPUT_KEEP]
        else:
            try:
                verdicts[label] = tests.run(label)
            except Crashed as err:
                verdicts[label] = (
                    False,
                    f"your code crashed the kernel during this test: {err.reason}",
                )
                alive = restart(err.reason)
    try:
        state["job"].close()
    except Crashed:
        pass
    cells = []
    for test_id, (_, points) in spec_.tests.items():
        ok, message = verdicts.get(test_id, (False, "test cell missing"))
        cells.append(
            {
                "cell": test_id,
                "score": points if ok else 0.0,
                "max_score": points,
                "message": message,
            }
        )
    return {
        "assignment": assignment,
        "cells": cells,
        "outputs": outputs,
        "notes": notes,
        "missing_limits": state["job"].missing_limits,
        "seconds": round(time.perf_counter() - started, 3),
    }
