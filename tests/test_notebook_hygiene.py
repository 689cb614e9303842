"""Every notebook passes the hygiene check, and the check catches what it should."""

import nbformat
import pytest

from autograder.course import ASSIGNMENTS, COURSE
from tools.course_config import EXERCISES, LESSONS, SOLUTIONS, colab_badge
from tools.notebook_hygiene import (
    EXERCISE_SOURCES_LINK,
    LESSON_EXERCISES,
    SOURCES_LINK,
    all_notebooks,
    exercise_block,
    normalise,
    problems,
    readme_problems,
)


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: p.name)
def test_notebook_is_clean(path):
    assert problems(path) == []


def test_lessons_exist():
    names = [p.name for p in sorted(LESSONS.glob("*.ipynb"))]
    assert len(names) == 6, f"expected the 6 lessons 01-06, found {names}"
    assert all(n[:2].isdigit() and n[2] == "_" for n in names), names


def test_lesson_n_leads_to_exercise_n():
    stems = sorted(p.stem for p in LESSONS.glob("*.ipynb"))
    assert stems == [lesson for lesson, _ in COURSE], "COURSE lists every lesson, in order"
    for lesson, exercise in LESSON_EXERCISES.items():
        assert exercise.startswith(f"ex{lesson[:2]}_"), (lesson, exercise)


def test_every_lesson_exercise_is_an_assignment_in_course_order():
    assert list(LESSON_EXERCISES.values()) == ASSIGNMENTS
    for name in ASSIGNMENTS:
        assert (EXERCISES / name / f"{name}.ipynb").is_file(), f"exercises/{name} is missing"
        assert (SOLUTIONS / name / f"{name}.ipynb").is_file(), f"solutions/{name} is missing"
    assert sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir()) == sorted(ASSIGNMENTS)
    released = [p.name for p in EXERCISES.iterdir() if p.is_dir() and p.name.startswith("ex")]
    assert sorted(released) == sorted(ASSIGNMENTS)


@pytest.mark.parametrize("n_name", list(enumerate(ASSIGNMENTS, 1)), ids=lambda t: t[1])
def test_exercise_headers_share_one_format(n_name):
    n, name = n_name
    header = nbformat.read(SOLUTIONS / name / f"{name}.ipynb", as_version=4).cells[1].source
    assert header.startswith(f"# Exercise {n:02d} · "), header.splitlines()[0]
    sections = [line for line in header.splitlines() if line.startswith("## ")]
    rules = ["## Rules that are checked"] if "## Rules that are checked" in sections else []
    assert sections == [
        "## Task",
        "## Names the notebook must define",
        "## Tests and points",
        "## Tolerances",
        *rules,
        "## How to check your work",
    ], sections
    assert "**Source:**" in header and EXERCISE_SOURCES_LINK in header
    assert "| test cell | points | what it checks |" in header
    assert "visible checks passed (hidden tests run when graded)" in header


def test_exercise_header_must_link_to_the_sources(tmp_path):
    location = EXERCISES / "ex01_conv1d" / "ex01_conv1d.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Exercise 01 · X")])
    normalise(nb, location)
    path = tmp_path / location.name
    nbformat.write(nb, path)
    found = "\n".join(problems(path, location=location))
    assert f"cell 1 must link to the README's sources ({EXERCISE_SOURCES_LINK[1:]})" in found


PROBE = LESSONS / "99_probe.ipynb"  # judged as a lesson, written under tmp_path


def _lesson(tmp_path, cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    normalise(nb, PROBE)
    return tmp_path / PROBE.name, nb


def test_check_catches_unexecuted_stray_metadata_and_untagged_errors(tmp_path):
    err = nbformat.v4.new_output("error", ename="RuntimeError", evalue="x", traceback=[])
    path, nb = _lesson(
        tmp_path,
        [
            nbformat.v4.new_code_cell("1", execution_count=None),
            nbformat.v4.new_code_cell("raise RuntimeError", execution_count=2, outputs=[err]),
            nbformat.v4.new_code_cell(
                "warn()",
                execution_count=3,
                outputs=[nbformat.v4.new_output("stream", name="stderr", text="UserWarning")],
            ),
        ],
    )
    nb.cells[1].metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    nb.metadata["widgets"] = {}
    nbformat.write(nb, path)
    found = "\n".join(problems(path, location=PROBE))
    assert "execution counts are [None, 2, 3]" in found
    assert "cell 3: stores stderr output" in found
    assert "stray metadata ['execution']" in found
    assert "stray notebook metadata ['widgets']" in found
    assert "not tagged raises-exception" in found


def test_check_catches_wrong_badge_and_kernel(tmp_path):
    path, nb = _lesson(tmp_path, [nbformat.v4.new_code_cell("1", execution_count=1)])
    nb.cells[0].source = colab_badge(PROBE).replace("main", "dev")
    nb.metadata["kernelspec"]["name"] = "ir"
    nbformat.write(nb, path)
    found = "\n".join(problems(path, location=PROBE))
    assert "Open-in-Colab badge" in found
    assert "kernelspec is 'ir'" in found


def test_unreadable_notebook_is_reported_not_crashed(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{ not json")
    assert "not a valid notebook" in problems(path)[0]


LESSON_ONE = LESSONS / "01_conv1d.ipynb"  # a real lesson's name, so its exercise is known


def _header(text="# 01 · Title"):
    return nbformat.v4.new_markdown_cell(f"{text}\n\n**Sources:** [the sources{SOURCES_LINK}")


def test_normalise_writes_the_exercise_link_and_badge_into_the_last_cell(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            _header(),
            nbformat.v4.new_markdown_cell("## Summary\n\n**Exercise:** `exercises/old/old.ipynb`"),
        ]
    )
    normalise(nb, LESSON_ONE)
    last = nb.cells[-1].source
    assert last.startswith("## Summary\n\n**Exercise:** [ex01_conv1d]")
    assert "](../exercises/ex01_conv1d/ex01_conv1d.ipynb)" in last
    assert last.endswith(colab_badge(EXERCISES / "ex01_conv1d" / "ex01_conv1d.ipynb"))
    assert "old.ipynb" not in last
    normalise(nb, LESSON_ONE)  # idempotent
    assert nb.cells[-1].source == last
    path = tmp_path / LESSON_ONE.name
    nbformat.write(nb, path)
    assert problems(path, location=LESSON_ONE) == []


def test_check_catches_a_missing_or_wrong_exercise_link(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[_header(), nbformat.v4.new_markdown_cell("## Summary")])
    normalise(nb, LESSON_ONE)
    for wrong in (
        nb.cells[-1].source.replace("ex01_conv1d", "ex02_conv2d"),  # another exercise
        "## Summary\n\n**Exercise:** `exercises/ex01_conv1d/ex01_conv1d.ipynb`",  # code, no link
        nb.cells[-1].source.split(" or on Colab")[0],  # no badge
    ):
        nb.cells[-1].source = wrong
        path = tmp_path / LESSON_ONE.name
        nbformat.write(nb, path)
        found = "\n".join(problems(path, location=LESSON_ONE))
        assert "the last cell must end with the link to ex01_conv1d" in found, wrong
    assert exercise_block(LESSON_ONE) not in wrong


def test_check_catches_a_lesson_without_sources_link_or_exercise(tmp_path):
    path, nb = _lesson(tmp_path, [nbformat.v4.new_markdown_cell("# 99 · Probe")])
    nbformat.write(nb, path)
    found = "\n".join(problems(path, location=PROBE))
    assert "no exercise for lesson 99_probe" in found
    assert "cell 1 must link to the README's sources" in found


@pytest.mark.parametrize(
    "text",
    [
        "**Source document:** seed 004, the slides",
        "as Document 000 prints them",
        "the shapes printed in documents 002 and 004",
        "header: source document 003",
        "see 003_c42573a8848ca86e.txt",
    ],
)
def test_check_catches_sources_named_by_number_or_file(tmp_path, text):
    nb = nbformat.v4.new_notebook(
        cells=[
            _header(),
            nbformat.v4.new_markdown_cell(text),
            nbformat.v4.new_code_cell(f"print({text!r})", execution_count=1),
        ]
    )
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells.append(nbformat.v4.new_markdown_cell("## Summary"))
    normalise(nb, LESSON_ONE)
    path = tmp_path / LESSON_ONE.name
    nbformat.write(nb, path)
    found = [m for m in problems(path, location=LESSON_ONE) if "internal name" in m]
    # markdown, code source and stored output are each reported
    assert [m.split(":")[0] for m in found] == ["cell 2", "cell 3", "cell 3"], found


@pytest.mark.parametrize("folder", [EXERCISES, SOLUTIONS], ids=["exercises", "solutions"])
def test_exercises_are_checked_for_sources_named_by_number(tmp_path, folder):
    location = folder / "ex01_conv1d" / "ex01_conv1d.ipynb"
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"# Exercise 01 · X\n\n[Sources{EXERCISE_SOURCES_LINK}"),
            nbformat.v4.new_markdown_cell("Practise 演習1 of source document 004."),
        ]
    )
    normalise(nb, location)
    path = tmp_path / location.name
    nbformat.write(nb, path)
    found = [m for m in problems(path, location=location) if "internal name" in m]
    assert [m.split(":")[0] for m in found] == ["cell 2"], found


def test_citation_check_spares_titles_and_ordinary_numbers(tmp_path):
    fine = "「PyTorch 講座 4」 by 杉本 晃輔; 0.004; seed 0; a document of 004 pages"
    assert readme_problems_of(tmp_path, f"# Course\n\n## Sources\n\n{fine}\n") == []


def readme_problems_of(tmp_path, text):
    readme = tmp_path / "README.md"
    readme.write_text(text, encoding="utf-8")
    return readme_problems(readme)


def test_readme_needs_a_sources_section_and_no_source_numbers(tmp_path):
    found = readme_problems_of(tmp_path, "# Course\n\nBuilt from seed 004.\n")
    assert any("internal name 'seed 004'" in m for m in found), found
    assert any("'## Sources' section" in m for m in found), found
    assert readme_problems() == [], "the repository's README"
