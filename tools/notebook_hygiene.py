"""Notebook hygiene: the checks nbval cannot make, and the normalisation that passes them.

    python -m tools.notebook_hygiene            # check every notebook, exit 1 on problems

A notebook with no stored outputs passes nbval without checking anything, so a
lesson must be fully executed (counts 1..N in order). Solution and exercise
notebooks are stored without outputs: nbgrader executes them itself.
"""

import sys
from pathlib import Path

import nbformat

from tools.course_config import (
    BADGE_PREFIX,
    EXERCISES,
    LESSONS,
    RAW_URL,
    ROOT,
    SOLUTIONS,
    colab_badge,
    raw_base,
)

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
NOTEBOOK_METADATA = {"kernelspec", "language_info"}
# nbgrader and JupyterLab keep `deletable`/`editable` on locked cells.
CELL_METADATA = {"tags", "nbgrader", "deletable", "editable"}
ALLOWED_ERROR_TAG = "raises-exception"
FIX = "run `make notebooks` (lessons) or `make release` (exercises)"


def all_notebooks() -> list[Path]:
    return sorted(
        p
        for folder in (LESSONS, SOLUTIONS, EXERCISES)
        for p in folder.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )


def is_lesson(path: Path) -> bool:
    return LESSONS in Path(path).resolve().parents


def normalise(nb, path: Path) -> None:
    """Rewrite the badge and drop metadata that editors and executors add."""
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
    }
    badge = colab_badge(path)
    first = nb.cells[0] if nb.cells else None
    if (
        first is not None
        and first.cell_type == "markdown"
        and first.source.startswith(BADGE_PREFIX)
    ):
        first.source = badge
    else:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(badge))
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in CELL_METADATA}
        if cell.cell_type == "code":  # files fetched on Colab come from the configured repository
            cell.source = RAW_URL.sub(raw_base(), cell.source)


def problems(path: Path, location: Path | None = None) -> list[str]:
    """Everything wrong with one notebook, as messages that say what to do.

    `location` is where in the repository the notebook is judged to live (its badge
    URL and whether lesson rules apply); it defaults to `path` itself.
    """
    location = location or path
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # any unreadable notebook is one problem, not a crash
        return [f"not a valid notebook ({err}); restore it with git checkout"]
    out = []
    spec = nb.metadata.get("kernelspec", {})
    if spec.get("name") != "python3":
        out.append(f"kernelspec is {spec.get('name')!r}, expected 'python3'")
    extra = set(nb.metadata) - NOTEBOOK_METADATA
    if extra:
        out.append(f"stray notebook metadata {sorted(extra)}; {FIX}")
    if not nb.cells or nb.cells[0].source != colab_badge(location):
        out.append(
            "cell 0 must be the Open-in-Colab badge from pyproject.toml; run `make notebooks`"
        )
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        for url in RAW_URL.findall(cell.source):
            if url != raw_base():
                out.append(f"fetches from {url}, not the configured repository {raw_base()}; {FIX}")
    for i, cell in enumerate(nb.cells):
        extra = set(cell.metadata) - CELL_METADATA
        if extra:
            out.append(f"cell {i}: stray metadata {sorted(extra)}")
    if is_lesson(location):
        counts = [c.execution_count for c in code]
        if counts != list(range(1, len(code) + 1)):
            out.append(
                f"execution counts are {counts}, expected 1..{len(code)}; run `make notebooks`"
            )
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            tagged = ALLOWED_ERROR_TAG in cell.metadata.get("tags", [])
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if errors and not tagged:
                out.append(f"cell {i}: stores an error but is not tagged {ALLOWED_ERROR_TAG}")
            if tagged and not errors:
                out.append(f"cell {i}: tagged {ALLOWED_ERROR_TAG} but stores no error")
            if any(o.output_type == "stream" and o.name == "stderr" for o in cell.outputs):
                # Warnings quote machine paths and differ between versions: fix their cause.
                out.append(f"cell {i}: stores stderr output (a warning?); fix what causes it")
    else:
        for i, cell in enumerate(code):
            if cell.outputs or cell.execution_count is not None:
                out.append(f"code cell {i}: stored outputs; nbgrader notebooks are kept clean")
    return out


def main(argv=None) -> int:
    paths = [Path(p) for p in (argv or sys.argv[1:])] or all_notebooks()
    bad = 0
    for path in paths:
        for msg in problems(path):
            bad += 1
            print(f"{path.resolve().relative_to(ROOT)}: {msg}")
    print(f"notebook hygiene: {len(paths)} notebooks, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
