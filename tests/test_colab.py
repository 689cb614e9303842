"""The notebooks run on Google Colab: they import only what Colab ships or their setup cell fetches."""

import ast
import sys
import types
import urllib.request
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from tools.course_config import ROOT, raw_base
from tools.notebook_hygiene import all_notebooks

# Third-party packages every Colab runtime ships (and that the notebooks may import).
COLAB_SHIPS = {"torch", "numpy", "matplotlib", "IPython", "google"}


def imported_modules(nb) -> set[str]:
    """Top-level names of every module a notebook's code cells import."""
    to_python = TransformerManager().transform_cell  # turns %magics and !shell into Python
    names = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(to_python(cell.source))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def local_modules(path) -> set[str]:
    """Modules that live beside the notebook (fetched by its setup cell on Colab)."""
    return {p.stem for p in path.parent.glob("*.py")}


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_imports_only_what_colab_has(path):
    nb = nbformat.read(path, as_version=4)
    allowed = set(sys.stdlib_module_names) | COLAB_SHIPS | local_modules(path)
    extra = imported_modules(nb) - allowed
    assert not extra, f"{path.name} imports {sorted(extra)}, which Colab does not ship"


def test_import_scan_sees_through_magics():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "%matplotlib inline\nimport pandas as pd\nfrom torch import nn"
            )
        ]
    )
    assert imported_modules(nb) == {"pandas", "torch"}


def setup_cell(nb) -> str:
    """The notebook's setup cell: nbgrader's `setup` cell, or a lesson's first code cell."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if c.metadata.get("nbgrader", {}).get("grade_id") == "setup"]
    return (tagged or code)[0].source


def run_setup(path, tmp_path, monkeypatch, on_colab: bool) -> list[str]:
    """Run a notebook's setup cell in tmp_path, on Colab or not; return the URLs it fetched."""
    fetched = []

    def fake_urlretrieve(url, filename):
        fetched.append(url)
        Path(filename).write_text("# fetched\n")

    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(urllib.request, "urlretrieve", fake_urlretrieve)
    monkeypatch.chdir(tmp_path)
    exec(setup_cell(nbformat.read(path, as_version=4)), {})
    return fetched


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_setup_cell_fetches_on_colab_exactly_the_files_beside_the_notebook(
    path, tmp_path, monkeypatch
):
    assert run_setup(path, tmp_path, monkeypatch, on_colab=False) == [], "fetches outside Colab"
    fetched = run_setup(path, tmp_path, monkeypatch, on_colab=True)
    for url in fetched:
        assert url.startswith(raw_base()), f"{url} is not in the configured repository"
        assert (ROOT / url.removeprefix(raw_base())).is_file(), (
            f"{url} names no file in the repository"
        )
    names = sorted(url.rsplit("/", 1)[-1] for url in fetched)
    assert names == sorted(f"{m}.py" for m in local_modules(path)), (
        "Colab needs the files beside the notebook"
    )
