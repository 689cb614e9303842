"""`make grade`: grade a class in sandboxes, fast, one result file per submission.

    python -m autograder.grade_class [--submissions DIR] [--out grading] [--workers N] [--shard I/N]
        [--student ID] [--assignment A] [--fresh] [--cell-timeout S] [--budget S]

DIR is laid out as nbgrader's submitted/ step: DIR/<student_id>/<assignment>/<assignment>.ipynb
(plus any file the notebook imports). Without --submissions the bundled demo class is graded.

Each submission runs in a sandboxed worker (autograder.engine) and becomes
results/<student>/<assignment>.json and feedback/<student>/<assignment>/<assignment>.html.
--student and --assignment grade only the matching submissions; grading/ is updated in
place (every other student's and assignment's results are kept, as nbgrader keeps them), and
--fresh starts the class afresh. With --shard I/N only every N-th submission (from the I-th,
0-based) is graded and nothing is merged, so that N machines can share a class;
`python -m autograder.merge` then joins the shards' results into grades.csv, cells.csv and
the nbgrader gradebook. Without --shard the class is merged at once. The limits
(--cell-timeout, --budget) are the same flags in every shard command. The submissions folder
is never modified.
"""

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
from tqdm import tqdm

from autograder.collect import Submission, collect
from autograder.course import ASSIGNMENTS, DEMO_SUBMISSIONS, GRADING
from autograder.engine.config import Config


def parse_shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard takes I/N, like 0/4, not {text!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"--shard {text}: I must be in 0..N-1")
    return index, count


def select_shard(subs: list[Submission], shard: tuple[int, int]) -> list[Submission]:
    index, count = shard
    ordered = sorted(subs, key=lambda s: (s.student, s.assignment))
    return [s for k, s in enumerate(ordered) if k % count == index]


# A worker (a Python importing the grader and torch, and its zygote) costs about what 15-20
# small notebooks take to grade: a class smaller than this per worker is graded in this process.
NOTEBOOKS_PER_WORKER = 16


def default_workers(notebooks: int) -> int:
    return max(1, min(os.cpu_count() or 1, notebooks // NOTEBOOKS_PER_WORKER))


def _collected(submissions: Path, student: str | None, assignment: str | None):
    found = collect(submissions)
    if student or assignment:
        keep = lambda s, a: (student in (None, s)) and (assignment in (None, a))  # noqa: E731
        found.submissions = [s for s in found.submissions if keep(s.student, s.assignment)]
        found.problems = [p for p in found.problems if keep(p[0], p[1])]
        found.students = [s for s in found.students if student in (None, s)]
        if not found.submissions and not found.problems:
            raise SystemExit(
                f"error: no submission in {submissions} matches"
                + (f" student {student}" if student else "")
                + (f" assignment {assignment}" if assignment else "")
            )
    return found


def grade_class(
    submissions: Path,
    out: Path = GRADING,
    workers: int | None = None,
    shard: tuple[int, int] = (0, 1),
    quiet: bool = False,
    config: Config | None = None,
    student: str | None = None,
    assignment: str | None = None,
    fresh: bool = False,
) -> dict:
    config = config or Config()
    found = _collected(submissions, student, assignment)
    todo = select_shard(found.submissions, shard)
    workers = min(workers or default_workers(len(todo)), max(len(todo), 1))
    zygotes = []
    if todo:  # first of all: the zygotes import torch while this process imports the grader
        from autograder.engine.client import ZygoteClient
        from autograder.engine.sandbox import launch

        for index in range(workers):
            zygotes.append(ZygoteClient(index, launch(config), config, wait=False))
    try:
        args = (found, todo, out, workers, shard, quiet, config, fresh, zygotes)
        return _grade_class(*args)
    finally:
        for client in zygotes:
            client.close()
            client.launch.cleanup()


def _grade_class(found, todo, out, workers, shard, quiet, config, fresh, zygotes) -> dict:
    say = (lambda *a: None) if quiet else print
    from autograder.engine import grading_process
    from autograder.engine.sandbox import warning
    from autograder.merge import fresh_start, merge, write_result

    for who, where, why in found.problems:
        say(f"warning: {who}/{where}: {why}")
    if fresh:
        fresh_start(out)
    (out / "results").mkdir(parents=True, exist_ok=True)
    for student in found.students:  # every shard records the class list (merge needs it)
        (out / "results" / student).mkdir(exist_ok=True)

    graded = {(s.student, s.assignment) for s in found.submissions}
    if shard[0] == 0:  # work that cannot be run at all scores 0 with its reason (once, in shard 0)
        for who, where, why in found.problems:
            if where in ASSIGNMENTS and (who, where) not in graded:
                result = grading_process.failed_result(who, where, why).to_dict()
                write_result(out, result)
                grading_process.write_feedback(out, result, nbformat.v4.new_notebook())

    if zygotes and not zygotes[0].launch.isolated:
        say(warning(zygotes[0].launch))
    start = time.perf_counter()
    if workers == 1 and todo:  # one worker: grade here
        grading_process.use(zygotes[0], out, config)
        for sub in tqdm(todo, desc="grading", unit="nb", disable=quiet, file=sys.stdout):
            write_result(out, grading_process.grade_one(sub))
    elif todo:
        # The workers are forked from this process, which has imported all they need (torch,
        # the runner, the feedback renderer): they start at once, without an import of their own.
        grading_process.import_grader()
        fork = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=fork,
            initializer=grading_process.adopt,
            initargs=(fork.Value("i", 0), zygotes, out, config),
        ) as pool:
            futures = [pool.submit(grading_process.grade_one, s) for s in todo]
            bar = tqdm(
                total=len(futures), desc="grading", unit="nb", disable=quiet, file=sys.stdout
            )
            for future in as_completed(futures):
                result = future.result()
                write_result(out, result)
                bar.update()
            bar.close()
    elapsed = time.perf_counter() - start
    say(
        f"graded {len(todo)} notebooks in {elapsed:.1f} s with {workers} workers "
        f"({len(todo) / elapsed * 60 if elapsed else 0:.0f} notebooks/min)"
    )
    summary = None
    if shard[1] == 1:
        summary = merge([out / "results"], out, quiet=quiet)
    else:
        say(
            f"shard {shard[0]}/{shard[1]} done: results in {out / 'results'}; merge with python -m autograder.merge"
        )
    return {
        "collected": found,
        "graded": len(todo),
        "seconds": elapsed,
        "workers": workers,
        "summary": summary,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--submissions", type=Path, default=DEMO_SUBMISSIONS, help="DIR/<student>/<assignment>/"
    )
    parser.add_argument(
        "--out", type=Path, default=GRADING, help="where results go (default grading/)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"parallel sandboxes (default: one per {NOTEBOOKS_PER_WORKER} notebooks, at most the CPU count)",
    )
    parser.add_argument(
        "--shard", type=parse_shard, default=(0, 1), help="grade only shard I of N (0-based)"
    )
    parser.add_argument("--student", help="grade only this student's submissions")
    parser.add_argument("--assignment", choices=ASSIGNMENTS, help="grade only this assignment")
    parser.add_argument(
        "--fresh", action="store_true", help="start the class afresh (drop earlier results)"
    )
    Config.add_arguments(parser)
    args = parser.parse_args(argv)
    grade_class(
        args.submissions.resolve(),
        args.out.resolve(),
        args.workers,
        args.shard,
        config=Config.from_args(args),
        student=args.student,
        assignment=args.assignment,
        fresh=args.fresh,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
