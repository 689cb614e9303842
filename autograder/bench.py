"""`make bench`: grade one generated class twice, with this engine and with plain nbgrader.

    python -m autograder.bench [--students 40] [--workers N]

The class mixes right answers (the reference and the alternative ones), realistic wrong
answers, blank notebooks, faults (a crash, an infinite loop, a flood of output) and
notebooks saved by Colab. It prints notebooks per minute for each grader and the ratio,
whether the scores agree on the submissions that nbgrader grades correctly (no faults),
and the floor: one Python process per notebook with torch imported that runs the
notebook's own cells, with nothing else.
"""

import argparse
import csv
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course import ASSIGNMENTS
from autograder.engine.config import Config
from autograder.grade_class import grade_class
from autograder.nbgrader_grade import grade_class as nbgrader_grade_class
from autograder.submissions import filled, reference_answers, write_submission
from autograder.tests.variants import Variant
from autograder.tests.variants import load as variants

FAULTS = {
    "crash": "import os\nos._exit(1)\n",
    "infinite_loop": "while True:\n    pass\n",
    "output_flood": "for i in range(10**6):\n    print('spam', i)\n",
}
FAULT_TIMEOUT_S = 20.0


def make_class(root: Path, students: int) -> dict[tuple[str, str], str]:
    """Write the class; returns the kind of each (student, assignment)."""
    kinds = {}
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
    return kinds


def floor_seconds(root: Path, samples: int = 6) -> float:
    """One process per notebook: start Python, import torch, run the notebook's own cells."""
    script = (
        "import sys, nbformat, torch\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "ns = {'__name__': '__main__'}\n"
        "for cell in nb.cells:\n"
        "    if cell.cell_type == 'code':\n"
        "        try:\n"
        "            exec(cell.source, ns)\n"
        "        except Exception:\n"
        "            pass\n"
    )
    times = []
    for assignment in ASSIGNMENTS[:samples]:
        path = root / "floor" / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(filled(assignment, reference_answers(assignment)), path)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", script, str(path)],
            cwd=path.parent,
            capture_output=True,
            check=False,
        )
        times.append(time.perf_counter() - start)
    return statistics.mean(times)


def cell_scores(cells_csv: Path) -> dict:
    with open(cells_csv, newline="") as f:
        return {
            (r["student_id"], r["assignment"], r["cell"]): float(r["score"])
            for r in csv.DictReader(f)
        }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        root = Path(tmp)
        kinds = make_class(root / "submitted", args.students)
        n = len(kinds)
        print(f"class: {args.students} students x {len(ASSIGNMENTS)} assignments = {n} notebooks")
        print(
            "mix: "
            + ", ".join(
                f"{k} {sum(v == k for v in kinds.values())}" for k in sorted(set(kinds.values()))
            )
        )

        engine = grade_class(
            root / "submitted",
            root / "engine",
            workers=args.workers,
            quiet=False,
            config=Config(cell_timeout_s=FAULT_TIMEOUT_S),
        )
        print(f"this engine: {engine['seconds']:.1f} s for {n} notebooks")
        start = time.perf_counter()
        nbgrader_grade_class(root / "submitted", root / "nbgrader", quiet=True)
        nbgrader_s = time.perf_counter() - start
        print(f"plain nbgrader autograde: {nbgrader_s:.1f} s for {n} notebooks")

        floor = floor_seconds(root)
        workers = engine["workers"]
        mine, theirs = (
            cell_scores(root / "engine" / "cells.csv"),
            cell_scores(root / "nbgrader" / "cells.csv"),
        )
        clean = [
            key for key in mine if kinds.get(key[:2], "").startswith(("right", "wrong", "blank"))
        ]
        disagree = [key for key in clean if mine[key] != theirs.get(key)]

        engine_rate, nbgrader_rate = n / engine["seconds"] * 60, n / nbgrader_s * 60
        per_core = engine["seconds"] * workers / n
        report = {
            "notebooks": n,
            "workers": workers,
            "engine_notebooks_per_min": round(engine_rate, 1),
            "nbgrader_notebooks_per_min": round(nbgrader_rate, 1),
            "throughput_ratio": round(engine_rate / nbgrader_rate, 2),
            "floor_s_per_notebook": round(floor, 2),
            "engine_core_s_per_notebook": round(per_core, 2),
            "engine_cost_over_floor": round(per_core / floor, 2),
            "cells_compared": len(clean),
            "cells_disagreeing": len(disagree),
        }
        print()
        print(f"  this engine        {engine_rate:7.1f} notebooks/min ({workers} workers)")
        print(f"  plain nbgrader     {nbgrader_rate:7.1f} notebooks/min")
        print(f"  ratio              {engine_rate / nbgrader_rate:7.2f} x   (target >= 5)")
        print(
            f"  floor              {floor:7.2f} s per notebook (python + import torch + the notebook's cells)"
        )
        print(
            f"  engine cost        {per_core:7.2f} core-s per notebook = {per_core / floor:.2f} x floor (target <= 2)"
        )
        print(
            f"  scores agree       {len(clean) - len(disagree)}/{len(clean)} test cells on fault-free notebooks"
        )
        for key in disagree[:10]:
            print(f"    differs: {key}: engine {mine[key]} nbgrader {theirs.get(key)}")
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
