"""The message catalogs (autograder/messages): same keys and fields in every language, every key
a test names exists, the grader detects a submission's language, the student's kernel and the
grader say the same thing."""

import string

import nbformat
import pytest

from autograder.course import ASSIGNMENTS, SOLUTIONS, notebook
from autograder.messages import (
    LANGUAGES,
    bound,
    catalog,
    detect_language,
    keys_used,
    setup_language,
    visible_keys,
)
from autograder.release import edition_path
from autograder.submissions import grade_id
from tools.course_config import EXERCISES
from tools.editions import JAPANESE


def fields(template):
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalogs_have_the_same_keys_and_fields():
    en, ja = catalog("en"), catalog("ja")
    assert sorted(en) == sorted(ja)
    for key in en:
        assert fields(en[key]) == fields(ja[key]), key
        words = "".join(text for text, _, _, _ in string.Formatter().parse(ja[key]))
        assert JAPANESE.search(words) or not any(c.isalpha() for c in words), key


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_key_a_test_names_is_in_the_catalogs(assignment):
    nb = nbformat.read(notebook(SOLUTIONS, assignment), as_version=4)
    used = {k for c in nb.cells if c.cell_type == "code" for k in keys_used(c.source)}
    for language in LANGUAGES:
        assert used <= set(catalog(language)), sorted(used - set(catalog(language)))


def run_setup(nb):
    setup = next(c.source for c in nb.cells if grade_id(c) == "setup")
    scope = {}
    exec(setup, scope)
    return scope


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_released_notebook_says_what_the_grader_says(language):
    nb = nbformat.read(edition_path(EXERCISES, "ex03_linear", language), 4)
    scope = run_setup(nb)
    assert scope["COURSE_LANGUAGE"] == language
    for key in visible_keys(nb):
        assert scope["msg"](key, got=(1, 2), type="T", problem="p") == bound(language)(
            key, got=(1, 2), type="T", problem="p"
        )
    # A key the notebook does not carry (a hidden test's, under plain nbgrader) still fails clearly.
    assert scope["msg"]("ex03.x_dtype", got="float64").startswith("ex03.x_dtype")


def test_the_language_comes_from_the_setup_line_else_the_markdown():
    for language in LANGUAGES:
        nb = nbformat.read(edition_path(EXERCISES, "ex03_linear", language), 4)
        assert detect_language(nb) == language
        for cell in nb.cells:  # without the setup line: from the prose
            if cell.cell_type == "code":
                cell.source = cell.source.replace("COURSE_LANGUAGE =", "LANGUAGE =")
        assert detect_language(nb) == language
    assert detect_language(nbformat.v4.new_notebook()) == "en"
    assert detect_language({"cells": "nonsense"}) == "en"
    code = nbformat.v4.new_code_cell
    assert setup_language('COURSE_LANGUAGE = "ja"\n') == "ja"
    assert setup_language('COURSE_LANGUAGE = "fr"\n') is None
    assert setup_language("COURSE_LANGUAGE = (") is None
    assert detect_language(nbformat.v4.new_notebook(cells=[code('COURSE_LANGUAGE = "ja"')])) == "ja"


def test_the_feedback_page_speaks_the_submissions_language():
    from autograder.engine.feedback_html import render
    from autograder.engine.runner import spec

    tests = spec("ex03_linear").tests
    result = {
        "cells": [
            {
                "cell": cid,
                "score": 0.0 if cid == "test_x" else points,
                "max_score": points,
                "message": "AssertionError: " + bound("ja")("ex03.x_shape", got=(32, 1000)),
            }
            for cid, (_, points) in tests.items()
        ],
        "outputs": {},
        "notes": [bound("ja")("engine.budget_used_before", budget="240")],
    }
    for language, words in (
        ("ja", ["フィードバック", "得点: 6 / 7", "注記", "合格: 2 / 2 点", "（0 / 1 点）"]),
        ("en", ["Feedback", "Score: 6 / 7", "Notes", "passed: 2 / 2 points", "(0 / 1 points)"]),
    ):
        nb = nbformat.read(edition_path(EXERCISES, "ex03_linear", language), 4)
        page = render("s1", "ex03_linear", nb, tests, result)
        assert f'<html lang="{language}">' in page
        for word in words:
            assert word in page, (language, word)
    assert "AssertionError: x の形状は (32, 1024) のはずですが、(32, 1000) です" in page


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_notebooks_carry_the_visible_messages_only(assignment):
    solution = nbformat.read(notebook(SOLUTIONS, assignment), as_version=4)
    every = {k for c in solution.cells if c.cell_type == "code" for k in keys_used(c.source)}
    for language in LANGUAGES:
        nb = nbformat.read(edition_path(EXERCISES, assignment, language), 4)
        carried = run_setup(nb)["MESSAGES"]
        assert set(carried) == set(LANGUAGES)
        for messages in carried.values():
            assert sorted(messages) == sorted(visible_keys(nb)), assignment
        hidden = every - set(visible_keys(nb))
        text = nbformat.writes(nb)
        assert not [k for k in hidden if f'"{k}"' in text], sorted(hidden)
