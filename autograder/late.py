"""Lateness: due dates from the course configuration, timestamps from the submissions.

The due dates are `c.DueDates.due_dates` in autograder/nbgrader_config.py (none by default),
written into nbgrader's gradebook (Assignment.duedate, where Formgrader and
`nbgrader collect --before-duedate` read them). Each graded submission's time is its
timestamp.txt (nbgrader's exchange writes it; the course's collect checks it; an LMS zip's
comes from the export's file times). The penalty is nbgrader's: the LateSubmissionPlugin
(or the class in c.AssignLatePenalties.plugin_class) is asked for each late notebook, as
`nbgrader autograde` asks it, and grades.csv is exported again with nbgrader's CsvExportPlugin,
so that its late_submission_penalty column and score carry it.
"""

import warnings
from datetime import datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins.export import CsvExportPlugin
from nbgrader.preprocessors import AssignLatePenalties
from nbgrader.utils import parse_utc
from traitlets import Dict
from traitlets.config import Config, Configurable, PyFileConfigLoader

from autograder.course import ROOT
from autograder.exchange import read_small, valid_timestamp


class DueDates(Configurable):
    due_dates = Dict(
        {}, help='Due date per assignment: {"ex01_conv1d": "2025-06-01 23:59:59 Asia/Tokyo"}'
    ).tag(config=True)


def course_config() -> Config:
    """The course's nbgrader configuration, as nbgrader reads it from the repository root."""
    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()


def due_dates(config: Config) -> dict[str, datetime]:
    """assignment -> due date (naive UTC, as nbgrader stores it)."""
    return {a: parse_utc(when) for a, when in DueDates(config=config).due_dates.items()}


def stamp(submissions: Path, student: str, assignment: str) -> datetime | None:
    folder = submissions / student / assignment
    text = read_small(folder, "timestamp.txt") if folder.is_dir() else None
    return valid_timestamp(text) if text else None


def apply(
    out: Path,
    submissions: Path | None,
    student: str | None = None,
    assignment: str | None = None,
    config: Config | None = None,
    say=print,
) -> int:
    """Record due dates and the graded submissions' timestamps; set penalties; re-export grades.

    Returns how many submissions are late.
    """
    config = course_config() if config is None else config
    due = due_dates(config)
    penalties = AssignLatePenalties(config=config)
    plugin = penalties.plugin_class(parent=penalties)
    late = 0
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore")
        for name, when in due.items():
            try:
                gb.find_assignment(name).duedate = when
            except MissingEntry:
                say(f"warning: a due date is set for {name}, which is not an assignment")
        gb.db.commit()  # each submission's duedate (a column property) is read afresh
        for a in gb.assignments:
            for sub in a.submissions:
                graded = (
                    submissions is not None and (submissions / sub.student.id / a.name).is_dir()
                )
                if graded and student in (None, sub.student.id) and assignment in (None, a.name):
                    sub.timestamp = stamp(submissions, sub.student.id, a.name)
                seconds = sub.total_seconds_late
                for nb in sub.notebooks:
                    nb.late_submission_penalty = None
                    if seconds > 0:
                        penalty = plugin.late_submission_penalty(sub.student.id, nb.score, seconds)
                        if penalty is not None:
                            nb.late_submission_penalty = min(max(penalty, 0.0), nb.score)
                if seconds > 0:
                    late += 1
                    say(f"{sub.student.id}/{a.name} is {seconds / 3600:.1f} h late")
        gb.db.commit()
        tmp = out / "grades.csv.tmp"
        CsvExportPlugin(to=str(tmp)).export(gb)
        tmp.replace(out / "grades.csv")
    return late
