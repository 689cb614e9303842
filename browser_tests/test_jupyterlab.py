"""The course as a student and an instructor meet it: JupyterLab in a real (headless) Chromium.

1. `make lab`'s landing page shows the lessons.
2. Every lesson runs from Run → Run All Cells with no error output except in the cells tagged
   `raises-exception` (which must show their error), and every stored plot renders as an image.
   Then its last cell's exercise link opens exercise NN in JupyterLab, next to that exercise's
   Colab badge (every lesson of the Japanese edition too, without running it; the first one
   shows its Japanese prose in a real Japanese font).
3. An exercise: a correct answer typed into a solution cell passes its visible test; a wrong one
   shows the test's expected-vs-got message.
4. nbgrader's Lab extension is there for instructors: its menu, the Formgrader command, the
   Validate button, and the Formgrader itself.
5. A student's Nbgrader → Assignment List works out of the box: nbgrader's exchange is the
   course's (a git-ignored folder of the repository), so the released assignments are listed
   with their Fetch buttons, and no panel says the exchange directory does not exist.

Everything happens in a scratch copy of the course (see lab.py): nothing here writes to the
repository except screenshots/.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.course import ASSIGNMENTS
from browser_tests import ui
from browser_tests.lab import REPO
from tools.course_config import colab_url
from tools.notebook_hygiene import exercise_of

LESSONS = sorted((REPO / "lessons").glob("*.ipynb"))
JA_LESSONS = sorted((REPO / "lessons" / "ja").glob("*.ipynb"))  # the Japanese edition
JA_LESSON = REPO / "lessons" / "ja" / "01_conv1d.ipynb"  # checked for its Japanese prose

# The exercise to type into (the first of these that exercises/ has): the solution cell that
# gets a wrong answer, that wrong answer, its visible test, and the message that test must show.
EXERCISES = {
    "ex03_linear": {
        "solution": "fc1",
        "test": "test_fc1",
        "wrong": "fc1 = nn.Linear(1024, 128)\nout1 = fc1(x)\n",
        "message": "out1 should have shape (32, 256) but has (32, 128)",
    },
    "ex01_conv1d": {
        "solution": "conv_x_y",
        "test": "test_conv_x_y",
        "wrong": "conv = nn.Conv1d(2, 3, 5)\nx = torch.rand(4, 2, 7)\ny = conv(x)\n",
        "message": "x should have shape (4, 2, 6) = (batch, channels, length) but has (4, 2, 7)",
    },
}


FORMGRADER_API_FAILED = "500 GET /formgrader/api/assignments"
RELEASED = ASSIGNMENTS[:2]  # released to the exchange by the Assignment List test
NO_EXCHANGE = "exchange directory does not exist"


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_solution(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def solution_code(source: str) -> str:
    """The code between ### BEGIN SOLUTION and ### END SOLUTION in a solution cell."""
    match = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", source, flags=re.DOTALL)
    assert match, f"no solution region in:\n{source}"
    return match.group(1)


def stderr_text(shown: dict) -> str:
    return "\n".join(o["text"] for o in shown["outputs"] if o["mime"] == ui.STDERR)


def test_lab_opens_on_the_lessons(page, lab, screenshots):
    """`make lab`'s URL lands in the file browser on lessons/, with every lesson listed."""
    page.goto(lab.url("/"), timeout=ui.PAGE_TIMEOUT_MS)
    page.wait_for_url(re.compile(re.escape(lab.default_url)), timeout=ui.PAGE_TIMEOUT_MS)
    listing = page.locator(".jp-DirListing-content")
    for lesson in LESSONS:
        listing.locator(".jp-DirListing-itemText", has_text=lesson.name).wait_for()
    ui.shot(page, screenshots, "00-lab-home")


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_in_jupyterlab(page, lab, screenshots, lesson):
    nb = nbformat.read(lesson, as_version=4)
    ui.open_notebook(
        page, lab.url(f"/lab/workspaces/bt-{lesson.stem}/tree/{rel(lesson)}"), len(nb.cells)
    )
    # Clear the stored outputs first, so that everything shown afterwards comes from this run.
    ui.menu(page, "Edit", "Clear Outputs of All Cells")
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    ui.menu(page, "Run", "Run All Cells")
    seconds = ui.wait_execution_done(page, last_cell=code_cells[-1])
    ui.wait_images_loaded(page)
    shown = ui.cells(page)
    print(f"{lesson.name}: ran in {seconds:.1f} s in the browser")

    problems = []
    for count, i in enumerate(code_cells, start=1):
        stored, seen = nb.cells[i], shown[i]
        assert seen["kind"] == "code", f"cell {i} of the page is not the file's code cell {i}"
        # A fresh kernel, every cell in order: [1], [2], ...
        if seen["prompt"] != f"[{count}]:":
            problems.append(f"cell {i} shows {seen['prompt']!r}, not [{count}]: (did it run?)")
        errors = stderr_text(seen)
        if "raises-exception" in tags(stored):
            expected = [o["ename"] for o in stored.outputs if o.output_type == "error"]
            if not all(name in errors for name in expected):
                problems.append(f"cell {i} (raises-exception) should show {expected}: {errors!r}")
        elif errors:
            problems.append(f"cell {i} shows an error or stderr output:\n{errors}")
        stored_images = sum(
            1
            for o in stored.outputs
            if "image/png" in o.get("data", {}) and o.output_type != "error"
        )
        drawn = sum(1 for img in seen["images"] if img["complete"] and img["width"] > 0)
        if drawn != stored_images:
            problems.append(
                f"cell {i} shows {drawn} rendered image(s) (of {len(seen['images'])} <img>), "
                f"the notebook stores {stored_images}"
            )

    # The screenshot shows the first plot, or else the first cell meant to raise.
    plots = [i for i, c in enumerate(shown) if c["images"]]
    raising = [i for i, c in enumerate(nb.cells) if "raises-exception" in tags(c)]
    if plots:
        ui.scroll_to_cell(page, plots[0], ".jp-OutputArea-output img")
    elif raising:
        ui.scroll_to_cell(page, raising[0])
    ui.shot(page, screenshots, f"lesson-{lesson.stem}")
    assert not problems, f"{lesson.name} in JupyterLab:\n" + "\n".join(problems)
    check_link_opens_its_exercise(page, screenshots, lesson, len(nb.cells))


def check_link_opens_its_exercise(page, screenshots, lesson: Path, n_cells: int) -> None:
    """The link at the end of the open lesson opens its exercise in JupyterLab, beside the
    exercise's Colab badge (a Japanese lesson opens the Japanese edition, exercises/ja/...)."""
    exercise = exercise_of(lesson)  # in the repository; the server's copy has the same layout
    if not exercise.is_file():
        print(f"{rel(exercise)} does not exist (yet): no link to follow")
        return
    last = ui.cell(page, n_cells - 1)
    last.scroll_into_view_if_needed()
    badge = last.locator(f'a[href="{colab_url(exercise)}"] img')
    badge.wait_for(state="attached")  # the badge image itself comes from the internet
    last.locator("a", has_text=exercise.stem).click()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=exercise.name)
    tab.wait_for(timeout=ui.PAGE_TIMEOUT_MS)
    ui.panel(page).locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=ui.PAGE_TIMEOUT_MS)
    edition = "ja-" if lesson.parent.name == "ja" else ""
    ui.shot(page, screenshots, f"lesson-{edition}{lesson.stem}-opens-{exercise.stem}")


@pytest.mark.parametrize("lesson", JA_LESSONS, ids=[f"ja-{p.stem}" for p in JA_LESSONS])
def test_japanese_lesson_link_opens_its_exercise(page, lab, screenshots, lesson):
    """Each Japanese lesson's last cell links to the Japanese exercise (the English lessons'
    links are followed by test_lesson_runs_in_jupyterlab, once the lesson has run); the first
    one, once open, is also checked for its Japanese prose, rendered in a real font."""
    exercise = exercise_of(lesson)
    if not exercise.is_file() and lesson != JA_LESSON:
        pytest.skip(f"{rel(exercise)} does not exist (yet): nothing to open")
    nb = nbformat.read(lesson, as_version=4)
    ui.open_notebook(
        page, lab.url(f"/lab/workspaces/bt-link-ja-{lesson.stem}/tree/{rel(lesson)}"), len(nb.cells)
    )
    no_fonts = check_japanese_text(page, screenshots, nb) if lesson == JA_LESSON else None
    if exercise.is_file():
        check_link_opens_its_exercise(page, screenshots, lesson, len(nb.cells))
    if no_fonts:
        pytest.skip(f"glyph check skipped: {no_fonts}")


def pick_exercise() -> tuple[str, dict]:
    for name, plan in EXERCISES.items():
        if (REPO / "exercises" / name / f"{name}.ipynb").is_file():
            return name, plan
    pytest.fail(
        f"none of {list(EXERCISES)} is in exercises/: run `make release` to generate them",
        pytrace=False,
    )


def test_exercise_answers_pass_and_fail_their_visible_tests(page, lab, screenshots):
    name, plan = pick_exercise()
    exercise = REPO / "exercises" / name / f"{name}.ipynb"
    student = nbformat.read(exercise, as_version=4)
    solutions = nbformat.read(REPO / "solutions" / name / f"{name}.ipynb", as_version=4)
    ids = {grade_id(c): i for i, c in enumerate(student.cells) if grade_id(c)}
    answers = {grade_id(c): solution_code(c.source) for c in solutions.cells if is_solution(c)}
    target, test = ids[plan["solution"]], ids[plan["test"]]
    assert target < test, f"{plan['test']} should come after {plan['solution']}"
    # Every solution cell up to the target gets the instructor's answer, typed in.
    to_answer = [i for i, c in enumerate(student.cells) if i <= target and is_solution(c)]

    ui.open_notebook(
        page, lab.url(f"/lab/workspaces/bt-{name}/tree/{rel(exercise)}"), len(student.cells)
    )
    for i in to_answer:
        code = answers[grade_id(student.cells[i])]
        typed = ui.replace_cell_text(page, i, code)
        assert typed.rstrip() == code.rstrip(), f"cell {i} shows {typed!r}, typed {code!r}"

    # Run from the setup cell down to the test, Shift+Enter by Shift+Enter.
    first = ids["setup"]
    ui.select_cell(page, first)
    for _ in range(first, test + 1):
        page.keyboard.press("Shift+Enter")
    ui.wait_execution_done(page, last_cell=test)
    shown = ui.cells(page)
    ui.scroll_to_cell(page, test)
    ui.shot(page, screenshots, f"exercise-{name}-1-correct-answer")
    for i in range(first, test + 1):
        if student.cells[i].cell_type == "code":
            assert re.fullmatch(r"\[\d+\]:", shown[i]["prompt"]), f"cell {i} did not run"
            assert not stderr_text(shown[i]), f"cell {i} shows an error:\n{stderr_text(shown[i])}"
    passed = " ".join(o["text"] for o in shown[test]["outputs"])
    assert f"{plan['test']}: visible checks passed" in passed, f"{plan['test']} shows {passed!r}"
    count_before = shown[test]["prompt"]

    # A wrong answer: the same test now fails with its expected-vs-got message.
    typed = ui.replace_cell_text(page, target, plan["wrong"])
    assert typed.rstrip() == plan["wrong"].rstrip(), f"the cell shows {typed!r}"
    for _ in range(target, test + 1):
        page.keyboard.press("Shift+Enter")
    ui.wait_execution_done(page, last_cell=test, before=count_before)
    shown = ui.cells(page)
    ui.scroll_to_cell(page, test)
    ui.shot(page, screenshots, f"exercise-{name}-2-wrong-answer")
    assert shown[test]["prompt"] != count_before, f"{plan['test']} was not run again"
    errors = stderr_text(shown[test])
    assert "AssertionError" in errors and plan["message"] in errors, (
        f"{plan['test']} should show AssertionError: {plan['message']!r}; it shows {errors!r}"
    )


def open_exercise(page, lab, workspace: str) -> str:
    name, _ = pick_exercise()
    exercise = REPO / "exercises" / name / f"{name}.ipynb"
    n_cells = len(nbformat.read(exercise, as_version=4).cells)
    ui.open_notebook(page, lab.url(f"/lab/workspaces/{workspace}/tree/{rel(exercise)}"), n_cells)
    return name


def test_nbgrader_extension_is_there_for_instructors(page, lab, screenshots):
    """The Nbgrader menu, the Formgrader command and the Validate button, which works."""
    open_exercise(page, lab, "bt-nbgrader")

    page.locator(".lm-MenuBar").get_by_role("menuitem", name="Nbgrader", exact=True).click()
    menu = page.locator(".lm-Menu")
    for item in ("Assignment List", "Course List", "Formgrader"):
        menu.get_by_role("menuitem", name=item, exact=True).first.wait_for()
    validate = (
        ui.panel(page).locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True)
    )
    validate.wait_for()
    ui.shot(page, screenshots, "nbgrader-1-menu-and-validate-button")
    page.keyboard.press("Escape")

    ui.open_command_palette(page, "formgrader")
    labels = page.locator(".lm-CommandPalette .lm-CommandPalette-itemLabel")
    labels.filter(has_text=re.compile(r"^Formgrader$")).first.wait_for()
    ui.shot(page, screenshots, "nbgrader-2-command-palette")
    page.keyboard.press("Escape")

    # Validate runs the released (unanswered) notebook on the server and reports the failures.
    validate.click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("Validation Results").wait_for(timeout=ui.RUN_TIMEOUT_MS)
    dialog.get_by_text("The following cell failed").first.wait_for()
    ui.shot(page, screenshots, "nbgrader-3-validate-unanswered")
    dialog.get_by_role("button", name="Ok").click()


def test_formgrader_lists_the_assignments(page, lab, screenshots):
    """Nbgrader → Formgrader opens the course's Manage Assignments page with every assignment.

    JupyterLab runs as `make lab` runs it, on a copy of the course without grading/ (as a fresh
    clone), so this also proves the configuration creates the gradebook on first use.
    """
    # No notebook is needed for the menu: JupyterLab on the lessons folder, as `make lab` opens.
    page.goto(lab.url("/lab/workspaces/bt-formgrader/tree/lessons"), timeout=ui.PAGE_TIMEOUT_MS)
    page.locator(".lm-MenuBar").get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.locator(".lm-Menu").get_by_role("menuitem", name="Formgrader", exact=True).first.click()
    formgrader = page.frame_locator("iframe").first
    formgrader.get_by_text("Manage Assignments").first.wait_for(timeout=ui.PAGE_TIMEOUT_MS)
    names = formgrader.locator("td.name")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = [t.strip() for t in names.all_inner_texts()]
        if all(a in listed for a in ASSIGNMENTS):
            break
        if FORMGRADER_API_FAILED in lab.log_path.read_text(errors="replace"):
            break
        page.wait_for_timeout(500)
    ui.shot(page, screenshots, "nbgrader-4-formgrader")
    missing = [a for a in ASSIGNMENTS if a not in listed]
    assert not missing, f"the Formgrader lists {listed}, not {missing}; see {lab.log_path}"


# Draws `text` in the font the element is rendered with and returns the pixels, so that a
# character can be compared with one no font has (U+10FFFD): a missing glyph is drawn as the
# same empty box ("tofu") whatever the character.
_GLYPH_PIXELS_JS = """([el, text]) => {
    const canvas = document.createElement('canvas');
    canvas.width = 64; canvas.height = 64;
    const ctx = canvas.getContext('2d');
    ctx.font = '48px ' + getComputedStyle(el).fontFamily;
    ctx.fillText(text, 4, 52);
    return Array.from(ctx.getImageData(0, 0, 64, 64).data).join(',');
}"""


def check_japanese_text(page, screenshots, nb) -> str | None:
    """The open lesson of the Japanese edition shows its Japanese prose rendered in a real
    font. Returns why the glyphs could not be checked (no Japanese font, outside CI), or None."""
    from browser_tests.ensure_chromium import JAPANESE_FONT_PACKAGE, in_ci, japanese_fonts

    title = nb.cells[1].source.splitlines()[0].lstrip("# ").strip()
    heading = ui.cell(page, 1).locator(".jp-RenderedMarkdown h1")
    heading.wait_for()
    assert heading.inner_text().strip() == title, "the header cell is not rendered as markdown"
    body = ui.cell(page, 1).locator(".jp-RenderedMarkdown").inner_text()
    for words in ("この回で学ぶこと", "出典"):
        assert words in body, f"{words!r} is not shown in the rendered header:\n{body}"
    ui.shot(page, screenshots, f"lesson-ja-{JA_LESSON.stem}")

    if not japanese_fonts():
        reason = f"no Japanese font installed (`apt-get install {JAPANESE_FONT_PACKAGE}`)"
        if in_ci():
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        return reason
    element = heading.element_handle()
    missing = page.evaluate(_GLYPH_PIXELS_JS, [element, "\U0010fffd"])
    # Both kanji drawn with real glyphs: unlike the missing one, and unlike each other.
    for char in "畳込":
        assert page.evaluate(_GLYPH_PIXELS_JS, [element, char]) != missing, (
            f"{char!r} renders as a missing glyph in {heading.evaluate('e => getComputedStyle(e).fontFamily')}"
        )
    assert page.evaluate(_GLYPH_PIXELS_JS, [element, "畳"]) != page.evaluate(
        _GLYPH_PIXELS_JS, [element, "込"]
    ), "two different kanji render as the same glyph"
    return None


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
