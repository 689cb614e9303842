"""Find and read the submissions in a folder laid out as nbgrader's submitted/ step.

    DIR/<student_id>/<assignment>/<assignment>.ipynb   (plus any files beside it)

Everything in DIR comes from students, so nothing in it is followed: a student folder,
assignment folder or notebook that is a symbolic link (LMS zips and tars create them) or not
a regular file or folder is reported and scores 0; any other such entry beside a regular
notebook is left out unread, and the feedback says so. Files are opened relative to their
folder with O_NOFOLLOW and checked after opening, so a link swapped in later is not followed
either. Problems with one submission never stop the others.
"""

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course import ASSIGNMENTS


@dataclass
class Submission:
    student: str
    assignment: str
    folder: Path
    notebook: Path  # the file to grade (may differ from <assignment>.ipynb when renamed)


@dataclass
class Collected:
    submissions: list[Submission] = field(default_factory=list)
    students: list[str] = field(default_factory=list)
    # (student, assignment or folder name, what is wrong): shown to the instructor and in cells.csv
    problems: list[tuple[str, str, str]] = field(default_factory=list)


class Unreadable(Exception):
    """A submitted entry that is not read: a link, not a regular file, too large."""


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    return "not a regular file"


_NOFOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # a FIFO must not block


def open_folder(path: Path) -> int:
    """A file descriptor of the folder `path`, refusing a symbolic link as its last part."""
    try:
        return os.open(path, _NOFOLLOW | os.O_DIRECTORY)
    except OSError as err:
        raise Unreadable(f"{path.name} is not a folder that can be read ({err.strerror})") from None


def read_regular(dir_fd: int, name: str, limit: int) -> bytes:
    """The bytes of the regular file `name` in the folder `dir_fd`, never through a link."""
    try:
        fd = os.open(name, _NOFOLLOW, dir_fd=dir_fd)
    except OSError as err:
        what = "a symbolic link" if err.errno == 40 else err.strerror  # ELOOP
        raise Unreadable(f"{name} is {what}; not read") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"{name} is {_kind(info.st_mode)}; not read")
        if info.st_size > limit:
            raise Unreadable(f"{name} is larger than {limit >> 20} MiB; not read")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise Unreadable(f"{name} is larger than {limit >> 20} MiB; not read")
        return data
    finally:
        os.close(fd)


def _visible(name: str) -> bool:
    return not name.startswith((".", "_"))


def _entries(path: Path) -> list[os.DirEntry]:
    with os.scandir(path) as it:
        return sorted((e for e in it if _visible(e.name)), key=lambda e: e.name)


def collect(root: Path) -> Collected:
    if not root.is_dir():
        raise SystemExit(
            f"error: submissions folder {root} does not exist; give a folder laid out as "
            "DIR/<student_id>/<assignment>/<assignment>.ipynb"
        )
    found = Collected()
    for student_entry in _entries(root):
        student = student_entry.name
        if not student_entry.is_dir(follow_symlinks=False):
            if student_entry.is_symlink():
                found.problems.append(
                    (student, "", "the student folder is a symbolic link; not read")
                )
            continue
        found.students.append(student)
        for entry in _entries(Path(student_entry.path)):
            mode = entry.stat(follow_symlinks=False).st_mode
            if entry.name not in ASSIGNMENTS:
                if stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
                    found.problems.append(
                        (
                            student,
                            entry.name,
                            f"unknown assignment folder; expected one of {ASSIGNMENTS}",
                        )
                    )
                continue
            if not stat.S_ISDIR(mode):
                found.problems.append(
                    (
                        student,
                        entry.name,
                        f"the assignment folder is {_kind(mode)}; not read; scored 0",
                    )
                )
                continue
            folder = Path(entry.path)
            notebook = _pick_notebook(student, folder, found.problems)
            if notebook is not None:
                found.submissions.append(Submission(student, folder.name, folder, notebook))
    if not found.students:
        raise SystemExit(
            f"error: {root} holds no student folders; expected "
            "DIR/<student_id>/<assignment>/<assignment>.ipynb"
        )
    return found


def _pick_notebook(student: str, folder: Path, problems: list) -> Path | None:
    assignment = folder.name
    expected = f"{assignment}.ipynb"
    entries = {e.name: e for e in _entries(folder)}
    notebooks = [name for name in entries if name.endswith(".ipynb")]
    if expected in entries:
        name = expected
    elif len(notebooks) == 1:
        name = notebooks[0]
        problems.append(
            (student, assignment, f"notebook named {name}, expected {expected}; graded anyway")
        )
    else:
        names = notebooks or "none"
        problems.append(
            (student, assignment, f"no {expected} (notebooks found: {names}); scored 0")
        )
        return None
    try:
        read_notebook(folder, name)
    except Unreadable as err:
        problems.append((student, assignment, f"{err}; scored 0"))
        return None
    return folder / name


NOTEBOOK_BYTES = 32 << 20
EXTRA_FILE_BYTES = 1 << 20  # files beside a notebook (models.py) are small


def read_notebook(folder: Path, name: str, dir_fd: int | None = None):
    own = dir_fd is None
    dir_fd = open_folder(folder) if own else dir_fd
    try:
        data = read_regular(dir_fd, name, NOTEBOOK_BYTES)
    finally:
        if own:
            os.close(dir_fd)
    try:
        return nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as err:  # empty file, not UTF-8, not JSON, not a notebook
        raise Unreadable(f"{name} is not a valid notebook ({str(err)[:200]})") from None


def read_submission(sub: Submission):
    """(notebook, files beside it, notes on what was left out), read without following links."""
    dir_fd = open_folder(sub.folder)
    try:
        nb = read_notebook(sub.folder, sub.notebook.name, dir_fd)
        files, notes = {}, []
        with os.scandir(dir_fd) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            name = entry.name
            if name == sub.notebook.name or (
                name.endswith(".ipynb") and entry.is_file(follow_symlinks=False)
            ):
                continue
            try:
                files[name] = read_regular(dir_fd, name, EXTRA_FILE_BYTES)
            except Unreadable as err:
                notes.append(f"left out: {err}")
        return nb, files, notes
    finally:
        os.close(dir_fd)
