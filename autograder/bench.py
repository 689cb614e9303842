"""`make bench`: grade generated classes with this engine and with plain nbgrader, side by side.

    python -m autograder.bench [--students 7 40] [--workers N]

Each class (one per --students value; by default a small one of 7 students and the large one of
40, x 6 assignments) mixes right answers (the reference and the alternative ones), realistic
wrong answers, blank notebooks, faults (a crash, an infinite loop, a flood of output) and
notebooks saved by Colab. For each it prints, measured in the same run:
- `make grade` end to end (a fresh `python -m autograder.grading`: grading, merging, late
  penalties, LMS files) and plain `nbgrader autograde` end to end, and their ratio;
- the floor: the core-seconds (CPU time) of the notebooks' own cells and test cells (hidden
  parts included), each notebook forked from a process that imported what the engine's
  zygote preloads and what its grader imports for the test cells, shared by the workers,
  plus one `python -c "import torch"`; and `make grade` over that floor;
- the merge (gradebook, grades.csv, cells.csv) of the whole class as new submissions;
- for the first class, regrading one student's one notebook into the graded class, end to end,
  against a bare `python -c "import torch"`, and whether every other row stayed as it was;
- whether the scores agree on the submissions without faults, apart from the test cells that
  a mistake must lose by the task's rules (the engine checks them; plain nbgrader cannot).
Both graders get the same limit per cell (FAULT_TIMEOUT_S), which an infinite loop costs.
"""

import argparse
import csv
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course import ASSIGNMENTS, ROOT
from autograder.merge import fresh_start, gradebook_template, merge
from autograder.nbgrader_grade import grade_class as nbgrader_grade_class
from autograder.submissions import filled, reference_answers, write_submission
from autograder.tests.variants import Variant
from autograder.tests.variants import load as variants

FAULTS = {
    "crash": "import os\nos._exit(1)\n",
    "infinite_loop": "while True:\n    pass\n",
    "output_flood": "for i in range(10**6):\n    print('spam', i)\n",
}
FAULT_TIMEOUT_S = 10.0
REGRADE = "ex03_linear"  # the notebook regraded into the graded class

# The floor's runner: what the engine's zygote preloads, imported once (so that no
# notebook pays for it, as none does in the engine); each notebook in a forked process running
# its cells and test cells in order (the engine's plan), each cell stopped after the same limit;
# the CPU time of each process (user + system, from wait4), whatever else the machine runs.
FLOOR_RUNNER = r"""
import json, os, signal, sys
from autograder.engine.zygote import preload
preload()
import autograder.engine.runner  # what the grader's side imports for the test cells
workers, limit = int(sys.argv[1]), float(sys.argv[2])
jobs = json.load(sys.stdin)

class Late(BaseException):
    pass

def late(*_):
    raise Late

def run(folder, sources):
    os.chdir(folder)
    sys.path.insert(0, folder)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    signal.signal(signal.SIGALRM, late)
    ns = {"__name__": "__main__"}
    for source in sources:
        try:
            signal.setitimer(signal.ITIMER_REAL, limit)
            exec(compile(source, "<cell>", "exec"), ns)
        except BaseException:
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    os._exit(0)

running, seconds = 0, []
while jobs or running:
    while jobs and running < workers:
        folder, sources = jobs.pop()
        if os.fork() == 0:
            run(folder, sources)
        running += 1
    _, _, usage = os.wait4(-1, 0)
    running -= 1
    seconds.append(usage.ru_utime + usage.ru_stime)
print(json.dumps(seconds))
"""


def make_class(root: Path, students: int) -> tuple[dict, dict]:
    """Write the class; returns the kind of each (student, assignment), and for the wrong ones
    the test cells that the mistake must lose (the variant's `loses`)."""
    kinds, loses = {}, {}
    mix = ["right"] * 5 + ["wrong"] * 3 + ["blank", "fault"]
    for assignment in ASSIGNMENTS:
        reference = reference_answers(assignment)
        wrong, right = variants(assignment)
        wrong_cycle = itertools.cycle(wrong.values())
        right_cycle = itertools.cycle([Variant(), *right.values()])
        faults = itertools.cycle(FAULTS.values())
        first_answer = next(iter(reference))
        for k in range(students):
            student = f"s{k:03d}"
            kind = mix[(k + ASSIGNMENTS.index(assignment)) % len(mix)]
            files = None
            if kind == "right":
                v = next(right_cycle)
                nb, files = filled(assignment, {**reference, **v.cells}), v.files
            elif kind == "wrong":
                v = next(wrong_cycle)
                nb, files = filled(assignment, {**reference, **v.cells}), v.files
                loses[(student, assignment)] = v.loses
            elif kind == "blank":
                nb = filled(assignment, {})
            else:
                nb = filled(assignment, {**reference, first_answer: next(faults)})
            if kind == "right" and k % 4 == 0:  # some are saved by Colab (metadata stripped)
                for cell in nb.cells:
                    cell.metadata = {"id": f"c{k}"}
                    if cell.cell_type == "code":
                        cell.execution_count = None
                kind = "right-colab"
            write_submission(root, student, assignment, nb, files)
            kinds[(student, assignment)] = kind
    return kinds, loses


def import_torch_s(samples: int = 3) -> float:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor_seconds(submitted: Path, workers: int) -> float:
    """Core-seconds of every notebook's own cells and test cells, torch imported once."""
    from autograder.engine.runner import plan, spec
    from autograder.restore import restore

    jobs = []
    for folder in sorted(submitted.glob("*/*")):
        spec_ = spec(folder.name)
        nb = nbformat.read(folder / f"{folder.name}.ipynb", as_version=4)
        restore(nb, spec_.released)  # as the engine lines a Colab copy up with the release
        steps = plan(nb, spec_)
        sources = [
            src if kind == "student" else spec_.tests[label][0] for kind, label, src in steps
        ]
        jobs.append((str(folder), sources))
    proc = subprocess.run(
        [sys.executable, "-c", FLOOR_RUNNER, str(workers), str(FAULT_TIMEOUT_S)],
        input=json.dumps(jobs),
        cwd=ROOT,  # where the runner imports the zygote's preload from
        capture_output=True,
        text=True,
        check=True,
    )
    return sum(json.loads(proc.stdout))


def make_grade(submitted: Path, out: Path, *extra: str) -> float:
    """`make grade SUBMISSIONS=...` as an instructor runs it, end to end, in seconds."""
    cmd = [sys.executable, "-m", "autograder.grading", "--submissions", str(submitted)]
    cmd += ["--out", str(out), "--cell-timeout", f"{FAULT_TIMEOUT_S:g}", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"`{' '.join(cmd)}` failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return seconds


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def cell_scores(cells_csv: Path) -> dict:
    return {
        (r["student_id"], r["assignment"], r["cell"]): float(r["score"]) for r in rows(cells_csv)
    }


def regrade(submitted: Path, out: Path, student: str) -> dict:
    """One student's one notebook regraded into the graded class, against `import torch`."""
    before = {name: rows(out / name) for name in ("grades.csv", "cells.csv")}
    runs, bare = [], []
    for _ in range(3):  # alternated, so that both see the same machine
        runs.append(make_grade(submitted, out, "--student", student, "--assignment", REGRADE))
        bare.append(import_torch_s(1))
    others_kept = all(
        [r for r in rows(out / name) if (r["student_id"], r["assignment"]) != (student, REGRADE)]
        == [r for r in before[name] if (r["student_id"], r["assignment"]) != (student, REGRADE)]
        for name in before
    )
    regrade_s, torch_s = statistics.median(runs), statistics.median(bare)
    return {
        "regrade_s": round(regrade_s, 2),
        "import_torch_s": round(torch_s, 2),
        "regrade_over_import_torch": round(regrade_s / torch_s, 2),
        "other_rows_unchanged": others_kept,
    }


def bench_class(root: Path, students: int, workers: int, with_regrade: bool) -> dict:
    submitted = root / "submitted"
    kinds, loses = make_class(submitted, students)
    n = len(kinds)
    print(f"\nclass: {students} students x {len(ASSIGNMENTS)} assignments = {n} notebooks")
    mix = ", ".join(
        f"{k} {sum(v == k for v in kinds.values())}" for k in sorted(set(kinds.values()))
    )
    print(f"mix: {mix}", flush=True)

    engine_s = make_grade(submitted, root / "engine", "--workers", str(workers))
    print(f"  make grade            {engine_s:7.1f} s end to end", flush=True)
    start = time.perf_counter()
    nbgrader_grade_class(submitted, root / "nbgrader", quiet=True, timeout_s=FAULT_TIMEOUT_S)
    nbgrader_s = time.perf_counter() - start
    print(f"  plain nbgrader        {nbgrader_s:7.1f} s end to end", flush=True)
    torch_s = import_torch_s()
    cells_s = floor_seconds(submitted, workers)
    floor = cells_s / workers + torch_s
    # The merge of the whole class as new submissions (what the first `make grade` merges).
    merged = root / "merged"
    fresh_start(merged)
    start = time.perf_counter()
    merge([root / "engine" / "results"], merged, quiet=True)
    merge_s = time.perf_counter() - start

    mine, theirs = (
        cell_scores(root / "engine" / "cells.csv"),
        cell_scores(root / "nbgrader" / "cells.csv"),
    )
    clean = [key for key in mine if kinds.get(key[:2], "").startswith(("right", "wrong", "blank"))]
    differ = [key for key in clean if mine[key] != theirs.get(key)]
    # A mistake that only the task's rules catch (out3 by matmul, relu through an alias):
    # the engine takes the points the variant must lose; nbgrader, with no rules, gives them.
    missed = [key for key in differ if key[2] in loses.get(key[:2], ()) and mine[key] < theirs[key]]
    disagree = [key for key in differ if key not in missed]
    report = {
        "notebooks": n,
        "workers": workers,
        "make_grade_s": round(engine_s, 1),
        "nbgrader_s": round(nbgrader_s, 1),
        "throughput_ratio": round(nbgrader_s / engine_s, 2),
        "cells_core_s": round(cells_s, 1),
        "floor_s": round(floor, 1),
        "make_grade_over_floor": round(engine_s / floor, 2),
        "merge_s": round(merge_s, 2),
        "students": students,
        "cells_compared": len(clean),
        "cells_disagreeing": len(disagree),
        "cells_only_the_rules_catch": len(missed),
    }
    print(f"  ratio                 {nbgrader_s / engine_s:7.2f} x plain nbgrader's throughput")
    print(
        f"  floor                 {floor:7.1f} s = {cells_s:.1f} core-s of cells and tests / "
        f"{workers} + {torch_s:.2f} s import torch"
    )
    print(f"  make grade / floor    {engine_s / floor:7.2f} x")
    print(f"  merge                 {merge_s:7.2f} s for {students} students, all new")
    print(
        f"  scores agree          {len(clean) - len(differ)}/{len(clean)} test cells on fault-free notebooks"
    )
    print(
        f"  rules                 {len(missed)} more lose, in the engine only, the points their mistake "
        "must lose (the task's rules, which plain nbgrader does not check)"
    )
    for key in disagree[:10]:
        print(f"    differs: {key}: engine {mine[key]} nbgrader {theirs.get(key)}")
    if with_regrade:
        student = next(s for (s, a), k in sorted(kinds.items()) if a == REGRADE and k == "right")
        report["regrade"] = regrade(submitted, root / "engine", student)
        r = report["regrade"]
        print(
            f"  regrade {student}/{REGRADE}  {r['regrade_s']:5.2f} s = {r['regrade_over_import_torch']:.2f} x "
            f"import torch ({r['import_torch_s']:.2f} s); other rows unchanged: {r['other_rows_unchanged']}"
        )
    print(json.dumps(report), flush=True)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[7, 40])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    gradebook_template()  # built once per checkout, as `make grade` does, not timed
    for k, students in enumerate(args.students):
        with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
            bench_class(Path(tmp), students, args.workers, with_regrade=k == 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
