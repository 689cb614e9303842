"""Grade a class with plain `nbgrader autograde`: the baseline that `make bench` compares against.

    python -m autograder.nbgrader_grade [--submissions DIR] [--out DIR]

DIR is laid out as nbgrader's submitted/ step: DIR/<student_id>/<assignment>/<assignment>.ipynb.
Without --submissions the bundled demo class (autograder/demo_submissions/) is graded.
Outputs, all under --out: grades.csv (nbgrader export), cells.csv, feedback/<student>/<assignment>/.
The submissions folder itself is never modified; grading works on a copy.
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.collect import collect
from autograder.course import ASSIGNMENTS, DEMO_SUBMISSIONS, GRADING
from autograder.nbgrader_cli import nbgrader
from autograder.report import cell_rows, summary_table, write_cells_csv
from autograder.restore import restore
from autograder.submissions import released

GENERATED = [
    "submitted",
    "autograded",
    "feedback",
    "release",
    "gradebook.db",
    "grades.csv",
    "cells.csv",
]


def grade_class(
    submissions: Path, out: Path = GRADING, quiet: bool = False, timeout_s: float | None = None
) -> dict:
    """`timeout_s`: nbgrader's limit per cell (its ExecutePreprocessor.timeout; default 30 s)."""
    say = (lambda *a: None) if quiet else print
    found = collect(submissions)
    for student, where, why in found.problems:
        say(f"warning: {student}/{where}: {why}")

    out.mkdir(parents=True, exist_ok=True)
    for name in GENERATED:  # regrading starts from nothing, so it gives identical results
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    for sub in found.submissions:
        dest = out / "submitted" / sub.student / sub.assignment
        shutil.copytree(sub.folder, dest)
        expected = dest / f"{sub.assignment}.ipynb"
        if sub.notebook.name != expected.name:
            (dest / sub.notebook.name).rename(expected)
        nb = nbformat.read(expected, as_version=4)
        notes = restore(nb, released(sub.assignment))
        if notes:
            say(f"note: {sub.student}/{sub.assignment}: {len(notes)} repairs, e.g. {notes[0]}")
        nbformat.write(nb, expected)

    db_url = f"sqlite:///{out / 'gradebook.db'}"
    start = time.perf_counter()
    say(f"grading {len(found.submissions)} notebooks from {len(found.students)} students ...")
    nbgrader("generate_assignment", "*", "--force", root=out, release=out / "release")
    with Gradebook(db_url) as gb:  # students with nothing gradable still get rows
        for student in found.students:
            gb.update_or_create_student(student)
    if found.submissions:
        limit = [] if timeout_s is None else [f"--ExecutePreprocessor.timeout={timeout_s:g}"]
        graded = nbgrader("autograde", "*", "--create", "--force", *limit, root=out, check=False)
        if graded.returncode != 0:
            say("warning: nbgrader could not grade some notebooks; see cells.csv for which")
        nbgrader("generate_feedback", "*", "--force", root=out, check=False)
    nbgrader("export", f"--to={out / 'grades.csv'}", root=out)

    rows = cell_rows(
        db_url,
        out / "autograded",
        found.students,
        ASSIGNMENTS,
        found.problems,
    )
    write_cells_csv(rows, out / "cells.csv")
    elapsed = time.perf_counter() - start
    say(summary_table(out / "grades.csv", ASSIGNMENTS))
    n = max(len(found.submissions), 1)
    say(
        f"graded {len(found.submissions)} notebooks in {elapsed:.1f} s ({elapsed / n:.1f} s each); "
        f"wrote {out / 'grades.csv'}, {out / 'cells.csv'} and {out / 'feedback'}/"
    )
    return {"rows": rows, "collected": found, "seconds": elapsed}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--submissions", type=Path, default=DEMO_SUBMISSIONS, help="DIR/<student>/<assignment>/"
    )
    parser.add_argument(
        "--out", type=Path, default=GRADING, help="where results go (default grading/)"
    )
    args = parser.parse_args(argv)
    grade_class(args.submissions.resolve(), args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
