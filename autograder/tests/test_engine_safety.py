"""The adversarial corpus: submissions that cheat, snoop or break things, graded in one run.

Each student below answers ex03_linear (a small, fast exercise). Tampering must never gain
points over the same wrong answer submitted honestly; snooping must find nothing; a fault
must cost only the tests it prevents. The fault sits in the `fc2` answer cell, so exactly
`test_fc2` is lost and the other tests keep their points.
"""

import json
import os
import secrets
import socket
import threading

import nbformat
import pytest

from autograder.course import ROOT, SOLUTIONS, notebook
from autograder.engine.sandbox import launch
from autograder.grade_class import grade_class
from autograder.submissions import filled, grade_id, reference_answers, write_submission
from autograder.tests.feedback_text import leaked_lines

A = "ex03_linear"
TOKEN = secrets.token_hex(4)
WRONG_FC1 = "fc1 = nn.Linear(1024, 256)\nout1 = fc1(x) * 2\n"

TAMPERING = {
    "patches_torch_numpy_builtins": """
import builtins, numpy, torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
numpy.allclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
builtins.AssertionError = type("Nothing", (Exception,), {})
""",
    "overrides_eq": """
class Liar(torch.Tensor):
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
out1 = out1.as_subclass(Liar)
""",
    "silences_output_and_tracebacks": """
import sys
sys.excepthook = lambda *a: None
sys.stdout = sys.stderr = None
""",
    "sabotages_answers": """
import torch
torch.save = lambda *a, **k: None
""",
    "redefines_answers_helper": """
def answers(fn):
    return {"shape": (32, 256)}
""",
}

FAULTS = {
    "infinite_loop": "while True:\n    pass\n",
    "sleeps_forever": "import time\ntime.sleep(10**6)\n",
    "os_exit": "import os\nos._exit(1)\n",
    "segfault": "import ctypes\nctypes.string_at(0)\n",
    "memory_bomb": "hog = []\nwhile True:\n    hog.append(bytearray(10**8))\n",
    "fork_bomb": "import os\nwhile True:\n    os.fork()\n",
    "million_lines": "for i in range(10**6):\n    print('spam', i)\n",
}

SNOOP_TARGETS = [
    str(notebook(SOLUTIONS, A)),
    "../../../solutions/ex03_linear/ex03_linear.ipynb",
    str(ROOT / "autograder" / "engine" / "runner.py"),
]


def snoop_cell(paths):
    return (
        "import os\n"
        f"for path in {paths!r}:\n"
        "    try:\n"
        "        print('READ', path, open(path).read()[:200])\n"
        "    except Exception as err:\n"
        "        print('DENIED', path, type(err).__name__)\n"
    )


def write_cell(paths):
    return (
        f"for path in {paths!r}:\n"
        "    try:\n"
        "        open(path, 'w').write('pwned')\n"
        "        print('WROTE', path)\n"
        "    except Exception as err:\n"
        "        print('DENIED', path, type(err).__name__)\n"
    )


def network_cell(port):
    return (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
        "    print('CONNECTED')\n"
        "except OSError as err:\n"
        "    print('NO NETWORK', type(err).__name__)\n"
    )


def add_cell(nb, source):
    """Put a student cell of their own just before the first test cell."""
    at = next(i for i, c in enumerate(nb.cells) if (grade_id(c) or "").startswith("test_"))
    nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    return nb


@pytest.fixture(scope="module")
def server():
    """A loopback TCP server that counts connections (none must arrive from the sandbox)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    hits = []
    sock.settimeout(0.5)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                hits.append(1)
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1], hits
    stop.set()
    thread.join()
    sock.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, server):
    if not launch().isolated and os.environ.get("CI"):
        pytest.fail("bubblewrap is required in CI: run `make sandbox-tools`")
    port, hits = server
    root = tmp_path_factory.mktemp("adversarial")
    subs, out = root / "submitted", root / "grading"
    ref = reference_answers(A)
    put = lambda student, nb, files=None: write_submission(subs, student, A, nb, files)  # noqa: E731
    put("reference", filled(A, ref))
    put("wrong", filled(A, {**ref, "fc1": WRONG_FC1}))
    for name, code in TAMPERING.items():
        put(f"tamper-{name}", add_cell(filled(A, {**ref, "fc1": WRONG_FC1}), code))
    edited = filled(A, {**ref, "fc1": WRONG_FC1})
    for cell in edited.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            cell.source = "print('all good')"
            meta["points"] = 100
    put("tamper-edits_tests_and_points", edited)
    deleted = filled(A, {**ref, "fc1": WRONG_FC1})
    deleted.cells = [c for c in deleted.cells if not (grade_id(c) or "").startswith("test_")]
    put("tamper-deletes_tests", deleted)
    renamed = filled(A, {**ref, "fc1": WRONG_FC1})
    for cell in renamed.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata["nbgrader"].update(grade=False, grade_id="mine_" + grade_id(cell))
    put("tamper-edits_metadata", renamed)
    for name, code in FAULTS.items():
        put(f"fault-{name}", filled(A, {**ref, "fc2": code}))
    other = subs / "reference" / A / f"{A}.ipynb"
    put(
        "snoop",
        add_cell(
            filled(A, ref), snoop_cell([*SNOOP_TARGETS, str(other), str(out / "gradebook.db")])
        ),
    )
    targets = [
        str(ROOT / f"pwned-{TOKEN}"),
        str(out / f"pwned-{TOKEN}"),
        str(subs / f"pwned-{TOKEN}"),
        f"/tmp/pwned-{TOKEN}",
    ]
    put("write", add_cell(filled(A, ref), write_cell(targets)))
    put("network", add_cell(filled(A, ref), network_cell(port)))
    put(
        "kills_grader",
        add_cell(
            filled(A, ref),
            "import os\nfor pid in (os.getppid(), 1):\n    try:\n        os.kill(pid, 9)\n    except OSError as err:\n        print('DENIED', type(err).__name__)\n",
        ),
    )

    os.environ["GRADER_CELL_TIMEOUT_S"] = "8"
    try:
        grade_class(subs, out, quiet=True)
    finally:
        del os.environ["GRADER_CELL_TIMEOUT_S"]
    results = {}
    for path in (out / "results").glob(f"*/{A}.json"):
        result = json.loads(path.read_text())
        results[result["student"]] = result
    return {"results": results, "out": out, "subs": subs, "targets": targets, "hits": hits}


def lost(result):
    return {c["cell"] for c in result["cells"] if c["score"] < c["max_score"]}


def score(result):
    return sum(c["score"] for c in result["cells"])


def test_reference_and_wrong_answers_grade_as_expected(graded):
    results = graded["results"]
    assert lost(results["reference"]) == set(), results["reference"]["cells"]
    assert lost(results["wrong"]), (
        "the wrong answer must lose points for the tampering tests to mean anything"
    )


@pytest.mark.parametrize(
    "name",
    [*TAMPERING, "edits_tests_and_points", "deletes_tests", "edits_metadata"],
)
def test_tampering_gains_nothing(graded, name):
    honest, tampered = graded["results"]["wrong"], graded["results"][f"tamper-{name}"]
    assert lost(tampered) >= lost(honest), f"{name} won back {lost(honest) - lost(tampered)}"
    assert score(tampered) <= score(honest)
    assert [c["max_score"] for c in tampered["cells"]] == [
        c["max_score"] for c in honest["cells"]
    ], "points changed"


@pytest.mark.parametrize("name", FAULTS)
def test_fault_costs_only_the_tests_it_prevents(graded, name):
    result = graded["results"][f"fault-{name}"]
    assert lost(result) == {"test_fc2"}, result["cells"]
    assert result["notes"] or "fc2" in result["outputs"], "the student is told what happened"


def _outputs(result):
    return "\n".join(result["outputs"].values())


def test_submission_cannot_read_solutions_grader_or_other_students(graded):
    text = _outputs(graded["results"]["snoop"])
    assert "READ" not in text, text
    assert text.count("DENIED") == len(SNOOP_TARGETS) + 2, text
    assert lost(graded["results"]["snoop"]) == set()


def test_submission_cannot_write_outside_its_scratch_space(graded):
    text = _outputs(graded["results"]["write"])
    for target in graded["targets"]:
        assert not os.path.exists(target), f"the sandbox wrote {target}"
    assert "DENIED" in text


def test_submission_has_no_network(graded):
    assert "NO NETWORK" in _outputs(graded["results"]["network"])
    assert graded["hits"] == [], "the sandbox reached a server on the grader's loopback"


def test_submission_cannot_kill_the_grader(graded):
    assert lost(graded["results"]["kills_grader"]) == set()
    assert _outputs(graded["results"]["kills_grader"]).count("DENIED") == 2


def test_feedback_never_shows_hidden_tests(graded):
    pages = list((graded["out"] / "feedback").glob(f"*/{A}/{A}.html"))
    assert len(pages) == len(graded["results"])
    for page in pages:
        assert not leaked_lines(page, A), page
