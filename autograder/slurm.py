"""`make grade-slurm`: grade a class as a Slurm job array, then merge it in a job that waits for it.

    python -m autograder.slurm submit [--submissions DIR] --shards N [--out grading]
        [--cpus-per-task C] [--workers W] [--cell-timeout S] [--budget S] [--fresh]
        [--sbatch-args "..."] [--prelude "..."] [--local] [--poll S]
    python -m autograder.slurm merge WORK --out OUT [--fresh]     (what the merge job runs)

`submit` sends the cluster that `sbatch` reaches (SLURM_CONF, or the site's own
configuration) an array of N tasks, task I running
`python -m autograder.grade_class --shard I/N` into OUT/slurm/shard-I (with the same limit
flags in every task) and marking it OUT/slurm/shard-I/done when it finished; then one merge
job with --dependency=afterany on the array. The checkout, its .venv, DIR and OUT must be on
a filesystem that every node mounts at the same path. It waits, reports a shard that fails
by name with the end of its log, and prints the merge job's output; it exits 0 only when the
merge ran. The merge job checks that every shard is done and holds the results it was given;
otherwise it names the missing shards and merges nothing (a partial merge would record the
missing students' work as "no submission"). When all are there it copies their results and
feedback into OUT/results and OUT/feedback and merges OUT/results into OUT (gradebook.db,
grades.csv, cells.csv), exactly as `make grade` leaves them. Logs: OUT/slurm/logs/.

--local first starts a one-node cluster on this machine (tools/local_slurm.py; reusing one
already running) and stops it afterwards if it started it. sbatch's own environment
variables (SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT, ...) apply to both jobs, as do
--sbatch-args; --prelude is shell run first in every job (`module load python/3.11`).
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from autograder.collect import collect
from autograder.course import DEMO_SUBMISSIONS, GRADING, ROOT
from autograder.engine.config import Config
from autograder.grade_class import select_shard
from autograder.merge import fresh_start, merge, result_path

FAILED = {
    "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",
    "PREEMPTED", "REVOKED", "SPECIAL_EXIT",
}  # fmt: skip
FINISHED = FAILED | {"COMPLETED"}
RUN_FILE = "run.json"
DONE = "done"


def work_dir(out: Path) -> Path:
    return out / "slurm"


def shard_dir(work: Path, index: int) -> Path:
    return work / f"shard-{index}"


def shard_log(work: Path, index: int) -> Path:
    return work / "logs" / f"shard-{index}.out"


def tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace").replace("\r", "\n")
    except OSError:
        return f"    (no log at {path})"
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join("    " + line for line in kept) or "    (empty log)"


def shard_script(
    work: Path, submissions: Path, shards: int, config: Config, workers: int | None, prelude: str
) -> str:
    """The batch script of the array: task I grades shard I/N and marks it done."""
    q = shlex.quote
    limits = f"--cell-timeout {config.cell_timeout_s:g} --budget {config.budget_s:g}"
    if config.unsandboxed:
        limits += " --no-sandbox"
    return f"""#!/bin/bash
# Written by autograder/slurm.py: task I of the array grades shard I of {shards}.
set -euo pipefail
cd {q(str(ROOT))}
{prelude}
I=$SLURM_ARRAY_TASK_ID
SHARD={q(str(work))}/shard-$I
rm -rf "$SHARD"  # a requeued task starts its shard afresh
{q(sys.executable)} -m autograder.grade_class --submissions {q(str(submissions))} \\
    --out "$SHARD" --shard "$I/{shards}" --workers {workers or "${SLURM_CPUS_PER_TASK:-1}"} {limits}
touch "$SHARD/{DONE}"
"""


def _sbatch(args: list[str], env: dict) -> str:
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise SystemExit(
            "error: sbatch not found: run this on a Slurm submit node, or with LOCAL_SLURM=1 "
            "(--local) to start a one-node cluster on this machine"
        )
    proc = subprocess.run(
        [sbatch, "--parsable", *args], env=env, capture_output=True, text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"error: sbatch {' '.join(args)} failed:\n{proc.stderr.strip()}")
    return proc.stdout.strip().split(";")[0]  # "jobid[;cluster]"


def job_states(job: str, env: dict) -> dict[str, tuple[str, str]] | None:
    """Each task of `job` (an array's "0", "1", ... or "" for a plain job): (state, exit code).

    None when the controller no longer knows the job (it forgets finished jobs after
    MinJobAge); the shards' done markers still tell what happened.
    """
    proc = subprocess.run(
        [shutil.which("scontrol") or "scontrol", "show", "job", "-o", job],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    if proc.returncode != 0:
        if "Invalid job id" in proc.stderr:
            return None
        return {}  # the controller did not answer this time: ask again
    states = {}
    for line in proc.stdout.splitlines():
        state = re.search(r"\bJobState=(\S+)", line)
        if not state:
            continue
        task = re.search(r"\bArrayTaskId=(\S+)", line)
        code = re.search(r"\bExitCode=(\S+)", line)
        states[task.group(1) if task else ""] = (state.group(1), code.group(1) if code else "?")
    return states


def expected_results(submissions: Path, shards: int) -> dict[str, list[list[str]]]:
    """Which (student, assignment) results each shard must leave."""
    found = collect(submissions).submissions
    return {
        str(i): [[s.student, s.assignment] for s in select_shard(found, (i, shards))]
        for i in range(shards)
    }


def missing_shards(work: Path) -> list[str]:
    """One line per shard that did not finish or lacks a result it was given."""
    run = json.loads((work / RUN_FILE).read_text())
    shards, job = run["shards"], run.get("array_job", "?")
    lines = []
    for i in range(shards):
        out = shard_dir(work, i)
        name = f"shard {i}/{shards} (job {job}_{i}, log {shard_log(work, i)})"
        if not (out / DONE).is_file():
            lines.append(f"{name}: did not finish")
            continue
        absent = [
            f"{s}/{a}" for s, a in run["expected"][str(i)] if not result_path(out, s, a).is_file()
        ]
        if absent:
            lines.append(f"{name}: no result for {', '.join(absent)}")
    return lines


def merge_shards(work: Path, out: Path, fresh: bool = False) -> int:
    """The merge job: check every shard, then merge them into `out` as `make grade` does."""
    missing = missing_shards(work)
    shards = json.loads((work / RUN_FILE).read_text())["shards"]
    if missing:
        print(
            f"error: {len(missing)} of {shards} shards missing; nothing merged "
            f"(grades in {out} are unchanged):",
            file=sys.stderr,
        )
        for line in missing:
            print(f"  {line}", file=sys.stderr)
        return 1
    if fresh:
        fresh_start(out)
    for i in range(shards):
        for part in ("results", "feedback"):
            if (shard_dir(work, i) / part).is_dir():
                shutil.copytree(shard_dir(work, i) / part, out / part, dirs_exist_ok=True)
    merge([out / "results"], out)
    return 0


def _progress(states: dict) -> str:
    counts = {}
    for task, (state, _) in states.items():
        counts[state.lower()] = counts.get(state.lower(), 0) + max(len(_task_indices(task)), 1)
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def _task_indices(task: str) -> list[int]:
    """ "3" -> [3]; a pending range "2-3" or "[2-3%4]" counts as several."""
    indices = []
    for part in task.strip("[]").split("%")[0].split(","):
        low, _, high = part.partition("-")
        if low.isdigit():
            indices.extend(range(int(low), int(high or low) + 1))
    return indices


def submit(
    submissions: Path,
    shards: int,
    out: Path = GRADING,
    config: Config | None = None,
    cpus_per_task: int = 2,
    workers: int | None = None,
    fresh: bool = False,
    sbatch_args: str = "",
    prelude: str = "",
    poll: float = 2.0,
    env: dict | None = None,
) -> int:
    """Submit the array and the merge, wait for both, report; 0 when the merge ran."""
    config = config or Config()
    env = env or dict(os.environ)
    work = work_dir(out)
    if work.exists():
        shutil.rmtree(work)
    (work / "logs").mkdir(parents=True)
    run = {"shards": shards, "submissions": str(submissions)}
    run["expected"] = expected_results(submissions, shards)
    script = work / "shard.sh"
    script.write_text(shard_script(work, submissions, shards, config, workers, prelude))
    extra = shlex.split(sbatch_args)
    common = [f"--chdir={ROOT}", *extra]
    started = time.perf_counter()
    array = _sbatch(
        [*common, f"--array=0-{shards - 1}", f"--cpus-per-task={cpus_per_task}",
         "--job-name=grade", f"--output={work / 'logs' / 'shard-%a.out'}", str(script)],
        env,
    )  # fmt: skip
    run["array_job"] = array
    (work / RUN_FILE).write_text(json.dumps(run, indent=1))
    merge_cmd = " ".join(
        shlex.quote(a)
        for a in [sys.executable, "-m", "autograder.slurm", "merge", str(work), "--out", str(out)]
        + (["--fresh"] if fresh else [])
    )
    merge_job = _sbatch(
        [*common, f"--dependency=afterany:{array}", "--kill-on-invalid-dep=yes",
         "--job-name=grade-merge", "--cpus-per-task=1", f"--output={work / 'logs' / 'merge.out'}",
         "--wrap", f"set -e; {prelude + '; ' if prelude.strip() else ''}{merge_cmd}"],
        env,
    )  # fmt: skip
    print(
        f"submitted shards as array job {array} ({shards} tasks) and the merge as job "
        f"{merge_job} (afterany:{array}); logs in {work / 'logs'}",
        flush=True,
    )
    reported, last, merge_state = set(), "", None
    try:
        while True:
            tasks = job_states(array, env)
            merged = job_states(merge_job, env)
            if tasks:
                _report_failures(tasks, reported, work, array, shards)
                line = f"shards: {_progress(tasks)}"
                if line != last:
                    print(line, flush=True)
                    last = line
            if merged is None:
                break  # forgotten by the controller: long finished
            if merged and next(iter(merged.values()))[0] in FINISHED:
                merge_state = next(iter(merged.values()))
                break
            time.sleep(poll)
    except KeyboardInterrupt:
        subprocess.run([shutil.which("scancel") or "scancel", array, merge_job], env=env)
        print(f"interrupted: cancelled jobs {array} and {merge_job}", file=sys.stderr)
        return 130
    for i in range(shards):  # tasks the controller no longer lists: their markers say
        if i not in reported and not (shard_dir(work, i) / DONE).is_file():
            _say_failed(i, shards, f"job {array}_{i} did not finish", work)
    log = (work / "logs" / "merge.out").read_text(errors="replace") if (
        work / "logs" / "merge.out"
    ).is_file() else ""  # fmt: skip
    print(log.rstrip(), flush=True)
    ok = merge_state is not None and merge_state[0] == "COMPLETED"
    if merge_state is None:  # no record left: the merge ran if grades.csv is newer than the run
        ok = (out / "grades.csv").is_file() and (out / "grades.csv").stat().st_mtime >= (
            work / RUN_FILE
        ).stat().st_mtime
    took = time.perf_counter() - started
    if ok:
        print(f"graded on Slurm in {took:.1f} s (submission to merge); grades in {out}")
        return 0
    state = f"{merge_state[0]}, exit code {merge_state[1]}" if merge_state else "unknown"
    print(
        f"error: the merge job {merge_job} did not merge ({state}); log {work / 'logs' / 'merge.out'}",
        file=sys.stderr,
    )
    return 1


def _say_failed(index: int, shards: int, why: str, work: Path) -> None:
    print(
        f"shard {index}/{shards} failed: {why}; the end of {shard_log(work, index)}:\n"
        f"{tail(shard_log(work, index))}",
        file=sys.stderr,
        flush=True,
    )


def _report_failures(tasks: dict, reported: set, work: Path, array: str, shards: int) -> None:
    for task, (state, code) in tasks.items():
        for index in _task_indices(task):
            if state in FAILED and index not in reported:
                reported.add(index)
                _say_failed(index, shards, f"job {array}_{index} {state}, exit code {code}", work)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    go = sub.add_parser("submit", help="submit the shards and the merge, wait, report")
    go.add_argument(
        "--submissions", type=Path, default=DEMO_SUBMISSIONS, help="DIR/<student>/<assignment>/"
    )
    go.add_argument("--shards", type=int, required=True, help="how many array tasks")
    go.add_argument("--out", type=Path, default=GRADING, help="where grades go (default grading/)")
    go.add_argument("--cpus-per-task", type=int, default=2, help="CPUs of each task (default 2)")
    go.add_argument("--workers", type=int, help="sandboxes per task (default: its CPUs)")
    go.add_argument("--fresh", action="store_true", help="start the class afresh when merging")
    go.add_argument("--sbatch-args", default="", help='more sbatch options: "--partition=p ..."')
    go.add_argument("--prelude", default="", help="shell run first in every job")
    go.add_argument("--local", action="store_true", help="start a one-node cluster here first")
    go.add_argument("--poll", type=float, default=2.0, help="seconds between status checks")
    Config.add_arguments(go)
    mg = sub.add_parser("merge", help="(the merge job) check the shards, then merge them")
    mg.add_argument("work", type=Path, help="OUT/slurm of the run")
    mg.add_argument("--out", type=Path, required=True)
    mg.add_argument("--fresh", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "merge":
        return merge_shards(args.work.resolve(), args.out.resolve(), args.fresh)
    if args.shards < 1:
        raise SystemExit("error: --shards must be 1 or more")
    config = Config.from_args(args)
    kwargs = dict(
        config=config, cpus_per_task=args.cpus_per_task, workers=args.workers, fresh=args.fresh,
        sbatch_args=args.sbatch_args, prelude=args.prelude, poll=args.poll,
    )  # fmt: skip
    subs, out = args.submissions.resolve(), args.out.resolve()
    if not args.local:
        return submit(subs, args.shards, out, **kwargs)
    from tools.local_slurm import Cluster

    cluster = Cluster()
    started = cluster.up()
    if not started:
        print(f"using the local Slurm cluster already running (SLURM_CONF={cluster.conf})")
    try:
        return submit(subs, args.shards, out, env=cluster.env, **kwargs)
    finally:
        if started:
            cluster.down()


if __name__ == "__main__":
    sys.exit(main())
