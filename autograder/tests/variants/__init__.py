"""Answers that the grading tests submit, one module per assignment.

Each module `exNN_name.py` defines two dicts of `Variant`s:

- `WRONG`: realistic mistakes. `loses` names exactly the test cells (their nbgrader
  `grade_id`) that must score below full marks; every other test cell keeps full marks.
  A variant made with `visible=True` is a mistake the student can see before submitting:
  each of those test cells fails already in the released notebook (its visible checks).
- `RIGHT`: correct answers written differently from the reference solution; they keep
  full marks everywhere (`loses` stays empty).

A variant's `cells` maps a solution cell's `grade_id` to the source a student would type
there; solution cells it does not name keep the reference answer (the solution notebook's
code between `### BEGIN SOLUTION` and `### END SOLUTION`). `files` are written beside the
submitted notebook (for example ex05_model's `models.py`).
"""

import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    cells: dict[str, str] = field(default_factory=dict)
    loses: frozenset[str] = frozenset()
    files: dict[str, str] = field(default_factory=dict)
    visible: bool = False  # the visible checks of every cell in `loses` already fail


def wrong(
    cells: dict[str, str],
    loses: set[str],
    files: dict[str, str] | None = None,
    visible: bool = False,
) -> Variant:
    return Variant(cells=cells, loses=frozenset(loses), files=files or {}, visible=visible)


def load(assignment: str) -> tuple[dict[str, Variant], dict[str, Variant]]:
    """(WRONG, RIGHT) for one assignment."""
    module = importlib.import_module(f"{__name__}.{assignment}")
    return module.WRONG, module.RIGHT


def right(cells: dict[str, str], files: dict[str, str] | None = None) -> Variant:
    return Variant(cells=cells, files=files or {})
