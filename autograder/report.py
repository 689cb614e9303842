"""Per-cell results (cells.csv) and the summary table, read from nbgrader's gradebook."""

import csv
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

CELLS_COLUMNS = ["student_id", "assignment", "cell", "score", "max_score", "message"]
MESSAGE_LIMIT = 300


def cell_message(cell, score: float, max_score: float) -> str:
    """What a grader would say about one test cell: its error, or that it passed."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output['ename']}: {output['evalue']}"[:MESSAGE_LIMIT]
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return f"wrote to stderr (nbgrader scores that 0): {output['text'].strip()}"[
                :MESSAGE_LIMIT
            ]
    return "passed" if score >= max_score else "partial credit"


def _autograded_cells(autograded: Path, student: str, assignment: str) -> dict:
    path = autograded / student / assignment / f"{assignment}.ipynb"
    if not path.is_file():
        return {}
    nb = nbformat.read(path, as_version=4)
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def cell_rows(db_url: str, autograded: Path, students, assignments, problems) -> list[dict]:
    """One row per student, assignment and graded cell; missing work scores 0 with a reason."""
    reasons = {(s, a): why for s, a, why in problems}
    rows = []
    with Gradebook(db_url) as gb:
        for assignment in assignments:
            cells = [gc for nb in gb.find_assignment(assignment).notebooks for gc in nb.grade_cells]
            for student in students:
                try:
                    sub = gb.find_submission(assignment, student)
                    grades = {g.name: g for nb in sub.notebooks for g in nb.grades}
                except MissingEntry:
                    grades = {}
                outputs = _autograded_cells(autograded, student, assignment)
                for gc in cells:
                    grade = grades.get(gc.name)
                    if grade is None or gc.name not in outputs:
                        score = 0.0
                        message = reasons.get((student, assignment), "no submission")
                    else:
                        score = float(grade.score)
                        message = cell_message(outputs[gc.name], score, gc.max_score)
                    rows.append(
                        {
                            "student_id": student,
                            "assignment": assignment,
                            "cell": gc.name,
                            "score": score,
                            "max_score": float(gc.max_score),
                            "message": message,
                        }
                    )
    return rows


def write_cells_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CELLS_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def summary_table(grades_csv: Path, assignments: list[str]) -> str:
    """Students down, assignments across, `score/max` in each cell, total at the right."""
    with open(grades_csv, newline="") as f:
        grades = list(csv.DictReader(f))
    students = sorted({g["student_id"] for g in grades})
    by = {(g["student_id"], g["assignment"]): g for g in grades}
    short = [a.split("_")[0] for a in assignments]
    width = max([len("student"), *map(len, students)])
    lines = [f"{'student':<{width}}  " + "  ".join(f"{s:>9}" for s in short) + f"  {'total':>11}"]
    for student in students:
        cells, total, total_max = [], 0.0, 0.0
        for a in assignments:
            g = by.get((student, a))
            score, most = (float(g["score"]), float(g["max_score"])) if g else (0.0, 0.0)
            total, total_max = total + score, total_max + most
            cells.append(f"{score:g}/{most:g}".rjust(9))
        lines.append(
            f"{student:<{width}}  " + "  ".join(cells) + f"  {f'{total:g}/{total_max:g}':>11}"
        )
    return "\n".join(lines)
