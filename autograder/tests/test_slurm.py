"""`make grade-slurm` on a one-node Slurm cluster started on this machine (tools/local_slurm.py).

A class graded as a 4-task array and merged by a job that depends on it has byte for byte
the grades.csv and cells.csv of one `grade_class` run; a shard that fails is named, and the
merge job names it and merges nothing. Starting the cluster needs root (slurmd); as root the
Slurm packages are installed when missing. Under CI=true a missing prerequisite fails the
tests; elsewhere they are skipped with the reason.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.course import ROOT
from autograder.grade_class import grade_class
from autograder.slurm import DONE, RUN_FILE, missing_shards, shard_dir, work_dir
from autograder.submissions import filled, reference_answers, write_submission
from tools.local_slurm import Cluster, ensure_packages, missing_packages
from tools.system_packages import in_ci

pytestmark = pytest.mark.slow  # see pyproject.toml: not in make check

ASSIGNMENTS = ["ex01_conv1d", "ex03_linear"]
SHARDS = 4


def _unavailable() -> str | None:
    """Why a local cluster cannot be started here, or None."""
    if os.geteuid() != 0:
        missing = missing_packages()
        return "starting a local Slurm cluster needs root (slurmd starts jobs as their user)" + (
            f", and Debian's {' '.join(missing)} are not installed" if missing else ""
        )
    return ensure_packages()  # as root: installs what is missing


@pytest.fixture(scope="module")
def cluster():
    why = _unavailable()
    if why:
        if in_ci():
            pytest.fail(f"CI=true and {why}")
        pytest.skip(why)
    # A folder of its own (munged, running as munge, must reach it: not under pytest's
    # private tmp), so that a `make grade-slurm LOCAL_SLURM=1` or another test run beside
    # this one keeps its own cluster.
    folder = Path(tempfile.mkdtemp(prefix="course-slurm-test-", dir="/var/tmp"))
    local = Cluster(folder)
    try:
        assert local.up(), "a fresh folder must start a fresh cluster"
        yield local
    finally:
        local.down()
        shutil.rmtree(folder, ignore_errors=True)


def _class(root: Path) -> Path:
    """2 students × 2 assignments: ada answers everything, ben only each first cell."""
    for assignment in ASSIGNMENTS:
        answers = reference_answers(assignment)
        write_submission(root, "ada", assignment, filled(assignment, answers))
        first = dict(list(answers.items())[:1])
        write_submission(root, "ben", assignment, filled(assignment, first))
    return root


def _submit(cluster: Cluster, subs: Path, out: Path, shards: int, *more: str):
    cmd = [sys.executable, "-m", "autograder.slurm", "submit", "--submissions", str(subs),
           "--out", str(out), "--shards", str(shards), "--cpus-per-task", "1", "--poll", "0.5",
           "--cell-timeout", "60", "--budget", "240", *more]  # fmt: skip
    return subprocess.run(
        cmd, cwd=ROOT, env=cluster.env, capture_output=True, text=True, timeout=600
    )


def test_four_shards_on_slurm_give_the_grades_of_one_run(cluster, tmp_path):
    subs = _class(tmp_path / "subs")
    on_slurm = tmp_path / "slurm"
    proc = _submit(cluster, subs, on_slurm, SHARDS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "shards: 4 completed" in proc.stdout, proc.stdout
    work = work_dir(on_slurm)
    for i in range(SHARDS):
        assert (shard_dir(work, i) / DONE).is_file(), f"shard {i} left no done marker"
        assert list((shard_dir(work, i) / "results").rglob("*.json")), f"shard {i} graded nothing"
    one_run = tmp_path / "one"
    grade_class(subs, one_run, quiet=True, workers=2)
    for name in ("grades.csv", "cells.csv"):
        got, want = (on_slurm / name).read_bytes(), (one_run / name).read_bytes()
        assert got == want, f"{name} from Slurm differs from one run"
        assert str(tmp_path).encode() not in got, f"{name} holds a path"
    for student in ("ada", "ben"):
        for assignment in ASSIGNMENTS:
            page = on_slurm / "feedback" / student / assignment / f"{assignment}.html"
            assert page.is_file(), f"no feedback for {student}/{assignment} in grading/"


def test_a_failed_shard_is_named_and_nothing_is_merged(cluster, tmp_path):
    subs = tmp_path / "subs"
    write_submission(subs, "ada", "ex01_conv1d", filled("ex01_conv1d", {}))
    out = tmp_path / "grading"
    fail_shard_0 = '[ "${SLURM_ARRAY_TASK_ID:-}" != 0 ] || { echo "made to fail" >&2; exit 3; }'
    proc = _submit(cluster, subs, out, 2, "--prelude", fail_shard_0)
    said = proc.stdout + proc.stderr
    assert proc.returncode == 1, said
    assert "shard 0/2 failed: job " in said and "FAILED, exit code 3:0" in said, said
    assert "made to fail" in said, "the end of the failed shard's log is shown"
    assert "1 of 2 shards missing; nothing merged" in said, said
    assert "shard 0/2 (job " in said and "did not finish" in said, said
    assert "shard 1/2" not in said.split("nothing merged")[1], "only the failed shard is named"
    assert not (out / "grades.csv").exists(), "a partial class must not be merged"


def test_the_merge_names_a_shard_without_the_results_it_was_given(tmp_path):
    work = tmp_path / "slurm"
    run = {"shards": 2, "array_job": "7", "expected": {"0": [["ada", "ex01_conv1d"]], "1": []}}
    work.mkdir()
    (work / RUN_FILE).write_text(json.dumps(run))
    for i in range(2):
        (shard_dir(work, i) / "results").mkdir(parents=True)
        (shard_dir(work, i) / DONE).touch()
    assert missing_shards(work) == [
        f"shard 0/2 (job 7_0, log {work}/logs/shard-0.out): no result for ada/ex01_conv1d"
    ]
    (shard_dir(work, 1) / DONE).unlink()
    assert [line.split(": ")[-1] for line in missing_shards(work)] == [
        "no result for ada/ex01_conv1d",
        "did not finish",
    ]
