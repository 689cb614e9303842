"""Finding submissions: bad folders and files are reported, never fatal."""

import pytest

from autograder.collect import collect


def _nb(path, text='{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_collect_finds_good_work_and_reports_each_problem(tmp_path):
    _nb(tmp_path / "ann" / "ex01_conv1d" / "ex01_conv1d.ipynb")
    _nb(tmp_path / "ann" / "ex02_conv2d" / "ex02_conv2d (1).ipynb")  # renamed by a download
    _nb(tmp_path / "bob" / "ex03_linear" / "ex03_linear.ipynb", "")  # empty file
    _nb(tmp_path / "bob" / "ex05_model" / "ex05_model.ipynb", "{not json")
    _nb(tmp_path / "bob" / "homework" / "x.ipynb")  # not an assignment
    (tmp_path / "cid" / "ex06_conv_from_scratch").mkdir(parents=True)  # no notebook at all
    found = collect(tmp_path)
    assert found.students == ["ann", "bob", "cid"]
    assert [(s.student, s.assignment) for s in found.submissions] == [
        ("ann", "ex01_conv1d"),
        ("ann", "ex02_conv2d"),
    ]
    why = {(s, a): w for s, a, w in found.problems}
    assert "graded anyway" in why[("ann", "ex02_conv2d")]
    assert "not a valid notebook" in why[("bob", "ex03_linear")]
    assert "not a valid notebook" in why[("bob", "ex05_model")]
    assert "unknown assignment" in why[("bob", "homework")]
    assert "no ex06_conv_from_scratch.ipynb" in why[("cid", "ex06_conv_from_scratch")]


def test_missing_or_empty_submissions_folder_says_what_to_do(tmp_path):
    with pytest.raises(SystemExit, match="does not exist"):
        collect(tmp_path / "nope")
    with pytest.raises(SystemExit, match="no student folders"):
        collect(tmp_path)
