"""Every notebook passes the hygiene check, and the check catches what it should."""

import nbformat
import pytest

from tools.course_config import LESSONS, colab_badge
from tools.notebook_hygiene import all_notebooks, normalise, problems


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: p.name)
def test_notebook_is_clean(path):
    assert problems(path) == []


def test_lessons_exist():
    names = [p.name for p in sorted(LESSONS.glob("*.ipynb"))]
    assert len(names) >= 7, f"expected at least 7 lessons, found {names}"
    assert all(n[:2].isdigit() and n[2] == "_" for n in names), names


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
