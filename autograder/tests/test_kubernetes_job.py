"""The README's Kubernetes indexed Job: valid against Kubernetes' schema, and its command works.

The Job and the merge command are read out of README.md ("Grading past one machine"), so
the README cannot drift from what is tested. The Job is validated offline with
kubernetes-validate (it ships the schemas); then its container command is run the way the
Job runs it, once per completion index with JOB_COMPLETION_INDEX set (`parallelism` at a
time), in the repository root as its workingDir, with /data replaced by a temporary folder;
then the README's merge command joins the shards.
"""

import csv
import os
import re
import shlex
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from autograder.course import ROOT
from autograder.submissions import filled, reference_answers, write_submission

pytestmark = pytest.mark.slow  # see pyproject.toml: not in make check

SECTION = "### Grading past one machine"
MOUNT = "/data"


def section(readme: str) -> str:
    start = readme.index(SECTION)
    end = readme.find("\n## ", start)
    return readme[start : end if end != -1 else None]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.S | re.M)


def readme_job() -> tuple[dict, str]:
    """The Job (parsed) and the merge command line of the README's Kubernetes part."""
    text = section((ROOT / "README.md").read_text(encoding="utf-8"))
    kube = text[text.index("Kubernetes") :]
    (job,) = [yaml.safe_load(b) for b in blocks(kube, "yaml")]
    merges = [
        line.strip()
        for block in blocks(kube, "bash")
        for line in block.splitlines()
        if "autograder.merge" in line
    ]
    assert len(merges) == 1, f"one merge command after the Job, found {merges}"
    return job, merges[0]


def test_the_readme_job_is_a_valid_indexed_job():
    job, _ = readme_job()
    version = kubernetes_validate.latest_version()
    try:
        kubernetes_validate.validate(job, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "the Job"
        pytest.fail(f"README's Job is not valid Kubernetes {err.version}: {where}: {err.message}")
    assert job["kind"] == "Job" and job["spec"]["completionMode"] == "Indexed"


def test_a_broken_job_is_caught():
    job, _ = readme_job()
    job["spec"]["template"]["spec"]["containers"][0]["volumeMount"] = []  # a typo'd field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, kubernetes_validate.latest_version(), strict=True)


def _on(text: str, data: Path) -> str:
    return text.replace(MOUNT, str(data))


def test_the_job_s_command_grades_the_class_in_shards_that_merge(tmp_path):
    job, merge_line = readme_job()
    spec = job["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert [m["mountPath"] for m in container["volumeMounts"]] == [MOUNT]
    completions, parallelism = spec["completions"], spec.get("parallelism", 1)
    command = container["command"]
    assert command[:2] == ["sh", "-c"], "the shard command runs in a shell (for the index)"
    script = command[2]
    assert f"--shard $JOB_COMPLETION_INDEX/{completions}" in script, (
        "the shard count in the command must be the Job's completions"
    )
    for flag in ("--cell-timeout", "--budget"):
        assert flag in script, f"every shard gets the same {flag}"

    data = tmp_path / "data"
    subs = data / "subs"
    write_submission(
        subs, "ada", "ex01_conv1d", filled("ex01_conv1d", reference_answers("ex01_conv1d"))
    )
    write_submission(subs, "ben", "ex01_conv1d", filled("ex01_conv1d", {}))
    cwd = ROOT  # the image is this repository: workingDir is its root
    assert container["workingDir"] == "/course"
    pending = list(range(completions))
    while pending:  # parallelism pods at a time, as the Job runs them
        batch, pending = pending[:parallelism], pending[parallelism:]
        pods = {
            index: subprocess.Popen(
                [*command[:2], _on(script, data)],
                cwd=cwd,
                env={**os.environ, "JOB_COMPLETION_INDEX": str(index)},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for index in batch
        }
        for index, proc in pods.items():
            said = proc.communicate(timeout=600)[0]
            assert proc.returncode == 0, f"index {index} failed:\n{said}"
    for index in range(completions):
        assert (data / "out" / f"shard-{index}" / "results").is_dir(), f"no shard {index}"

    merged = subprocess.run(
        ["bash", "-c", _on(merge_line, data)], cwd=cwd, capture_output=True, text=True
    )
    assert merged.returncode == 0, merged.stdout + merged.stderr
    out = Path(_on(shlex.split(merge_line)[shlex.split(merge_line).index("--out") + 1], data))
    with open(out / "grades.csv", newline="") as f:
        grades = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}
    ada, ben = grades["ada", "ex01_conv1d"], grades["ben", "ex01_conv1d"]
    assert float(ada["score"]) == float(ada["max_score"]) > 0, ada
    assert float(ben["score"]) == 0, ben

    # A pod that never ran: the merge stops and names the shard's folder.
    missing = data / "out" / "shard-3"
    missing.rename(data / "out" / "gone")
    stopped = subprocess.run(
        ["bash", "-c", _on(merge_line, data)], cwd=cwd, capture_output=True, text=True
    )
    assert stopped.returncode != 0
    assert f"{missing}/results" in stopped.stdout + stopped.stderr
