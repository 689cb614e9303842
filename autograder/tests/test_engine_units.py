"""Unit tests at each seam of the engine: frames, replies, the relay, the plan, @answers sources,
@reference values."""

import json
import struct
import uuid

import nbformat
import pytest
import torch

from autograder.engine.client import AnswerFailed, ZygoteClient
from autograder.engine.config import Config
from autograder.engine.faults import StudentFault
from autograder.engine.protocol import OPS, FrameReader, ProtocolError, check, frame
from autograder.engine.runner import (
    BudgetSpent,
    Clock,
    Spec,
    StudentText,
    _exception_name,
    _function_source,
    _unquotable,
    plan,
    reference_value,
    spec,
)
from autograder.engine.sandbox import launch

# ---- frames ---------------------------------------------------------------------------------


def test_frames_split_anywhere_come_out_whole():
    raw = frame({"op": "end", "id": 1}) + frame({"op": "end", "id": 2}, b"xyz")
    reader, got = FrameReader(), []
    for i in range(len(raw)):
        got += reader.feed(raw[i : i + 1])
    assert got == [({"op": "end", "id": 1}, b""), ({"op": "end", "id": 2}, b"xyz")]
    assert not reader.partial


@pytest.mark.parametrize(
    "raw",
    [
        struct.pack("!II", 1 << 30, 0),  # too large
        struct.pack("!II", 3, 0) + b"{{{",  # not JSON
        struct.pack("!II", 3, 0) + b"[1]",  # not an object
    ],
)
def test_bad_frames_are_refused(raw):
    with pytest.raises(ProtocolError):
        FrameReader().feed(raw)


# ---- the table of ops -----------------------------------------------------------------------

GOOD = {"op": "done", "id": 3, "ok": True, "output": "", "ename": "", "evalue": ""}


def test_a_reply_that_fits_the_table_passes():
    assert check(dict(GOOD), "child") == GOOD


@pytest.mark.parametrize(
    "header, sender",
    [
        ({**GOOD, "output": [1]}, "child"),  # a field of the wrong type
        ({**GOOD, "id": True}, "child"),  # a bool is not an id
        ({**GOOD, "extra": 1}, "child"),  # a field the table does not have
        ({k: v for k, v in GOOD.items() if k != "ok"}, "child"),  # a missing field
        ({"op": "ended", "id": 1, "exit_code": 0, "reason": ""}, "child"),  # only the zygote
        ({"op": "started", "id": 1, "missing_limits": []}, "child"),
        ({"op": "nonsense"}, "child"),
        ([1], "child"),
        (GOOD, "zygote"),
    ],
)
def test_a_frame_off_the_table_is_refused(header, sender):
    with pytest.raises(ProtocolError) as err:
        check(header, sender)
    assert "nonsense" not in str(err.value), "messages never quote what the sender sent"


def test_every_request_names_a_reply_from_the_other_side():
    for op, (sender, _, reply) in OPS.items():
        if sender == "grader":
            assert reply in OPS and OPS[reply][0] in ("zygote", "child"), op


# ---- the relay, with a real zygote ----------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    config = Config(cell_timeout_s=10)
    how = launch(config)
    zygote = ZygoteClient(0, how, config)
    yield zygote
    zygote.close()
    how.cleanup()


FORGE = (
    "import json, os, struct\n"
    "b = json.dumps({HEADER}).encode()\n"
    "for fd in range(3, 64):\n"
    "    try:\n"
    "        os.write(fd, struct.pack('!II', len(b), 0) + b)\n"
    "    except OSError:\n"
    "        pass\n"
)


@pytest.mark.parametrize(
    "header",
    [
        {"op": "ended", "id": 99, "exit_code": 0, "reason": "forged"},
        {"op": "done", "id": 99, "ok": True, "output": "", "ename": "", "evalue": ""},
        {"op": "done", "id": 2, "ok": True, "output": [1], "ename": "", "evalue": ""},
    ],
)
def test_a_child_that_forges_a_frame_is_ended_and_the_next_is_fresh(client, header):
    child = client.new_child({}, 10)
    child.exec("secret = 42", "a", 10)
    with pytest.raises(StudentFault) as err:
        child.exec(FORGE.replace("{HEADER}", repr(header)), "b", 10)
        child.exec("print('still here')", "c", 10)
    assert "did not ask for" in err.value.reason or "malformed" in err.value.reason
    fresh = client.new_child({}, 10)
    reply = fresh.exec("print('secret' in dir())", "d", 10)
    assert reply["output"] == "False\n"
    fresh.end()


def test_output_after_a_long_output_is_kept(client):
    child = client.new_child({}, 10)
    first = child.exec("print('x' * 10000)", "a", 10)
    second = child.exec("print('after')", "b", 10)
    child.end()
    assert len(first["output"]) == Config().output_keep
    assert second["output"] == "after\n"


def test_a_slow_cell_is_ended_at_its_deadline(client):
    child = client.new_child({}, 10)
    with pytest.raises(StudentFault) as err:
        child.exec("import time\ntime.sleep(30)", "a", 1.5)
    assert "time limit" in err.value.reason
    assert client.new_child({}, 10).exec("print(1)", "b", 10)["output"] == "1\n"


def test_a_child_imports_nothing_heavy_for_the_watchers_and_backward(client):
    """What a child imports that its zygote has not, every child pays again: ex04's kernel
    watcher (the setup's WATCH_BUILTINS) must not bring torch._dynamo (2 s), and a backward given
    its gradient must find sympy already imported by the zygote."""
    child = client.new_child({}, 60)
    child.exec(spec("ex04_batchnorm_relu").setup, "setup", 60)
    heavy = child.answers(
        "def loaded():\n"
        "    import sys\n"
        "    before = set(sys.modules)\n"
        "    scope = {}\n"
        "    exec(WATCH_BUILTINS, scope)\n"
        "    with scope['Watch'](FORBIDDEN) as watch:\n"
        "        y = torch.ones(3, requires_grad=True) * 2\n"
        "    y.backward(torch.ones(3))\n"
        "    new = set(sys.modules) - before\n"
        "    return sorted(m for m in ('torch._dynamo', 'sympy') if m in new)\n",
        "loaded",
        {},
        60,
    )
    child.end()
    assert heavy == [], f"a child imported {heavy} (see zygote.preload and ex04's Watch)"


def test_answers_return_data_and_failures(client):
    child = client.new_child({}, 10)
    child.exec("def f(x):\n    return x * 2\n", "a", 10)
    assert child.answers("def got():\n    return f(v)\n", "got", {"v": 21}, 10) == 42
    with pytest.raises(AnswerFailed) as err:
        child.answers("def got():\n    return f(None)\n", "got", {}, 10)
    assert err.value.ename == "TypeError"
    with pytest.raises(AnswerFailed) as err:
        child.answers("def got():\n    return object()\n", "got", {}, 10)
    assert err.value.ename == "AnswerNotData"
    child.end()


# ---- the grader's side of a test cell --------------------------------------------------------


def test_the_source_of_an_answers_function_is_found_in_its_cell():
    source = "x = 1\n\n@answers\ndef got():\n    return x\n\n\ndef other():\n    return 2\n"
    ns = {"answers": lambda fn: fn}
    exec(compile(source, "<test>", "exec"), ns)
    assert _function_source(source, ns["got"]) == "def got():\n    return x"


def test_strings_from_the_student_print_as_a_placeholder_in_hidden_tests():
    data = _unquotable({"a": ["secret", 1], "b": ("x",)})
    assert data["a"][0] == "secret" and isinstance(data["a"][0], StudentText)
    assert f"{data['a'][0]}" == "<text from your code>" and "secret" not in repr(data)
    assert _exception_name("ValueError") == "ValueError"
    assert _exception_name("<script>") == "an exception"


def test_the_budget_bounds_every_exchange():
    clock = Clock(Config(cell_timeout_s=60, budget_s=2))
    assert clock.timeout() <= 2
    clock.deadline -= 10
    with pytest.raises(BudgetSpent):
        clock.timeout()


def test_the_plan_runs_cells_in_the_students_order_with_locked_cells_as_released():
    spec = Spec(
        "a", {"test_x": ("assert True", 1.0)}, {"setup": "import torch"}, "import torch", None
    )
    cells = [
        nbformat.v4.new_markdown_cell("# hi"),
        nbformat.v4.new_code_cell(
            "import os  # edited", metadata={"nbgrader": {"grade_id": "setup"}}
        ),
        nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "x"}}),
        nbformat.v4.new_code_cell("print(x)"),
        nbformat.v4.new_code_cell("junk", metadata={"nbgrader": {"grade_id": "test_x"}}),
        nbformat.v4.new_code_cell("junk", metadata={"nbgrader": {"grade_id": "test_x"}}),
    ]
    steps = plan(nbformat.v4.new_notebook(cells=cells), spec)
    assert steps == [
        ("student", "setup", "import torch"),
        ("student", "x", "x = 1"),
        ("student", "cell 3", "print(x)"),
        ("test", "test_x", ""),
    ]
    assert json.dumps(steps)


# ---- @reference: once per grading process, from the setup's names only -----------------------


def _defined(source: str, names: dict):
    """A function defined the way a test cell defines it: its globals are the cell's names."""
    ns = dict(names)
    exec(source, ns)
    return ns["f"]


def test_a_reference_is_computed_once_and_each_test_gets_its_own_copy():
    calls = []
    setup = {"calls": calls, "torch": torch}
    key = ("ex", "test_x", uuid.uuid4().hex)
    fn = _defined("def f():\n    calls.append(1)\n    return {'grid': [1, 2, 3]}\n", setup)
    first = reference_value(key, fn, setup)
    first["grid"].append(99)  # a test that changes what it got changes only its own copy
    assert reference_value(key, fn, setup) == {"grid": [1, 2, 3]}
    assert calls == [1]


def test_a_reference_sees_the_setup_names_only_never_the_cells():
    # In a test cell, names bound after an @answers call may come from the student's side.
    fn = _defined("def f():\n    return student_value * 2\n", {"student_value": 21})
    with pytest.raises(NameError, match="student_value"):
        reference_value(("ex", "test_x", uuid.uuid4().hex), fn, {"torch": torch})
    with pytest.raises(TypeError, match="takes no arguments"):
        reference_value(
            ("ex", "t", uuid.uuid4().hex), _defined("def f(a):\n    return a\n", {}), {}
        )


def test_a_reference_leaves_the_random_state_of_the_test_as_it_was():
    setup = {"torch": torch}
    key = ("ex", "test_x", uuid.uuid4().hex)
    fn = _defined("def f():\n    return torch.rand(3)\n", setup)
    torch.manual_seed(5)
    reference_value(key, fn, setup)  # computed here
    after_miss = torch.rand(2)
    torch.manual_seed(5)
    reference_value(key, fn, setup)  # taken from the cache
    assert torch.equal(torch.rand(2), after_miss)
