"""The whole loop through nbgrader's exchange, as separate Unix users.

An instructor and two students (CI runs as root and creates them): release (make
release-exchange) -> fetch_assignment -> submit (one student resubmits, the other submits
late and then swaps a file of the submission for a link) -> make collect -> make grade ->
make release-feedback -> fetch_feedback. The instructor works in a staged checkout with a
venv on Debian's Python (autograder/tests/test_unprivileged.py's helpers); the students
run nbgrader from their homes with only --Exchange.root and --course: no course configuration.
"""

import csv
import os
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from autograder.course import ASSIGNMENTS, DEMO_SUBMISSIONS
from autograder.tests import test_unprivileged as staging

pytestmark = pytest.mark.slow  # see pyproject.toml: not in make check

STAGE = Path("/var/tmp/course-exchange-loop")
STUDENTS = ["course-student1", "course-student2"]
COURSE = "pytorch-conv-course"
A = ASSIGNMENTS[0]
RIGHT = DEMO_SUBMISSIONS / "ada" / A / f"{A}.ipynb"
HALF = DEMO_SUBMISSIONS / "ben" / A / f"{A}.ipynb"


def _user(name: str) -> None:
    if subprocess.run(["id", "-u", name], capture_output=True).returncode != 0:
        useradd = shutil.which("useradd", path=staging.SBIN)
        subprocess.run([useradd, "--system", "--no-create-home", name], check=True)


class Loop:
    def __init__(self, repo: Path):
        self.repo, self.exchange = repo, STAGE / "exchange"
        self.nbgrader = str(repo / ".venv" / "bin" / "nbgrader")

    def run(self, user: str, cmd: list[str], cwd: Path, home: Path) -> str:
        env = {"PATH": f"{self.repo / '.venv' / 'bin'}:/usr/bin:/bin", "HOME": str(home),
               "LANG": "C.UTF-8", "COURSE_EXCHANGE": str(self.exchange),
               # runuser sets HOME from passwd (a system user has none): Jupyter's folders here
               "JUPYTER_DATA_DIR": str(home / ".jupyter-data"),
               "JUPYTER_CONFIG_DIR": str(home / ".jupyter")}  # fmt: skip
        runuser = shutil.which("runuser", path=staging.SBIN)
        done = subprocess.run(
            [runuser, "-u", user, "--", *cmd], cwd=cwd, env=env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, f"{user}: {cmd}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        return done.stdout + done.stderr

    def student(self, name: str, *args: str) -> str:
        home = STAGE / "homes" / name
        cmd = [self.nbgrader, *args, "--course", COURSE, f"--Exchange.root={self.exchange}"]
        return self.run(name, cmd, home, home)

    def make(self, *args: str) -> str:
        return self.run(staging.USER, ["make", *args], self.repo, STAGE / "home")

    def submit(self, name: str, notebook: Path) -> str:
        home = STAGE / "homes" / name
        target = home / A / f"{A}.ipynb"
        self.run(name, ["cp", str(notebook), str(target)], home, home)
        out = self.student(name, "submit", A)
        return re.search(r"Destination: (\S.*)", out).group(1).strip()


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    if os.getuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI must run as root: the loop needs separate Unix users")
        pytest.skip("needs root to create an instructor and two students as Unix users")
    if not Path(staging.SYSTEM_PYTHON).exists():
        pytest.skip(f"{staging.SYSTEM_PYTHON} is not installed")
    mp = pytest.MonkeyPatch()
    mp.setattr(staging, "STAGE", STAGE)  # a stage of its own, beside test_unprivileged's
    staging._ensure_user()
    repo = staging._stage()
    mp.undo()
    for name in ("exchange", "fetched", "grading"):
        shutil.rmtree(repo / name, ignore_errors=True)
    (repo / ".venv" / ".installed").touch()  # the staged venv is complete: make must not pip
    loop = Loop(repo)
    loop.exchange.mkdir(mode=0o777)
    os.chmod(loop.exchange, 0o777)  # as an administrator creates nbgrader's exchange
    for name in STUDENTS:
        _user(name)
        home = STAGE / "homes" / name
        home.mkdir(parents=True)
        shutil.chown(home, name, name)
        home.chmod(0o700)
    (STAGE / "homes").chmod(0o755)
    yield loop
    shutil.rmtree(STAGE, ignore_errors=True)


def test_release_fetch_submit_collect_grade_feedback(loop):
    s1, s2 = STUDENTS
    loop.make("release-exchange", f"ASSIGNMENT={A}")
    for name in STUDENTS:
        assert A in loop.student(name, "list")
        loop.student(name, "fetch_assignment", A)
    loop.submit(s1, HALF)
    loop.submit(s1, RIGHT)  # the resubmission counts
    # A due date in whole seconds, after the resubmission (not in its second: truncating the
    # time now could put it before), and the late submission well after it.
    due = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S UTC")
    time.sleep(2.5)
    inbound = Path(loop.submit(s2, RIGHT))  # late
    # After submitting, the submission is still the student's: a link to the solutions.
    link = f"ln -sf {loop.repo / 'solutions' / A / (A + '.ipynb')} '{inbound}/models.py'"
    loop.run(s2, ["sh", "-c", link], STAGE, STAGE / "homes" / s2)
    config = loop.repo / "autograder" / "nbgrader_config.py"
    config.write_text(
        config.read_text()
        + f'\nc.DueDates.due_dates = {{"{A}": "{due}"}}\n'
        + 'c.LateSubmissionPlugin.penalty_method = "zero"\n'
    )
    collected = loop.make("collect", f"ASSIGNMENT={A}")
    assert "symbolic link" in collected
    submitted = loop.repo / "grading" / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted(STUDENTS)
    assert not (submitted / s2 / A / "models.py").exists()
    loop.make("grade", "SUBMISSIONS=grading/submitted", f"ASSIGNMENT={A}")
    for name in STUDENTS:
        page = loop.repo / "grading" / "feedback" / name / A
        assert {p.name for p in page.iterdir()} >= {
            f"{A}.html",
            "timestamp.txt",
            "submission_secret.txt",
        }
    loop.make("release-feedback", f"ASSIGNMENT={A}")
    for name in STUDENTS:
        fetched = loop.student(name, "fetch_feedback", A)
        assert "Fetched feedback" in fetched
        pages = list((STAGE / "homes" / name / A / "feedback").glob(f"*/{A}.html"))
        assert len(pages) == 1, pages  # the latest submission's feedback only
    with open(loop.repo / "grading" / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == A}
    full = rows[s1]["max_score"]
    assert rows[s1]["raw_score"] == full and float(rows[s1]["late_submission_penalty"]) == 0
    assert rows[s1]["score"] == full
    assert rows[s2]["raw_score"] == full and rows[s2]["late_submission_penalty"] == full
    assert float(rows[s2]["score"]) == 0
    assert rows[s2]["duedate"].startswith(due[:10])
