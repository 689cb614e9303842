"""The course's side of nbgrader's exchange: collecting a submission without following links.

`nbgrader collect` copies each student's latest submission out of the exchange's inbound
folder (nbgrader's ExchangeCollect picks it); the course's ExchangeCollect (named by
ExchangeFactory.collect in autograder/nbgrader_config.py) replaces only the copy. A
submission in the inbound folder stays writable by its student after submitting, so what
is there is untrusted: nbgrader's copy (shutil.copytree) copies what a symbolic link points
to. This copy opens every entry relative to its folder with O_NOFOLLOW, copies regular files
and folders only, leaves out links, FIFOs and devices with a message, and checks the two files
the exchange writes (timestamp.txt, submission_secret.txt) before keeping them. A submission
changed after it was submitted (its files' change times are later than its timestamp) is
timed by the last change, so that an edited timestamp.txt does not make late work on time.
"""

import argparse
import fnmatch
import os
import re
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect as NbgraderCollect
from nbgrader.utils import parse_utc

from autograder.collect import Unreadable, read_regular
from autograder.course import ASSIGNMENTS
from autograder.nbgrader_cli import nbgrader

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's Exchange.timestamp_format
SECRET = re.compile(r"[0-9a-f]{128}")  # secrets.token_hex(64), as nbgrader's submit writes it
SLACK_SECONDS = 60  # submit writes its files just after taking the timestamp
MAX_DEPTH = 8
MAX_ENTRIES = 1000
MAX_TOTAL_BYTES = 100 << 20

_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


def valid_timestamp(text: str) -> datetime | None:
    """The UTC time of an nbgrader timestamp, or None when `text` is not one."""
    text = text.strip()
    if not text or len(text) > 64 or "\n" in text:
        return None
    try:
        return parse_utc(text)
    except (ValueError, OverflowError):
        return None


def format_timestamp(when: datetime) -> str:
    """An nbgrader timestamp (UTC) for a naive UTC datetime."""
    return when.replace(tzinfo=UTC).strftime(TIMESTAMP_FORMAT)


def valid_secret(text: str) -> bool:
    return SECRET.fullmatch(text) is not None  # exactly: fetch_feedback hashes it as it is


def read_small(folder: Path, name: str, limit: int = 4096) -> str | None:
    """The text of the regular file `folder/name`, never through a link; None if unreadable."""
    try:
        fd = os.open(folder, _DIR)
    except OSError:
        return None
    try:
        return read_regular(fd, name, limit).decode("utf-8", "replace")
    except Unreadable:
        return None
    finally:
        os.close(fd)


class Copier:
    """Copy a folder tree of regular files, opening nothing through a link."""

    def __init__(self, ignore=(), max_file_bytes=MAX_TOTAL_BYTES, log=print):
        self.ignore = list(ignore)
        self.max_file_bytes = max_file_bytes
        self.say = log
        self.left_out: list[str] = []
        self.entries = 0
        self.total = 0
        self.newest_change = 0.0  # the latest ctime seen (seconds since the epoch)

    def _skip(self, rel: str, why: str) -> None:
        self.left_out.append(f"{rel}: {why}")
        self.say(f"left out {rel}: {why}")

    def copy(self, src: Path, dest: Path) -> None:
        fd = os.open(src, _DIR)
        try:
            self.newest_change = max(self.newest_change, os.fstat(fd).st_ctime)
            dest.mkdir(parents=True, exist_ok=False)
            self._copy_dir(fd, dest, "", 0)
        finally:
            os.close(fd)

    def _copy_dir(self, dir_fd: int, dest: Path, rel: str, depth: int) -> None:
        with os.scandir(dir_fd) as it:
            names = sorted(e.name for e in it)
        for name in names:
            path = f"{rel}{name}"
            if any(fnmatch.fnmatch(name, pattern) for pattern in self.ignore):
                continue
            self.entries += 1
            if self.entries > MAX_ENTRIES:
                self._skip(path, f"more than {MAX_ENTRIES} entries; the rest is not copied")
                return
            try:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError as err:
                self._skip(path, err.strerror)
                continue
            self.newest_change = max(self.newest_change, info.st_ctime)
            if stat.S_ISDIR(info.st_mode):
                if depth >= MAX_DEPTH:
                    self._skip(path, f"folders nested deeper than {MAX_DEPTH}")
                    continue
                try:
                    sub = os.open(name, _DIR, dir_fd=dir_fd)
                except OSError as err:  # swapped for a link since the stat
                    self._skip(path, f"not a folder that can be read ({err.strerror})")
                    continue
                try:
                    (dest / name).mkdir()
                    self._copy_dir(sub, dest / name, f"{path}/", depth + 1)
                finally:
                    os.close(sub)
            elif stat.S_ISREG(info.st_mode):
                limit = min(self.max_file_bytes, MAX_TOTAL_BYTES - self.total)
                try:
                    data = read_regular(dir_fd, name, limit)
                except Unreadable as err:
                    self._skip(path, str(err).removeprefix(f"{name} "))
                    continue
                self.total += len(data)
                out = os.open(
                    dest / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644
                )
                with os.fdopen(out, "wb") as f:
                    f.write(data)
                os.utime(dest / name, ns=(info.st_atime_ns, info.st_mtime_ns))
            elif stat.S_ISLNK(info.st_mode):
                self._skip(path, "a symbolic link; not copied")
            else:
                self._skip(path, "not a regular file; not copied")


def copy_submission(src: Path, dest: Path, ignore=(), max_file_bytes=MAX_TOTAL_BYTES, log=print):
    """Copy one submission out of the inbound folder into `dest` (which must not exist).

    Keeps timestamp.txt and submission_secret.txt only when they are what nbgrader writes;
    a submission whose entries changed later than SLACK_SECONDS after its timestamp gets the
    time of its last change. Returns the notes on what was left out or changed.
    """
    copier = Copier(ignore, max_file_bytes, log)
    copier.copy(src, dest)
    notes = []
    stamp_file, secret_file = dest / "timestamp.txt", dest / "submission_secret.txt"
    stated = valid_timestamp(read_small(dest, "timestamp.txt") or "")
    if stamp_file.exists() and stated is None:
        notes.append("timestamp.txt is not an nbgrader timestamp; not kept")
        stamp_file.unlink()
    if secret_file.exists() and not valid_secret(read_small(dest, "submission_secret.txt") or ""):
        notes.append("submission_secret.txt is not an nbgrader secret; not kept")
        secret_file.unlink()
    changed = datetime.fromtimestamp(copier.newest_change, UTC).replace(tzinfo=None)
    if stated is None or (changed - stated).total_seconds() > SLACK_SECONDS:
        if stated is not None:
            notes.append(
                f"changed at {format_timestamp(changed)}, after it was submitted at "
                f"{format_timestamp(stated)}; timed by the change"
            )
        stamp_file.write_text(format_timestamp(changed))
    for note in notes:
        log(f"{dest}: {note}")
    return copier.left_out + notes


class ExchangeCollect(NbgraderCollect):
    """nbgrader's collect (the latest submission of each student), copying as above."""

    def do_copy(self, src, dest, log=None):
        max_file = self.coursedir.max_file_size * 1000 if self.coursedir.max_file_size else None
        copy_submission(
            Path(src),
            Path(dest),
            ignore=self.coursedir.ignore,
            max_file_bytes=min(max_file or MAX_TOTAL_BYTES, MAX_TOTAL_BYTES),
            log=self.log.warning,
        )


def run(step: str, assignments: list[str], student: str | None = None) -> int:
    """`nbgrader STEP A` for each assignment (release_assignment, collect, release_feedback)."""
    extra = {"release_assignment": ["--force"], "collect": ["--update"], "release_feedback": []}
    failed = 0
    for assignment in assignments:
        args = [step, assignment, *extra[step]]
        if student:
            args.append(f"--student={student}")
        proc = nbgrader(*args, check=False)
        for line in (proc.stdout + proc.stderr).splitlines():
            if "[" in line and ("INFO" in line or "WARNING" in line or "ERROR" in line):
                print(line)
        if proc.returncode != 0:
            failed += 1
            print(f"error: nbgrader {step} {assignment} failed (exit {proc.returncode})")
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="nbgrader's exchange steps for the course")
    parser.add_argument("step", choices=["release", "collect", "release_feedback"])
    parser.add_argument("--assignment", choices=ASSIGNMENTS)
    parser.add_argument("--student")
    args = parser.parse_args(argv)
    step = "release_assignment" if args.step == "release" else args.step
    return run(step, [args.assignment] if args.assignment else ASSIGNMENTS, args.student)


if __name__ == "__main__":
    sys.exit(main())
