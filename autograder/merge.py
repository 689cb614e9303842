"""Join grading results (one JSON file per submission, from one or many shards) into the class's grades.

    python -m autograder.merge --out grading RESULTS_DIR [RESULTS_DIR ...]

Writes, under --out: gradebook.db (nbgrader's gradebook, so that Formgrader and
`nbgrader export` see the scores), grades.csv (the columns of `nbgrader export`, one row per
student and assignment) and cells.csv (student_id, assignment, cell, score, max_score, message).
A student with no result for an assignment scores 0 there ("no submission").
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.course import ASSIGNMENTS
from autograder.nbgrader_cli import nbgrader
from autograder.report import summary_table, write_cells_csv


def result_path(out: Path, student: str, assignment: str) -> Path:
    return out / "results" / student / f"{assignment}.json"


def write_result(out: Path, result: dict) -> None:
    path = result_path(out, result["student"], result["assignment"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, sort_keys=True))
    tmp.replace(path)  # a result file is whole or absent, even if the grader is killed


def load_results(dirs: list[Path]) -> tuple[list[str], dict]:
    students, results = set(), {}
    for folder in dirs:
        if not folder.is_dir():
            raise SystemExit(
                f"error: no results folder {folder}; give the results/ folders of the shards"
            )
        for student_dir in folder.iterdir():
            if student_dir.is_dir():
                students.add(student_dir.name)
                for path in student_dir.glob("*.json"):
                    result = json.loads(path.read_text())
                    results[(result["student"], result["assignment"])] = result
    return sorted(students), results


def merge(dirs: list[Path], out: Path, quiet: bool = False) -> str:
    say = (lambda *a: None) if quiet else print
    students, results = load_results(dirs)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("gradebook.db", "grades.csv", "cells.csv"):
        (out / name).unlink(missing_ok=True)
    # The gradebook learns the assignments, notebooks and test cells from nbgrader itself.
    nbgrader("generate_assignment", "*", "--force", root=out, release=out / "release")
    rows = []
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes from nbgrader's API
        for student in students:
            gb.update_or_create_student(student)
        for assignment in ASSIGNMENTS:
            cells = [gc for nb in gb.find_assignment(assignment).notebooks for gc in nb.grade_cells]
            for student in students:
                result = results.get((student, assignment))
                verdict = {c["cell"]: c for c in result["cells"]} if result else {}
                if result:
                    sub = gb.update_or_create_submission(assignment, student)
                    grades = {g.name: g for nb in sub.notebooks for g in nb.grades}
                for gc in cells:
                    v = verdict.get(gc.name, {"score": 0.0, "message": "no submission"})
                    if result:
                        grades[gc.name].auto_score = v["score"]
                    rows.append(
                        {
                            "student_id": student,
                            "assignment": assignment,
                            "cell": gc.name,
                            "score": float(v["score"]),
                            "max_score": float(gc.max_score),
                            "message": v["message"],
                        }
                    )
        gb.db.commit()
    write_cells_csv(rows, out / "cells.csv")
    nbgrader("export", f"--to={out / 'grades.csv'}", root=out)
    table = summary_table(out / "grades.csv", ASSIGNMENTS)
    say(table)
    say(
        f"wrote {out / 'grades.csv'}, {out / 'cells.csv'}, {out / 'gradebook.db'} and {out / 'feedback'}/"
    )
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "results", type=Path, nargs="+", help="results/ folders written by grade_class --shard"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="where grades.csv, cells.csv and gradebook.db go"
    )
    args = parser.parse_args(argv)
    merge([p.resolve() for p in args.results], args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
