"""Grades back to the LMS: the files Moodle and Canvas import, beside nbgrader's grades.csv.

For the students collected from LMS zips (grading/lms/*/_lms.json, written by autograder/lms.py):

- Moodle, per assignment: grading/moodle_<assignment>.csv, its grading worksheet
  (Identifier `Participant 12345`, Full name, Grade, Maximum grade, Feedback comments).
- Canvas: grading/canvas_gradebook.csv, its gradebook (Student, ID, SIS User ID, SIS Login
  ID, Section, then one column per assignment, after a `Points Possible` row).

The grade is grades.csv's score (nbgrader's: the raw score less the late penalty). The
students' names are written into the gradebook too, as nbgrader's first and last names.
"""

import csv
import json
import warnings
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.course import ASSIGNMENTS


def _identities(out: Path) -> dict[str, dict]:
    """lms -> student id -> {"full_name", "first_name", "last_name", "assignments"}."""
    found: dict[str, dict] = {"moodle": {}, "canvas": {}}
    for meta_file in sorted((out / "lms").glob("*/_lms.json")):
        meta = json.loads(meta_file.read_text())
        for sid, who in meta["students"].items():
            entry = found[meta["lms"]].setdefault(sid, {**who, "assignments": set()})
            entry["assignments"].add(meta["assignment"])
    return found


def _grades(out: Path) -> dict[tuple[str, str], dict]:
    with open(out / "grades.csv", newline="") as f:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}


def _number(text: str) -> str:
    value = float(text or 0)
    return f"{value:.2f}".rstrip("0").rstrip(".")


def write(out: Path, say=print) -> list[Path]:
    found = _identities(out)
    if not any(found.values()):
        return []
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore")
        for people in found.values():
            for sid, who in people.items():
                gb.update_or_create_student(
                    sid, first_name=who["first_name"] or None, last_name=who["last_name"] or None
                )
    grades = _grades(out)
    written = []
    moodle = found["moodle"]
    for assignment in ASSIGNMENTS:
        students = [s for s, who in moodle.items() if assignment in who["assignments"]]
        if not students:
            continue
        path = out / f"moodle_{assignment}.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["Identifier", "Full name", "Grade", "Maximum grade", "Feedback comments"])
            for sid in sorted(students, key=int):
                row = grades.get((sid, assignment), {})
                penalty = float(row.get("late_submission_penalty") or 0)
                comment = f"{assignment}: {_number(row.get('raw_score', '0'))} points"
                comment += f", late penalty {_number(str(penalty))}" if penalty else ""
                w.writerow(
                    [
                        f"Participant {sid}",
                        moodle[sid]["full_name"],
                        _number(row.get("score", "0")),
                        _number(row.get("max_score", "0")),
                        comment + "; see your feedback page",
                    ]
                )
        written.append(path)
    canvas = found["canvas"]
    if canvas:
        columns = [a for a in ASSIGNMENTS if any(a in w["assignments"] for w in canvas.values())]
        path = out / "canvas_gradebook.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *columns])
            maxima = [_number(next((r["max_score"] for (s, a), r in grades.items() if a == c), "0")) for c in columns]  # fmt: skip
            w.writerow(["    Points Possible", "", "", "", "", *maxima])
            for sid in sorted(canvas, key=int):
                scores = [_number(grades.get((sid, a), {}).get("score", "0")) for a in columns]
                w.writerow([canvas[sid]["full_name"], sid, "", "", "", *scores])
        written.append(path)
    say("LMS grade files: " + ", ".join(str(p) for p in written))
    return written
