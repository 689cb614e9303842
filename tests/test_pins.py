"""requirements.txt (what make and CI install) and environment.yml (conda) pin the same versions."""

import re
import subprocess
import sys

from tools.course_config import ROOT

PIN = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-]+)==([^\s#]+)\s*$")


def pins(text: str) -> dict[str, str]:
    return {
        m.group(1).lower().replace("_", "-"): m.group(2)
        for line in text.splitlines()
        if (m := PIN.match(line))
    }


def test_pin_parser_reads_both_formats():
    assert pins("torch==2.13.0\n      - numpy==2.4.6\n# x==1\n") == {
        "torch": "2.13.0",
        "numpy": "2.4.6",
    }


def test_requirements_and_environment_agree():
    req = pins((ROOT / "requirements.txt").read_text())
    env = pins((ROOT / "environment.yml").read_text())
    assert req, "requirements.txt pins nothing"
    assert req == env, (
        "requirements.txt and environment.yml disagree:\n"
        f"only in requirements.txt: {sorted(set(req.items()) - set(env.items()))}\n"
        f"only in environment.yml: {sorted(set(env.items()) - set(req.items()))}"
    )


def test_importing_nbformat_builds_no_iri_parser():
    """jsonschema 4.25+ imports rfc3987-syntax when it is installed (jupyter-events' extra
    brings it), and that builds an Earley parser at import: seconds of CPU in every grading
    worker and nbgrader command. The pinned jsonschema does not import it."""
    code = "import sys, nbformat; print(' '.join(m for m in ('rfc3987_syntax', 'lark') if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "", (
        f"importing nbformat loads {loaded.stdout.strip()}: a jsonschema newer than the pin in "
        "requirements.txt is installed (`make venv` installs the pin), or a pin brought it in"
    )
