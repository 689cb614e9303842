"""Submissions downloaded from an LMS (Moodle, Canvas): one zip -> nbgrader's submitted layout.

    python -m autograder.lms EXPORT.zip [--assignment A] [--out grading]

collects EXPORT.zip into grading/lms/<zip name>/<student_id>/<assignment>/ with nbgrader's
`zip_collect`, the course's extractor (SafeExtractor) and a collector per format:

- Moodle: `Full Name_12345_assignsubmission_file_/ex05_model.ipynb` (one folder per
  participant) or flat, `Full Name_12345_assignsubmission_file_ex05_model.ipynb`; the student
  id is the participant number (12345).
- Canvas: `lastnamefirstname[_late]_12345_67890_ex05_model.ipynb`; the student id is the
  first number (the user id); `-1`, `-2` before the extension are resubmissions, and the
  latest counts.

Notebook names lose Colab's `Copy of ` and 「のコピー」 (and Canvas' `-N`); files beside
the notebook (models.py) are kept. The assignment is --assignment, else the one whose
released notebook name every notebook in the zip has. Each submission's timestamp.txt is
the time of its files in the zip. The students' names and the format are kept in
grading/lms/<zip name>/_lms.json, for the grade files of autograder/lms_export.py.

nbgrader's own extractor aborts on an entry with `../` and writes a link entry as a file;
SafeExtractor skips, with a message, entries that climb out of their folder, absolute
paths, links and anything not a regular file or folder, writes regular files only, keeps
each entry's time, opens no archive inside the archive, and caps the entries' number and
total size.
"""

import argparse
import json
import os
import re
import shutil
import stat
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin

from autograder.course import ASSIGNMENTS, GRADING
from autograder.nbgrader_cli import nbgrader

MAX_ENTRIES = 20000
MAX_TOTAL_BYTES = 2 << 30
MAX_FILE_BYTES = 64 << 20
VALID_EXT = [".ipynb", ".py"]

MOODLE_FOLDER = re.compile(r"(?P<name>.+)_(?P<id>\d+)_assignsubmission_file_?")
MOODLE_FLAT = re.compile(r"(?P<name>.+)_(?P<id>\d+)_assignsubmission_file_(?P<file>.+)")
CANVAS = re.compile(
    r"(?P<login>[^_/]+?)(?P<late>_late)?_(?P<id>\d+)_(?P<sub>\d+)_(?P<file>.+)", re.IGNORECASE
)
_SPACE = re.compile(r"[\s\u3000]+")


def clean_name(name: str, canvas: bool = False) -> tuple[str, int]:
    """(the file's name as released, its resubmission number): Copy of / のコピー / -N removed."""
    stem, ext = os.path.splitext(name)
    stem = re.sub(r"^Copy of ", "", stem)
    stem = re.sub(r"^「(.+)」\s*のコピー$", r"\1", stem)
    stem = re.sub(r"\s*のコピー$", "", stem)
    attempt = 0
    if canvas:
        found = re.search(r"-(\d+)$", stem)
        if found:
            attempt, stem = int(found.group(1)), stem[: found.start()]
    if ext == ".ipynb":
        stem = stem.removesuffix(".ipynb")
    return stem + ext, attempt


def split_name(full: str) -> tuple[str, str]:
    """(first name, last name) of a full name, in the order Moodle shows it."""
    parts = _SPACE.split(full.strip(), maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


def parse(rel: str) -> dict | None:
    """Who a file of the export (path relative to the export's root) belongs to, or None."""
    parts = PurePosixPath(rel).parts
    for i, part in enumerate(parts[:-1]):  # Moodle, one folder per participant
        m = MOODLE_FOLDER.fullmatch(part)
        if m:
            file_id = "/".join([*parts[i + 1 : -1], clean_name(parts[-1])[0]])
            first, last = split_name(m["name"])
            return dict(lms="moodle", student_id=m["id"], file_id=file_id, full_name=m["name"],
                        first_name=first, last_name=last, attempt=0)  # fmt: skip
    name = parts[-1]
    m = MOODLE_FLAT.fullmatch(name)
    if m:
        first, last = split_name(m["name"])
        return dict(lms="moodle", student_id=m["id"], file_id=clean_name(m["file"])[0],
                    full_name=m["name"], first_name=first, last_name=last, attempt=0)  # fmt: skip
    m = CANVAS.fullmatch(name)
    if m:
        file_id, attempt = clean_name(m["file"], canvas=True)
        return dict(lms="canvas", student_id=m["id"], file_id=file_id, full_name=m["login"],
                    first_name="", last_name=m["login"], attempt=attempt, late=bool(m["late"]))  # fmt: skip
    return None


def _unsafe(name: str) -> str | None:
    """Why the entry name `name` is not extracted, or None."""
    if "\x00" in name or "\\" in name:
        return "a name with a backslash or NUL"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "a path that climbs out of its folder"
    return None


def safe_extract(archive: Path, target: Path, log=print) -> list[str]:
    """Extract the regular files of `archive` under `target`; returns what was skipped."""
    skipped, entries, total = [], 0, 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            entries += 1
            if entries > MAX_ENTRIES:
                skipped.append(f"more than {MAX_ENTRIES} entries: the rest is not extracted")
                break
            name = info.filename
            kind = stat.S_IFMT(info.external_attr >> 16)
            why = _unsafe(name)
            if why is None and kind == stat.S_IFLNK:
                why = "a symbolic link"
            elif why is None and kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                why = "not a regular file"
            if why:
                skipped.append(f"{name!r}: {why}; skipped")
                continue
            rel = PurePosixPath(name)
            if info.is_dir() or kind == stat.S_IFDIR:
                (target / rel).mkdir(parents=True, exist_ok=True)
                continue
            if info.file_size > MAX_FILE_BYTES or total + info.file_size > MAX_TOTAL_BYTES:
                skipped.append(f"{name!r}: too large; skipped")
                continue
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            except OSError as err:
                skipped.append(f"{name!r}: {err.strerror}; skipped")
                continue
            written = 0
            with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > MAX_FILE_BYTES or total + written > MAX_TOTAL_BYTES:
                        break
                    out.write(chunk)
            if written > MAX_FILE_BYTES or total + written > MAX_TOTAL_BYTES:
                dest.unlink()
                skipped.append(f"{name!r}: larger than its header says; skipped")
                continue
            total += written
            when = time.mktime((*info.date_time, 0, 0, -1))  # zip times are local times
            os.utime(dest, (when, when))
    for note in skipped:
        log(f"{archive.name}: {note}")
    return skipped


class SafeExtractor(ExtractorPlugin):
    """nbgrader's extractor plugin, extracting each zip of the archive folder safely."""

    def extract(self, archive_path: str, extracted_path: str) -> None:
        for entry in sorted(os.scandir(archive_path), key=lambda e: e.name):
            if entry.is_file(follow_symlinks=False) and entry.name.endswith(".zip"):
                target = Path(extracted_path) / entry.name[: -len(".zip")]
                target.mkdir(parents=True, exist_ok=True)
                self.log.info("Extracting from: %s", entry.path)
                safe_extract(Path(entry.path), target, log=self.log.warning)
            else:
                self.log.warning("Skipped %s: not a zip file", entry.name)


class _Collector(FileNameCollectorPlugin):
    lms = ""

    def collect(self, submitted_file: str) -> dict | None:
        if os.path.splitext(submitted_file)[1] not in VALID_EXT:
            return None
        root = self.parent._format_collect_path(self.parent.extracted_directory)
        rel = Path(submitted_file).relative_to(root).as_posix()
        rel = rel.split("/", 1)[1] if "/" in rel else rel  # below the zip's own folder
        info = parse(rel)
        if info is None or info["lms"] != self.lms:
            self.log.warning("Skipped %s: not a %s submission file name", rel, self.lms)
            return None
        mtime = os.stat(submitted_file, follow_symlinks=False).st_mtime
        # The latest counts: the file's time, then its resubmission number (Canvas' -N).
        when = datetime.fromtimestamp(mtime, UTC).replace(tzinfo=None, microsecond=0)
        when = when.replace(microsecond=min(info["attempt"], 999999))
        return {"student_id": info["student_id"], "file_id": info["file_id"], "timestamp": when}


class MoodleCollector(_Collector):
    lms = "moodle"


class CanvasCollector(_Collector):
    lms = "canvas"


def _export_files(archive: Path) -> list[str]:
    with zipfile.ZipFile(archive) as zf:
        return [i.filename for i in zf.infolist() if not i.is_dir() and not _unsafe(i.filename)]


def detect(archive: Path) -> tuple[str, str | None, dict]:
    """(format, assignment or None, students) of an export, from its file names."""
    found = [info for info in map(parse, _export_files(archive)) if info]
    if not found:
        raise SystemExit(
            f"error: {archive.name} holds no Moodle or Canvas submission files "
            "(Moodle: Full Name_12345_assignsubmission_file_..., Canvas: name_12345_67890_...)"
        )
    lms = max(("moodle", "canvas"), key=lambda f: sum(i["lms"] == f for i in found))
    found = [i for i in found if i["lms"] == lms]
    notebooks = {i["file_id"] for i in found if i["file_id"].endswith(".ipynb")}
    names = {f"{a}.ipynb": a for a in ASSIGNMENTS}
    assignment = (
        names[notebooks.pop()] if len(notebooks) == 1 and notebooks <= names.keys() else None
    )
    students = {
        i["student_id"]: {k: i[k] for k in ("full_name", "first_name", "last_name")} for i in found
    }
    return lms, assignment, students


def collect_zip(
    archive: Path, out: Path = GRADING, assignment: str | None = None
) -> tuple[Path, str]:
    """Collect an LMS export into out/lms/<zip name>/; returns (that folder, the assignment)."""
    archive = archive.resolve()
    if not archive.is_file() or not zipfile.is_zipfile(archive):
        raise SystemExit(f"error: {archive} is not a zip file")
    lms, detected, students = detect(archive)
    if assignment is None:
        if detected is None:
            raise SystemExit(
                f"error: the notebooks in {archive.name} are not all one assignment's; "
                f"say which: make grade SUBMISSIONS={archive} ASSIGNMENT=<one of {ASSIGNMENTS}>"
            )
        assignment = detected
    name = archive.name[: -len(".zip")]
    folder, work = out / "lms" / name, out / "lms" / ".work" / name
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    (work / assignment / "archive").mkdir(parents=True)
    shutil.copyfile(archive, work / assignment / "archive" / archive.name)
    folder.mkdir(parents=True)
    collector = "MoodleCollector" if lms == "moodle" else "CanvasCollector"
    proc = nbgrader(
        "zip_collect", assignment, "--force",
        f"--collector=autograder.lms.{collector}", "--extractor=autograder.lms.SafeExtractor",
        f"--CourseDirectory.submitted_directory={folder.relative_to(out)}",
        f"--ZipCollectApp.downloaded_directory={work.relative_to(out)}",
        root=out, check=False,
    )  # fmt: skip
    for line in (proc.stdout + proc.stderr).splitlines():
        if "WARNING" in line or "ERROR" in line or "CRITICAL" in line:
            print(line)
    if proc.returncode != 0:
        raise SystemExit(f"error: nbgrader zip_collect failed (exit {proc.returncode})")
    collected = sorted(p.name for p in folder.iterdir() if p.is_dir())
    meta = {
        "lms": lms,
        "assignment": assignment,
        "zip": archive.name,
        "students": {s: students[s] for s in collected if s in students},
    }
    (folder / "_lms.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    print(f"collected {len(collected)} {lms} submissions of {assignment} into {folder}")
    return folder, assignment


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path, help="the zip Moodle or Canvas gives")
    parser.add_argument("--assignment", choices=ASSIGNMENTS)
    parser.add_argument("--out", type=Path, default=GRADING)
    args = parser.parse_args(argv)
    collect_zip(args.archive, args.out.resolve(), args.assignment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
