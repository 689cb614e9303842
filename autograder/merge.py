"""Join grading results (one JSON file per submission, from one or many shards) into the class's grades.

    python -m autograder.merge --out grading RESULTS_DIR [RESULTS_DIR ...]

Updates, under --out: gradebook.db (nbgrader's gradebook, so that Formgrader and
`nbgrader export` see the scores), grades.csv (the columns of `nbgrader export`, one row per
student and assignment) and cells.csv (student_id, assignment, cell, score, max_score, message).
A student with no result for an assignment scores 0 there ("no submission").

The gradebook is updated in place, as `nbgrader autograde` does it (SaveAutoGrades): each
test cell's automatic score and `needs_manual_grade`, each answer cell's automatic comment.
Manual scores, extra credit and comments typed into Formgrader are never touched, so they
survive a regrade; grades.csv follows nbgrader (a manual score wins), cells.csv shows the
automatic score. The gradebook's assignments, notebooks and cells are built from solutions/
(`nbgrader generate_assignment`) only when they are missing or solutions/ changed
(.solutions-hash in --out records what they were built from). `fresh_start` starts afresh.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import warnings
from importlib.metadata import version
from pathlib import Path

from nbgrader import utils
from nbgrader.api import (
    Comment,
    Grade,
    Gradebook,
    MissingEntry,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)
from nbgrader.plugins.export import CsvExportPlugin

from autograder.course import ASSIGNMENTS, CACHE, SOLUTIONS
from autograder.nbgrader_cli import nbgrader
from autograder.report import summary_table, write_cells_csv

HASH_FILE = ".solutions-hash"
NO_RESPONSE = "No response."  # nbgrader's automatic comment on an answer cell left as released


def result_path(out: Path, student: str, assignment: str) -> Path:
    return out / "results" / student / f"{assignment}.json"


def write_result(out: Path, result: dict) -> None:
    path = result_path(out, result["student"], result["assignment"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, sort_keys=True))
    tmp.replace(path)  # a result file is whole or absent, even if the grader is killed


def unanswered(nb) -> list[str]:
    """The answer cells of a submission left as released: nbgrader comments "No response."

    For the engine to record as result["unanswered"]; `nb` is the restored submission.
    """
    return [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in nb.cells
        if utils.is_solution(cell)
        and not utils.is_task(cell)
        and cell.metadata["nbgrader"].get("checksum") == utils.compute_checksum(cell)
    ]


def fresh_start(out: Path) -> None:
    """Forget every grade: the gradebook (manual grades too), grades, cells, results, feedback."""
    for name in ("gradebook.db", "grades.csv", "cells.csv", HASH_FILE):
        (out / name).unlink(missing_ok=True)
    for name in ("results", "feedback"):
        shutil.rmtree(out / name, ignore_errors=True)


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


def solutions_hash() -> str:
    """What the gradebook's assignments are built from: solutions/ and nbgrader's version."""
    digest = hashlib.sha256(f"nbgrader {version('nbgrader')}\n".encode())
    for path in sorted(SOLUTIONS.rglob("*")):
        rel = path.relative_to(SOLUTIONS)
        if any(p.startswith(".") or p == "__pycache__" for p in rel.parts) or path.suffix == ".pyc":
            continue
        if path.is_file():
            digest.update(f"{rel.as_posix()}\n{path.stat().st_size}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _gradebook(out: Path) -> Gradebook:
    return Gradebook(f"sqlite:///{out / 'gradebook.db'}")


def _manual_state(gb: Gradebook, assignment: str) -> dict:
    """What graders typed for `assignment`, per student (to put back after a rebuild)."""
    saved = {}
    for sub in gb.find_assignment(assignment).submissions:
        saved[sub.student.id] = {
            "extension": sub.extension,
            "grades": {
                (nb.name, g.name): (g.manual_score, g.extra_credit)
                for nb in sub.notebooks
                for g in nb.grades
            },
            "comments": {
                (nb.name, c.name): c.manual_comment for nb in sub.notebooks for c in nb.comments
            },
            "flagged": {nb.name: nb.flagged for nb in sub.notebooks},
        }
    return saved


def _put_back(gb: Gradebook, assignment: str, saved: dict) -> None:
    for student, state in saved.items():
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            continue  # no result for this student any more: nothing to attach it to
        sub.extension = state["extension"]
        for nb in sub.notebooks:
            nb.flagged = state["flagged"].get(nb.name, nb.flagged)
            for g in nb.grades:
                g.manual_score, g.extra_credit = state["grades"].get(
                    (nb.name, g.name), (None, None)
                )
                if g.manual_score is not None:
                    g.needs_manual_grade = True  # as SaveAutoGrades: a manual grade is reviewed
            for c in nb.comments:
                c.manual_comment = state["comments"].get((nb.name, c.name))
    gb.db.commit()


def gradebook_template(wanted: str | None = None, say=print) -> Path:
    """A gradebook with the course's assignments and cells and nothing else, built from
    solutions/ once per checkout (per solutions hash) and copied into each new grading folder."""
    wanted = wanted or solutions_hash()
    path = CACHE / f"gradebook-{wanted[:16]}.db"
    if path.is_file():
        return path
    say("building the gradebook's assignments from solutions/ (once, until solutions/ changes)")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="build-") as tmp:
        nbgrader(
            "generate_assignment", "*", "--force", root=Path(tmp), release=Path(tmp) / "release"
        )
        os.replace(Path(tmp) / "gradebook.db", path)  # whole or absent, even for two at once
    for old in CACHE.glob("gradebook-*.db"):  # templates of earlier solutions
        if old != path:
            old.unlink(missing_ok=True)
    return path


def ensure_gradebook(out: Path, say=print) -> dict:
    """Build or update the gradebook's assignments from solutions/ when they changed.

    Returns the manual grades of assignments that had to be rebuilt without their
    submissions (nbgrader refuses to add or remove cells of a notebook with submissions);
    `merge` puts them back once the submissions are recreated.
    """
    db = out / "gradebook.db"
    wanted = solutions_hash()
    hash_file = out / HASH_FILE
    if db.is_file() and hash_file.is_file() and hash_file.read_text().strip() == wanted:
        with _gradebook(out) as gb:
            if {a.name for a in gb.assignments} == set(ASSIGNMENTS):
                return {}
    out.mkdir(parents=True, exist_ok=True)
    hash_file.unlink(missing_ok=True)
    if not db.is_file():
        try:
            shutil.copyfile(gradebook_template(wanted, say), db)
            hash_file.write_text(wanted + "\n")
            return {}
        except OSError as err:  # a checkout this user cannot write to: build it here instead
            say(f"note: no gradebook template in {CACHE} ({err.strerror}); building it in {out}")
    say("building the gradebook's assignments from solutions/ (they changed or are missing)")
    saved = {}
    if db.is_file():
        with warnings.catch_warnings(), _gradebook(out) as gb:
            warnings.simplefilter("ignore")
            for assignment in [a.name for a in gb.assignments]:
                if assignment not in ASSIGNMENTS:
                    gb.remove_assignment(assignment)  # gone from the course, with its grades
    everything = nbgrader(
        "generate_assignment", "*", "--force", root=out, release=out / "release", check=False
    )
    for assignment in [] if everything.returncode == 0 else _failed(everything):
        # Alone, to see why nbgrader refused to update it: cells were added or removed while
        # it has submissions. It is rebuilt without them; what graders typed is kept and put
        # back on the cells that still exist.
        proc = nbgrader(
            "generate_assignment", assignment, "--force", root=out, release=out / "release",
            check=False,
        )  # fmt: skip
        if proc.returncode != 0 and "because there are submissions" in proc.stdout + proc.stderr:
            with warnings.catch_warnings(), _gradebook(out) as gb:
                warnings.simplefilter("ignore")
                saved[assignment] = _manual_state(gb, assignment)
                for sub in list(gb.find_assignment(assignment).submissions):
                    gb.remove_submission(assignment, sub.student.id)
            proc = nbgrader(
                "generate_assignment", assignment, "--force", root=out, release=out / "release",
                check=False,
            )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(
                f"nbgrader generate_assignment {assignment} failed:\n{proc.stdout}{proc.stderr}"
            )
    hash_file.write_text(wanted + "\n")
    return saved


def _failed(proc) -> list[str]:
    """The assignments a failed `generate_assignment "*"` names (it goes on past a failure and
    lists them at the end); all of them when it names none of the course's."""
    named = re.findall(r"error processing assignment '([^']+)'", proc.stdout + proc.stderr)
    return [a for a in ASSIGNMENTS if a in named] or list(ASSIGNMENTS)


class _Cells:
    """One assignment's cells in the gradebook, by id (loaded once, so that no grade or
    comment has to load its cell to say what it is)."""

    def __init__(self, assignment):
        self.notebooks = list(assignment.notebooks)
        self.graded = [gc for nb in self.notebooks for gc in nb.grade_cells]
        self.grade_names = {gc.id: gc.name for gc in self.graded}
        self.answer_names = {sc.id: sc.name for nb in self.notebooks for sc in nb.solution_cells}


def _add_submission(gb: Gradebook, assignment, student, cells: _Cells) -> SubmittedAssignment:
    """What `Gradebook.add_submission` creates (a submission mirroring every notebook's
    grade, solution and task cells), without its commit per submission: the merge commits
    once per assignment."""
    sub = SubmittedAssignment(assignment=assignment, student=student)
    for notebook in cells.notebooks:
        nb = SubmittedNotebook(notebook=notebook, assignment=sub)
        for cell in notebook.grade_cells:
            Grade(cell_id=cell.id, notebook=nb)
        for cell in notebook.solution_cells:
            Comment(cell_id=cell.id, notebook=nb)
        for cell in notebook.task_cells:
            Comment(cell_id=cell.id, notebook=nb)
            Grade(cell_id=cell.id, notebook=nb)
    gb.db.add(sub)
    return sub


def _save_auto_grades(sub, result: dict, cells: _Cells) -> None:
    """One submission's automatic grades and comments, exactly as SaveAutoGrades sets them."""
    verdict = {c["cell"]: c for c in result["cells"]}
    no_response = set(result.get("unanswered", []))
    for nb in sub.notebooks:
        for grade in nb.grades:
            name = cells.grade_names.get(grade.cell_id)
            if name is None:
                continue  # task cells are graded by hand
            v = verdict.get(name)
            grade.auto_score = float(v["score"]) if v is not None else None
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        for comment in nb.comments:  # task cells' comments are None, as in SaveAutoGrades
            answer = cells.answer_names.get(comment.cell_id) in no_response
            comment.auto_comment = NO_RESPONSE if answer else None


def _export_grades(gb: Gradebook, path: Path) -> None:
    """grades.csv, written by nbgrader's own `nbgrader export` plugin (in this process)."""
    tmp = path.with_suffix(".csv.tmp")
    CsvExportPlugin(to=str(tmp)).export(gb)
    tmp.replace(path)


def merge(dirs: list[Path], out: Path, quiet: bool = False) -> str:
    """Read every result under `dirs`; update gradebook.db, grades.csv and cells.csv in `out`."""
    say = (lambda *a: None) if quiet else print
    students, results = load_results(dirs)
    out.mkdir(parents=True, exist_ok=True)
    saved = ensure_gradebook(out, say)
    rows = []
    with warnings.catch_warnings(), _gradebook(out) as gb, gb.db.no_autoflush:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes from nbgrader's API
        known = {s.id: s for s in gb.students}
        for student in students:
            if student not in known:
                known[student] = Student(id=student)
                gb.db.add(known[student])
        everyone = sorted(known)
        for assignment in ASSIGNMENTS:
            found = gb.find_assignment(assignment)
            cells = _Cells(found)
            subs = {s.student_id: s for s in found.submissions}
            for student in everyone:
                result = results.get((student, assignment))
                sub = subs.get(student)
                if result is not None:
                    if sub is None:
                        sub = _add_submission(gb, found, known[student], cells)
                    _save_auto_grades(sub, result, cells)
                verdict = {c["cell"]: c for c in result["cells"]} if result else {}
                grades = (
                    {
                        cells.grade_names[g.cell_id]: g
                        for nb in sub.notebooks
                        for g in nb.grades
                        if g.cell_id in cells.grade_names
                    }
                    if sub
                    else {}
                )
                for gc in cells.graded:
                    grade = grades.get(gc.name)
                    if grade is None:
                        score, message = 0.0, "no submission"
                    elif gc.name in verdict:
                        score, message = grade.auto_score or 0.0, verdict[gc.name]["message"]
                    else:
                        score = grade.auto_score or 0.0
                        message = "no result for this cell; score from the gradebook"
                    rows.append(
                        {
                            "student_id": student,
                            "assignment": assignment,
                            "cell": gc.name,
                            "score": float(score),
                            "max_score": float(gc.max_score),
                            "message": message,
                        }
                    )
            gb.db.commit()
            if assignment in saved:
                _put_back(gb, assignment, saved[assignment])
        _export_grades(gb, out / "grades.csv")
    tmp = out / "cells.csv.tmp"
    write_cells_csv(rows, tmp)
    os.replace(tmp, out / "cells.csv")
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
