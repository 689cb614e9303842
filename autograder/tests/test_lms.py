"""LMS downloads: a Moodle zip and a Canvas zip, each with hostile entries, are graded as expected."""

import csv
import stat
import zipfile
from pathlib import Path

import pytest

from autograder import grading, lms
from autograder.course import ASSIGNMENTS, DEMO_SUBMISSIONS

pytestmark = pytest.mark.slow  # see pyproject.toml: not in make check

A = ASSIGNMENTS[0]  # the smallest exercise
RIGHT = (DEMO_SUBMISSIONS / "ada" / A / f"{A}.ipynb").read_bytes()
HALF = (DEMO_SUBMISSIONS / "ben" / A / f"{A}.ipynb").read_bytes()
WHEN = (2025, 5, 1, 10, 0, 0)


def _zip(path: Path, entries: list) -> Path:
    """entries: (name, bytes) or (name, target, "link")."""
    with zipfile.ZipFile(path, "w") as zf:
        for entry in entries:
            info = zipfile.ZipInfo(entry[0], date_time=entry[3] if len(entry) > 3 else WHEN)
            if len(entry) > 2 and entry[2] == "link":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, entry[1])
    return path


def moodle_zip(tmp: Path) -> Path:
    return _zip(
        tmp / "moodle-export.zip",
        [
            (f"山田 太郎_101_assignsubmission_file_/{A}.ipynb", RIGHT),
            (f"Ben Smith_102_assignsubmission_file_Copy of {A}.ipynb", HALF),
            (f"../{A}.ipynb", RIGHT),  # climbs out: skipped
            (f"Eve Evil_103_assignsubmission_file_/{A}.ipynb", "/etc/passwd", "link"),
            ("Eve Evil_103_assignsubmission_onlinetext_onlinetext.html", b"<p>hi</p>"),
        ],
    )


def canvas_zip(tmp: Path) -> Path:
    return _zip(
        tmp / "canvas-export.zip",
        [
            (f"yamadataro_201_9001_{A}.ipynb", HALF),
            (f"yamadataro_201_9002_{A}-1.ipynb", RIGHT),  # the resubmission counts
            (f"smithben_late_202_9003_{A} のコピー.ipynb", HALF),
            (f"/tmp/{A}.ipynb", RIGHT),  # absolute: skipped
            (f"evil_203_9004_{A}.ipynb", "../../etc/passwd", "link"),
        ],
    )


def test_names_are_cleaned():
    assert lms.clean_name(f"Copy of {A}.ipynb") == (f"{A}.ipynb", 0)
    assert lms.clean_name(f"{A}.ipynb のコピー.ipynb") == (f"{A}.ipynb", 0)
    assert lms.clean_name(f"{A}-2.ipynb", canvas=True) == (f"{A}.ipynb", 2)
    assert lms.split_name("山田\u3000太郎") == ("山田", "太郎")
    info = lms.parse(f"Full Name_12345_assignsubmission_file_/sub/{A}.ipynb")
    assert (info["student_id"], info["file_id"], info["full_name"]) == (
        "12345",
        f"sub/{A}.ipynb",
        "Full Name",
    )
    info = lms.parse(f"lastnamefirstname_late_12345_67890_{A}-1.ipynb")
    assert (info["lms"], info["student_id"], info["attempt"], info["late"]) == (
        "canvas",
        "12345",
        1,
        True,
    )


def test_the_extractor_skips_hostile_entries(tmp_path):
    archive = _zip(
        tmp_path / "x.zip",
        [
            ("ok/a.ipynb", b"{}"),
            ("../up.txt", b"x"),
            ("/abs.txt", b"x"),
            ("ok/link", "/etc/passwd", "link"),
            ("ok/inner.zip", b"PK\x05\x06" + b"\0" * 18),  # written as a file, never opened
        ],
    )
    target = tmp_path / "out"
    target.mkdir()
    skipped = lms.safe_extract(archive, target, log=lambda *a: None)
    assert len(skipped) == 3, skipped
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == ["ok/a.ipynb", "ok/inner.zip"]
    assert not (tmp_path / "up.txt").exists()
    assert all(not p.is_symlink() for p in target.rglob("*"))
    assert (target / "ok" / "a.ipynb").stat().st_mtime == pytest.approx(
        __import__("time").mktime((*WHEN, 0, 0, -1))
    )


def test_the_extractor_caps_entries(tmp_path, monkeypatch):
    monkeypatch.setattr(lms, "MAX_ENTRIES", 2)
    archive = _zip(tmp_path / "x.zip", [(f"f{i}.txt", b"x") for i in range(5)])
    (tmp_path / "out").mkdir()
    skipped = lms.safe_extract(archive, tmp_path / "out", log=lambda *a: None)
    assert len(list((tmp_path / "out").iterdir())) == 2 and "more than 2" in skipped[-1]


def test_a_zip_of_several_assignments_asks_for_one(tmp_path):
    archive = _zip(
        tmp_path / "mixed.zip",
        [
            (f"A B_1_assignsubmission_file_{ASSIGNMENTS[0]}.ipynb", RIGHT),
            (f"C D_2_assignsubmission_file_{ASSIGNMENTS[1]}.ipynb", RIGHT),
        ],
    )
    with pytest.raises(SystemExit, match="ASSIGNMENT"):
        lms.collect_zip(archive, tmp_path / "out")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lms")
    out = tmp / "grading"
    assert grading.main(["--submissions", str(moodle_zip(tmp)), "--out", str(out)]) == 0
    assert grading.main(["--submissions", str(canvas_zip(tmp)), "--out", str(out)]) == 0
    with open(out / "grades.csv", newline="") as f:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}
    return tmp, out, rows


def test_moodle_zip_is_graded(graded):
    tmp, out, rows = graded
    folder = out / "lms" / "moodle-export"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["101", "102"]
    assert (folder / "102" / A / f"{A}.ipynb").is_file()  # "Copy of" removed
    assert not (tmp / f"{A}.ipynb").exists() and not (out / "lms" / f"{A}.ipynb").exists()
    assert float(rows[("101", A)]["score"]) == float(rows[("101", A)]["max_score"])
    assert 0 < float(rows[("102", A)]["score"]) < float(rows[("102", A)]["max_score"])
    assert (rows[("101", A)]["first_name"], rows[("101", A)]["last_name"]) == ("山田", "太郎")
    assert rows[("101", A)]["timestamp"].startswith("2025-05-01")  # the export's time
    with open(out / f"moodle_{A}.csv", newline="", encoding="utf-8") as f:
        sheet = list(csv.DictReader(f))
    assert [r["Identifier"] for r in sheet] == ["Participant 101", "Participant 102"]
    assert sheet[0]["Full name"] == "山田 太郎"
    assert sheet[0]["Grade"] == sheet[0]["Maximum grade"] != "0"
    assert set(sheet[0]) == {
        "Identifier",
        "Full name",
        "Grade",
        "Maximum grade",
        "Feedback comments",
    }


def test_canvas_zip_is_graded(graded):
    _, out, rows = graded
    folder = out / "lms" / "canvas-export"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["201", "202"]
    assert float(rows[("201", A)]["score"]) == float(rows[("201", A)]["max_score"])  # -1 counts
    assert 0 < float(rows[("202", A)]["score"]) < float(rows[("202", A)]["max_score"])
    with open(out / "canvas_gradebook.csv", newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A]
    assert table[1][0].strip() == "Points Possible"
    assert [r[1] for r in table[2:]] == ["201", "202"]
    assert table[2][5] == table[1][5]
