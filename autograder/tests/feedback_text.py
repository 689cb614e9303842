"""What a student sees in a feedback page, and which test lines must never be in it."""

import html
import re

import nbformat

from autograder.course import SOLUTIONS, notebook


def visible_text(path):
    """The text a student reads in an HTML feedback page (tags stripped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def hidden_lines(assignment):
    """Lines that only hidden tests contain (a line also shown to students is no secret)."""
    nb = nbformat.read(notebook(SOLUTIONS, assignment), as_version=4)
    hidden, shown = set(), set()
    pattern = r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS"
    for cell in nb.cells:
        for block in re.findall(pattern, cell.source, re.S):
            hidden |= {ln.strip() for ln in block.splitlines() if len(ln.strip()) > 25}
        shown |= {ln.strip() for ln in re.sub(pattern, "", cell.source, flags=re.S).splitlines()}
    return sorted(hidden - shown)


def leaked_lines(page, assignment) -> list[str]:
    """Hidden-test lines that appear, as whole lines, in a feedback page."""
    shown = {ln.strip() for ln in visible_text(page).splitlines()}
    return [ln for ln in hidden_lines(assignment) if ln in shown]
