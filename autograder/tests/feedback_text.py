"""What a student sees in a feedback page, and which test lines must never be in it."""

import ast
import html
import re

import nbformat

from autograder.course import SOLUTIONS, notebook


def visible_text(path):
    """The text a student reads in an HTML feedback page (tags stripped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def _answers_lines(source: str) -> set[int]:
    """Line numbers (1-based) of the `@answers` functions of a test cell: they run in the
    student's process, so the student's code can see them (docs/AUTHORING.md)."""
    lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Name) and d.id == "answers" for d in node.decorator_list
        ):
            lines |= set(range(node.lineno - len(node.decorator_list), node.end_lineno + 1))
    return lines


def hidden_lines(assignment):
    """Lines of hidden tests that only the grader runs (a line also shown to students, or one
    of an `@answers` function, which runs next to the student's code, is no secret)."""
    nb = nbformat.read(notebook(SOLUTIONS, assignment), as_version=4)
    hidden, shown = set(), set()
    pattern = r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS"
    for cell in nb.cells:
        is_test = cell.cell_type == "code" and "answers" in cell.source
        sandbox_side = _answers_lines(cell.source) if is_test else set()
        for match in re.finditer(pattern, cell.source, re.S):
            first = cell.source[: match.start(1)].count("\n") + 1
            for offset, line in enumerate(match.group(1).splitlines()):
                if len(line.strip()) > 25 and first + offset not in sandbox_side:
                    hidden.add(line.strip())
        shown |= {ln.strip() for ln in re.sub(pattern, "", cell.source, flags=re.S).splitlines()}
    return sorted(hidden - shown)


def leaked_lines(page, assignment) -> list[str]:
    """Hidden-test lines that appear, as whole lines, in a feedback page."""
    shown = {ln.strip() for ln in visible_text(page).splitlines()}
    return [ln for ln in hidden_lines(assignment) if ln in shown]
