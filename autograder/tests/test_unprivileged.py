"""The engine's protections hold for an instructor who is not root, as for root.

Run as root (as CI runs), this creates an ordinary user and grades the adversarial corpus
and the engine's unit tests again as that user: with Debian's /usr/bin/python3 (the Python
under /root is private to root) and a copy of the checkout and of its packages in a folder
that user can reach (CI's clone sits in a private temporary folder). Run as an ordinary user,
the other test modules already test that mode, and this one is skipped.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import ROOT

pytestmark = pytest.mark.slow  # see pyproject.toml: not in make check

USER = "course-grader"
STAGE = Path("/var/tmp/course-unprivileged")
SYSTEM_PYTHON = "/usr/bin/python3"
MODULES = ["autograder/tests/test_engine_units.py", "autograder/tests/test_engine_safety.py"]
SBIN = "/usr/sbin:/sbin:/usr/bin:/bin"
SKIP = {".git", ".venv", "grading", "screenshots", "__pycache__", ".pytest_cache", ".ruff_cache"}


def _ensure_user() -> None:
    if subprocess.run(["id", "-u", USER], capture_output=True).returncode != 0:
        useradd = shutil.which("useradd", path=SBIN)
        subprocess.run([useradd, "--system", "--no-create-home", USER], check=True)


def _copy_tree(source: Path, target: Path) -> None:
    """Hard links where the filesystem allows (fast for torch's 1 GB), else copies."""
    try:
        subprocess.run(["cp", "-al", f"{source}/.", str(target)], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        shutil.copytree(source, target, dirs_exist_ok=True, symlinks=True)


def _stage() -> Path:
    """A checkout and a venv (on the system Python) that the ordinary user can read."""
    shutil.rmtree(STAGE, ignore_errors=True)
    STAGE.mkdir(mode=0o755, parents=True)
    repo = STAGE / "course"
    shutil.copytree(ROOT, repo, ignore=lambda d, names: [n for n in names if n in SKIP])
    subprocess.run(["chown", "-R", f"{USER}:", str(repo)], check=True)  # the instructor's checkout
    venv = repo / ".venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    ours = Path(sys.prefix) / "lib" / version / "site-packages"
    _copy_tree(ours, venv / "lib" / version / "site-packages")
    for data in ("share", "etc"):  # nbconvert's templates, Jupyter's settings
        if (Path(sys.prefix) / data).is_dir():
            (venv / data).mkdir(exist_ok=True)
            _copy_tree(Path(sys.prefix) / data, venv / data)
    for script in (Path(sys.prefix) / "bin").iterdir():  # console scripts (nbgrader, alembic)
        target = venv / "bin" / script.name
        if target.exists() or not script.is_file():
            continue
        text = script.read_bytes()
        if text.startswith(b"#!") and b"python" in text.split(b"\n", 1)[0]:
            target.write_bytes(
                b"#!" + str(venv / "bin" / "python").encode() + b"\n" + text.split(b"\n", 1)[1]
            )
            target.chmod(0o755)
    subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)
    home = STAGE / "home"
    home.mkdir()
    shutil.chown(home, USER, USER)
    return repo


@pytest.mark.skipif(os.getuid() != 0, reason="already running as an ordinary user")
def test_the_corpus_passes_as_an_ordinary_user():
    if not Path(SYSTEM_PYTHON).exists():
        pytest.skip(f"{SYSTEM_PYTHON} is not installed")
    _ensure_user()
    repo = _stage()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(STAGE / "home"),
        "LANG": "C.UTF-8",
        "CI": "true",  # the corpus then refuses to run without its sandbox
    }
    cmd = [
        shutil.which("runuser", path=SBIN),
        "-u",
        USER,
        "--",
        str(repo / ".venv" / "bin" / "python"),
        "-m",
        "pytest",
    ]
    cmd += ["-p", "no:cacheprovider", "-q", "-x", *MODULES]
    done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=1200)
    print(done.stdout[-3000:], done.stderr[-2000:])
    try:
        assert done.returncode == 0, f"as {USER}:\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
        assert " passed" in done.stdout and "skipped" not in done.stdout.split("\n")[-2]
    finally:
        shutil.rmtree(STAGE, ignore_errors=True)
