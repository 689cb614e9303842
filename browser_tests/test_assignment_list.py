"""A student's Nbgrader → Assignment List in `make lab` works out of the box: nbgrader's exchange
is the course's (a git-ignored folder of the repository), so the released assignments are
listed, with their Fetch buttons, and no panel says the exchange directory does not exist."""

import subprocess
import sys
from pathlib import Path

from autograder.course import ASSIGNMENTS
from browser_tests import ui

RELEASED = ASSIGNMENTS[:2]
NO_EXCHANGE = "exchange directory does not exist"


def test_assignment_list_shows_the_released_assignments(page, lab, screenshots):
    nbgrader = str(Path(sys.prefix) / "bin" / "nbgrader")
    for assignment in RELEASED:  # the instructor's make release-exchange, in the scratch course
        done = subprocess.run(
            [nbgrader, "release_assignment", assignment, "--force"],
            cwd=lab.root, capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    page.goto(lab.url("/lab/workspaces/bt-assignment-list/tree/lessons"))
    page.locator(".lm-MenuBar").get_by_role("menuitem", name="Nbgrader", exact=True).click()
    menu = page.locator(".lm-Menu")
    menu.get_by_role("menuitem", name="Assignment List", exact=True).first.click()
    for assignment in RELEASED:
        page.get_by_text(assignment, exact=True).first.wait_for(timeout=ui.PAGE_TIMEOUT_MS)
    page.get_by_role("button", name="Fetch").first.wait_for()
    ui.shot(page, screenshots, "nbgrader-5-assignment-list")
    assert NO_EXCHANGE not in page.content()
