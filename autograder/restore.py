"""Give a submission back the nbgrader cells that grading needs, whatever an editor did to it.

Colab and other editors can drop cell metadata, students delete or reorder cells, and
nbgrader then either crashes (`KeyError` in add_missing_cells) or silently skips tests.
This module lines the submission up with the released notebook:

- a cell that still carries its nbgrader metadata is kept as it is;
- a locked cell or test cell whose metadata was stripped is recognised by its source;
- the student's answer cells between two recognised cells take, in order, the metadata
  of the released solution cells between the same two cells;
- a test cell the student deleted is put back where it was (nbgrader overwrites test
  cells from its gradebook anyway, so its content cannot be forged).

Every repair is reported, so the instructor sees what was changed and why.
"""

import copy

from autograder.submissions import grade_id


def _key(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def restore(submission, released) -> list[str]:
    """Repair `submission` in place against `released`; return what was repaired."""
    notes = []
    by_id = {grade_id(c): c for c in submission.cells if grade_id(c)}
    wanted = [c for c in released.cells if grade_id(c)]
    if all(grade_id(c) in by_id for c in wanted):
        return notes  # the common case: nothing lost

    # 1. Recognise stripped locked and test cells by their (unchanged) source.
    fixed_sources = {_key(c.source): c for c in wanted if not _meta(c).get("solution")}
    for cell in submission.cells:
        if grade_id(cell):
            continue
        match = fixed_sources.get(_key(cell.source))
        if match is not None and grade_id(match) not in by_id:
            cell.metadata["nbgrader"] = copy.deepcopy(_meta(match))
            by_id[grade_id(match)] = cell
            notes.append(f"cell {grade_id(match)!r} had lost its nbgrader metadata; restored")

    # 2. Answer cells: between two anchors, unlabelled code cells take the solution ids in order.
    anchors = [None] + [c for c in wanted if not _meta(c).get("solution")] + [None]
    position = {id(c): i for i, c in enumerate(submission.cells)}
    for before, after in zip(anchors, anchors[1:], strict=False):
        lo = (
            position[id(by_id[grade_id(before)])]
            if before is not None and grade_id(before) in by_id
            else -1
        )
        hi = (
            position[id(by_id[grade_id(after)])]
            if after is not None and grade_id(after) in by_id
            else len(submission.cells)
        )
        start = released.cells.index(before) + 1 if before is not None else 0
        stop = released.cells.index(after) if after is not None else len(released.cells)
        missing = [
            c
            for c in released.cells[start:stop]
            if _meta(c).get("solution") and grade_id(c) not in by_id
        ]
        free = [
            c
            for c in submission.cells[lo + 1 : hi]
            if c.cell_type == "code" and not grade_id(c) and lo < position[id(c)] < hi
        ]
        for solution, cell in zip(missing, free, strict=False):
            cell.metadata["nbgrader"] = copy.deepcopy(_meta(solution))
            by_id[grade_id(solution)] = cell
            notes.append(
                f"answer cell {grade_id(solution)!r} had lost its nbgrader metadata; restored"
            )

    # 3. Put back deleted test and locked cells after the cell that preceded them.
    for i, cell in enumerate(released.cells):
        if not grade_id(cell) or grade_id(cell) in by_id or _meta(cell).get("solution"):
            continue
        previous = next(
            (by_id[grade_id(c)] for c in reversed(released.cells[:i]) if grade_id(c) in by_id), None
        )
        at = submission.cells.index(previous) + 1 if previous is not None else 0
        submission.cells.insert(at, copy.deepcopy(cell))
        by_id[grade_id(cell)] = submission.cells[at]
        notes.append(f"cell {grade_id(cell)!r} was missing; put back from the release")
    return notes
