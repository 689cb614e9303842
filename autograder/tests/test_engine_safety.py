"""The adversarial corpus: submissions that cheat, snoop or break things, graded in one run.

Each student below answers ex03_linear (a small, fast exercise). Tampering must never gain
points over the same wrong answer submitted honestly; snooping must find nothing; a fault
must cost only the tests it prevents. The fault sits in the `fc2` answer cell, so exactly
`test_fc2` is lost and the other tests keep their points.

The class is graded with one worker, and every attacker `<name>` is followed by a victim
`<name>~victim` (the reference answer, plus a cell that looks at its scratch space): a victim
must keep full marks and find its /tmp and working folder empty, whatever the attacker did.
This module runs as root in `make test` and again as an ordinary user
(autograder/tests/test_unprivileged.py).
"""

import json
import os
import re
import secrets
import socket
import threading

import nbformat
import pytest

from autograder.course import ROOT, SOLUTIONS, notebook
from autograder.engine.config import Config
from autograder.engine.feedback_html import audit
from autograder.engine.sandbox import launch
from autograder.grade_class import grade_class
from autograder.submissions import filled, grade_id, reference_answers, write_submission
from autograder.tests.feedback_text import hidden_lines, leaked_lines

pytestmark = pytest.mark.slow  # see pyproject.toml: not in make check

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

# Frames a student cell writes on every file descriptor it has (the child's pipe among them).
_FRAME = (
    "import json, os, struct, threading\n"
    "def frame(h, body=None):\n"
    "    b = body if body is not None else json.dumps(h).encode()\n"
    "    return struct.pack('!II', len(b), 0) + b\n"
    "fds = [int(f) for f in os.listdir('/proc/self/fd') if int(f) > 2]\n"
)
ATTACKS = {
    # Answers every later request itself, forges "ended"/"started", keeps its process alive.
    "forged_frames": _FRAME
    + """
def hijack(fd_in, fd_out):
    buf = b""
    while True:
        chunk = os.read(fd_in, 1 << 16)
        if not chunk:
            return
        buf += chunk
        while len(buf) >= 8:
            nh, np_ = struct.unpack('!II', buf[:8])
            if len(buf) < 8 + nh + np_:
                break
            h = json.loads(buf[8:8 + nh]); buf = buf[8 + nh + np_:]
            for op in ("ended", "started", "ready", "done", "answer"):
                os.write(fd_out, frame({"op": op, "id": h.get("id", 0), "ok": False, "output": "",
                    "ename": "Hijacked", "evalue": "", "exit_code": 0, "reason": "bye",
                    "missing_limits": []}))
pipes = [fd for fd in fds if os.path.exists(f'/proc/self/fd/{fd}')
         and os.readlink(f'/proc/self/fd/{fd}').startswith('pipe:')]
for fd in pipes:
    try:
        os.write(fd, frame({"op": "ended", "id": 10**6, "exit_code": 0, "reason": "forged"}))
    except OSError:
        pass
threading.Thread(target=hijack, args=(min(pipes), max(pipes)), daemon=True).start()
""",
    "malformed_reply": _FRAME
    + """
for fd in fds:
    try:
        os.write(fd, frame({"op": "done", "id": 1, "ok": True, "output": [1], "ename": "", "evalue": ""}))
    except OSError:
        pass
""",
    "header_not_an_object": _FRAME
    + """
for fd in fds:
    try:
        os.write(fd, frame(None, body=b"[1]"))
    except OSError:
        pass
""",
    "disk_filler": """
import os
block = b"x" * (16 << 20 - 1)
for place in ("/tmp", "."):
    written = 0
    try:
        for i in range(200):
            with open(os.path.join(place, f"fill{i}"), "wb") as f:
                f.write(block)
            written += len(block)
    except OSError as err:
        pass
    print("FILLED", place, written >> 20, "MiB")
""",
    "spies_on_tests": """
import builtins, sys
seen = []
_compile, _exec = builtins.compile, builtins.exec
def compile(source, *a, **k):
    seen.append(source if isinstance(source, str) else "")
    return _compile(source, *a, **k)
builtins.compile = compile
builtins.exec = lambda code, *a, **k: (seen.append(getattr(code, "co_consts", "")), _exec(code, *a, **k))[1]
def profile(frame, event, arg):
    if event == "call" and frame.f_code.co_filename == "<test>":
        seen.append(repr(frame.f_code.co_consts) + repr(frame.f_code.co_names))
sys.setprofile(profile)
""",
    "ptraces_the_zygote": """
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
pids = [int(p) for p in os.listdir('/proc') if p.isdigit()] + [os.getppid()]
for pid in sorted(set(pids) - {os.getpid(), 0}):
    if libc.ptrace(16, pid, 0, 0) == 0:  # PTRACE_ATTACH
        print('ATTACHED', pid)
    try:
        os.kill(pid, signal.SIGSTOP)
        print('SIGNALLED', pid)
    except OSError:
        pass
    try:
        open(f'/proc/{pid}/mem', 'rb').read(1)
        print('READ MEMORY', pid)
    except OSError:
        pass
print('DONE')
""",
}
# A later cell of the spy: prints what it saw into its own feedback.
SPY_REPORT = "print('SPY', '\\n'.join(map(str, seen)))\nsys.setprofile(None)\n"
VICTIM_CELL = (
    "import os\nprint('TMP', sorted(os.listdir('/tmp')), 'HERE', sorted(os.listdir('.')))\n"
)
SLOW = "import time\ntime.sleep(7)\n"
BUDGET_S = 30.0

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
    live = add_cell(filled(A, ref), LIVE_OUTPUT)
    live.cells.insert(2, nbformat.v4.new_markdown_cell(LIVE_MARKDOWN))
    put("live_html", live)
    put(
        "kills_grader",
        add_cell(
            filled(A, ref),
            "import os\nfor pid in (os.getppid(), 1, -1):\n    try:\n        os.kill(pid, 9)\n"
            "    except OSError as err:\n        print('DENIED', type(err).__name__)\nprint('ALIVE')\n",
        ),
    )

    for name, code in ATTACKS.items():
        nb = add_cell(filled(A, ref), code)
        if name == "spies_on_tests":
            nb.cells.append(nbformat.v4.new_code_cell(SPY_REPORT))
        put(name, nb)
    slow = filled(A, ref)
    for _ in range(8):
        add_cell(slow, SLOW)
    put("slow_notebook", slow)
    put_links(subs, ref)
    attackers = [p.name for p in subs.iterdir()]
    for name in attackers:  # graded right after its attacker (one worker, sorted order)
        put(f"{name}~victim", add_cell(filled(A, ref), VICTIM_CELL))

    config = Config(cell_timeout_s=8, budget_s=BUDGET_S)
    grade_class(subs, out, quiet=True, workers=1, config=config)
    results = {}
    for path in (out / "results").glob(f"*/{A}.json"):
        result = json.loads(path.read_text())
        results[result["student"]] = result
    return {"results": results, "out": out, "subs": subs, "targets": targets, "hits": hits}


LIVE_MARKDOWN = (
    "## My notes\n<script>alert('pwned')</script>\n<img src=x onerror=\"alert('pwned')\">\n"
    "[click](javascript:alert('pwned'))\n<iframe src=\"https://evil.example\"></iframe>\n"
    "<svg onload=\"alert('pwned')\"></svg>\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n"
)
LIVE_OUTPUT = (
    "from IPython.display import HTML, Javascript, display\n"
    "print('<script>alert(1)</script>')\n"
    "display(HTML('<img src=x onerror=alert(1)>'), Javascript('alert(1)'))\n"
)


def sandbox_tmp() -> list[str]:
    """What the sandbox itself puts in /tmp: the folders leading to its binds (a CI checkout's
    .venv under /tmp). Everything else must be gone before the next submission starts."""
    how = launch()
    how.cleanup()
    argv, targets = how.argv, set()
    for i, arg in enumerate(argv):
        if arg in ("--ro-bind", "--bind", "--dev-bind"):
            targets.add(argv[i + 2])
        elif arg == "--dir":
            targets.add(argv[i + 1])
    return sorted({t.split("/")[2] for t in targets if t.startswith("/tmp/")})


def put_links(subs, ref):
    """Links and special files where a submission should be (LMS zips and tars create links)."""
    solution = notebook(SOLUTIONS, A)
    folder = subs / "link_notebook" / A
    folder.mkdir(parents=True)
    (folder / f"{A}.ipynb").symlink_to(solution)
    write_submission(subs, "link_files", A, add_cell(filled(A, ref), LINK_READER))
    here = subs / "link_files" / A
    (here / "secret.txt").symlink_to("/etc/shadow")
    (here / "solution.txt").symlink_to(solution)
    (here / "sub").mkdir()
    os.mkfifo(here / "pipe.txt")
    (subs / "link_folder").mkdir()
    (subs / "link_folder" / A).symlink_to(solution.parent)
    write_submission(subs, "link_student_target", A, filled(A, {}))
    (subs / "link_student").symlink_to(subs / "link_student_target")


LINK_READER = (
    "import os\n"
    "for name in ('secret.txt', 'solution.txt', 'pipe.txt'):\n"
    "    print(name, os.path.exists(name) and open(name).read()[:80])\n"
)


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
    # PID 1 of its own namespace is the child itself, which ignores its own SIGKILL.
    assert "ALIVE" in _outputs(graded["results"]["kills_grader"])


def test_every_victim_keeps_full_marks_and_a_clean_space(graded):
    victims = {n: r for n, r in graded["results"].items() if n.endswith("~victim")}
    assert len(victims) >= len(ATTACKS) + 5
    for name, result in victims.items():
        assert lost(result) == set(), (name, result["cells"], result["notes"])
        assert f"TMP {sandbox_tmp()} HERE []" in _outputs(result), (name, result["outputs"])


@pytest.mark.parametrize("name", ["forged_frames", "malformed_reply", "header_not_an_object"])
def test_frames_out_of_turn_end_only_their_own_child(graded, name):
    result = graded["results"][name]
    text = " ".join(result["notes"]) + _outputs(result)
    assert "did not ask for" in text or "malformed frame" in text, (
        result["notes"],
        result["outputs"],
    )
    assert "Hijacked" not in json.dumps(result["cells"])


def test_disk_quota(graded):
    text = _outputs(graded["results"]["disk_filler"])
    filled_mib = [int(line.split()[2]) for line in text.splitlines() if line.startswith("FILLED")]
    assert len(filled_mib) == 2 and all(0 < m <= 512 for m in filled_mib), text


def test_time_budget_per_submission(graded):
    result = graded["results"]["slow_notebook"]
    assert result["seconds"] <= BUDGET_S + 10, result["seconds"]
    assert any("time budget" in n for n in result["notes"]), result["notes"]
    assert all("time budget" in c["message"] for c in result["cells"]), result["cells"]


def test_spy_sees_no_grader_side_test_code(graded):
    result = graded["results"]["spies_on_tests"]
    # Rebinding builtins breaks ex03's rule on out3 (it hides where values come from): fair.
    assert lost(result) <= {"test_out3"}, result["cells"]
    assert "SPY" in _outputs(result)
    page = graded["out"] / "feedback" / "spies_on_tests" / A / f"{A}.html"
    assert not leaked_lines(page, A)
    grader_side = set(hidden_lines(A))
    assert grader_side, "the check needs grader-side hidden lines to look for"
    assert not [ln for ln in grader_side if ln in _outputs(result)]


def test_no_ptrace_signal_or_memory_of_the_zygote(graded):
    text = _outputs(graded["results"]["ptraces_the_zygote"])
    assert "DONE" in text, text
    for word in ("ATTACHED", "SIGNALLED", "READ MEMORY"):
        assert word not in text, text


def test_feedback_pages_are_inert(graded):
    page = (graded["out"] / "feedback" / "live_html" / A / f"{A}.html").read_text()
    lowered = page.lower()
    assert audit(page) == [], audit(page)
    assert not re.search(r"<[^>]*\son\w+\s*=", lowered), "an event handler in a tag"
    for bad in ("<script", 'href="javascript', "<iframe", "<svg"):
        assert bad not in lowered, bad
    assert "<table" in lowered and "My notes" in page, "ordinary formatting is kept"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, "printed text shows as text"
    assert lost(graded["results"]["live_html"]) == set()


def test_links_are_never_followed(graded):
    results = graded["results"]
    for name in ("link_notebook", "link_folder"):
        assert score(results[name]) == 0, results[name]["cells"]
        assert "symbolic link" in " ".join(results[name]["notes"]), results[name]["notes"]
    files = results["link_files"]
    assert lost(files) == set()
    for left_out in (
        "secret.txt is a symbolic link",
        "solution.txt is a symbolic link",
        "pipe.txt is not a regular file",
        "sub is a folder",
    ):
        assert any(left_out in n for n in files["notes"]), files["notes"]
    text = _outputs(files)
    assert "root:" not in text and "nbgrader" not in text, text
    assert "link_student" not in results, "a student folder that is a link is not read"


def test_feedback_never_shows_hidden_tests(graded):
    pages = list((graded["out"] / "feedback").glob(f"*/{A}/{A}.html"))
    assert len(pages) == len(graded["results"])
    for page in pages:
        assert not leaked_lines(page, A), page
