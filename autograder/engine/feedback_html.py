"""One HTML feedback page per student and assignment, from the engine's result.

The page is the student's own notebook with each test cell's verdict as its output. Test
cells show the solution's visible test code; hidden tests are removed with nbgrader's own
ClearHiddenTests (autograder.feedback.HideHiddenTests), and an error shows only its message.
"""

import copy
import html
from functools import cache

import nbformat
from nbconvert import HTMLExporter

from autograder.feedback import HideHiddenTests
from autograder.submissions import grade_id


@cache
def _exporter() -> HTMLExporter:
    return HTMLExporter(template_name="lab")


def _summary(student: str, assignment: str, result: dict) -> str:
    got = sum(c["score"] for c in result["cells"])
    most = sum(c["max_score"] for c in result["cells"])

    def cell_text(message: str) -> str:
        return html.escape(message)[:300].replace("|", "&#124;")

    rows = "\n".join(
        f"| `{c['cell']}` | {c['score']:g} / {c['max_score']:g} | {cell_text(c['message'])} |"
        for c in result["cells"]
    )
    notes = "".join(f"\n- {html.escape(n)}" for n in result.get("notes", []))
    return (
        f"# Feedback: {assignment} for {student}\n\n**Score: {got:g} / {most:g}**\n\n"
        f"| test | points | result |\n| --- | --- | --- |\n{rows}\n"
        + (f"\n**Notes**{notes}\n" if notes else "")
    )


def render(student: str, assignment: str, nb, tests: dict, result: dict) -> str:
    """`nb` is the restored submission; `tests` maps grade_id to (source, points)."""
    nb = copy.deepcopy(nb)
    verdicts = {c["cell"]: c for c in result["cells"]}
    hide = HideHiddenTests()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        gid = grade_id(cell)
        cell.execution_count = None
        if gid in verdicts:
            verdict = verdicts[gid]
            cell.source = tests[gid][0]
            cell, _ = hide.preprocess_cell(cell, {}, index)
            if verdict["score"] >= verdict["max_score"]:
                text = f"passed: {verdict['score']:g} / {verdict['max_score']:g} points\n"
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
            else:
                ename, _, evalue = verdict["message"].partition(": ")
                cell.outputs = [
                    nbformat.v4.new_output(
                        "error",
                        ename=ename,
                        evalue=evalue,
                        traceback=[f"{verdict['message']}  (0 / {verdict['max_score']:g} points)"],
                    )
                ]
        else:
            text = result["outputs"].get(gid or f"cell {index}", "")
            cell.outputs = (
                [nbformat.v4.new_output("stream", name="stdout", text=text)] if text else []
            )
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(_summary(student, assignment, result)))
    body, _ = _exporter().from_notebook_node(nb)
    return body
