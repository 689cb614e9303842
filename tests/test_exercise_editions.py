"""The exercises' two editions come from one bilingual source (docs/AUTHORING.md, Languages).

Each solution notebook holds every English markdown cell with a fresh Japanese twin; its grade
ids are unique across both languages (nbgrader can still use it as a source); the released
editions' code cells are the same but for the one line `COURSE_LANGUAGE = "en"` / `"ja"`;
and both editions have the same grade ids, so that collecting and grading need no change.
"""

import copy
import re

import nbformat
import pytest

from autograder.course import ASSIGNMENTS, SOLUTIONS, notebook
from autograder.release import edition_path
from autograder.submissions import grade_id
from tools.course_config import EXERCISES
from tools.editions import (
    JAPANESE,
    code_differences,
    is_badge,
    set_course_language,
    text_hash,
    translation_problems,
)


def source(assignment):
    return nbformat.read(notebook(SOLUTIONS, assignment), as_version=4)


def editions(assignment):
    return [nbformat.read(edition_path(EXERCISES, assignment, lang), 4) for lang in ("en", "ja")]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_english_cell_has_a_fresh_japanese_twin(assignment):
    problems = translation_problems(source(assignment))
    assert not problems, f"solutions/{assignment}: " + "\n".join(problems)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_grade_ids_are_unique_across_both_languages(assignment):
    ids = [grade_id(c) for c in source(assignment).cells if grade_id(c)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_editions_code_differs_only_in_the_language_line(assignment):
    en, ja = editions(assignment)
    assert code_differences(en, ja, allow_language_line=True) == []
    setups = [c.source for nb in (en, ja) for c in nb.cells if grade_id(c) == "setup"]
    assert '\nCOURSE_LANGUAGE = "en"\n' in setups[0]
    assert '\nCOURSE_LANGUAGE = "ja"\n' in setups[1]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_editions_share_grade_ids_and_each_reads_in_its_language(assignment):
    en, ja = editions(assignment)
    assert [grade_id(c) for c in en.cells] == [grade_id(c) for c in ja.cells]
    for cell in ja.cells[1:]:
        if cell.cell_type == "markdown":
            assert JAPANESE.search(cell.source), (
                f"ja/{assignment}: English markdown {cell.source[:60]!r}"
            )
    assert is_badge(ja.cells[0]) and "/exercises/ja/" in ja.cells[0].source
    assert "/exercises/ja/" not in en.cells[0].source


def test_lessons_ja_link_targets_exist():
    for assignment in ASSIGNMENTS:
        assert edition_path(EXERCISES, assignment, "ja").is_file(), assignment


def test_the_checks_fail_on_a_stale_translation_a_missing_twin_and_a_code_difference():
    nb = source("ex03_linear")
    english = next(i for i, c in enumerate(nb.cells) if c.metadata.get("language") == "en")
    stale = copy.deepcopy(nb)
    stale.cells[english].source += "\nOne more sentence."
    assert any(
        p.startswith(f"cell {english + 1}: the Japanese translation is stale")
        for p in translation_problems(stale)
    ), translation_problems(stale)
    stale.cells[english + 1].metadata["translates"] = text_hash(stale.cells[english].source)
    assert translation_problems(stale) == []  # recorded once the Japanese is updated

    orphan = copy.deepcopy(nb)
    del orphan.cells[english + 1]
    assert any("has no Japanese twin" in p for p in translation_problems(orphan))

    en, ja = editions("ex03_linear")
    changed = copy.deepcopy(ja)
    test = next(c for c in changed.cells if grade_id(c) == "test_x")
    test.source = test.source.replace("(32, 1024)", "(32, 1025)", 1)
    assert code_differences(en, changed, allow_language_line=True) == [
        "code cell 2: source differs between the editions"
    ]
    points = copy.deepcopy(ja)
    next(c for c in points.cells if grade_id(c) == "test_x").metadata["nbgrader"]["points"] = 9
    assert code_differences(en, points, allow_language_line=True) == [
        "code cell 2: metadata differs between the editions"
    ]
    second = copy.deepcopy(ja)
    setup = next(c for c in second.cells if grade_id(c) == "setup")
    setup.source = setup.source.replace("torch.manual_seed(0)", "torch.manual_seed(1)")
    assert code_differences(en, second, allow_language_line=True) != []
    relabelled = copy.deepcopy(en)
    assert set_course_language(relabelled, "ja") == 1
    assert code_differences(en, relabelled) != []


@pytest.mark.parametrize("language", ["en", "ja"])
def test_relative_links_of_each_edition_resolve(language):
    for assignment in ASSIGNMENTS:
        path = edition_path(EXERCISES, assignment, language)
        for cell in nbformat.read(path, 4).cells:
            if cell.cell_type != "markdown":
                continue
            for link in re.findall(r"\]\((\.\./[^)#]+)", cell.source):
                assert (path.parent / link).resolve().exists(), f"{path}: {link} does not exist"
