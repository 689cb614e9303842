"""The sandbox's launch: isolated where bubblewrap works, a clear warning where it does not."""

import shutil

import pytest

from autograder.engine.config import Config
from autograder.engine.sandbox import launch, warning


def test_without_bubblewrap_grading_warns_what_is_not_protected():
    plain = launch(Config(unsandboxed=True))
    plain.cleanup()
    assert not plain.isolated
    text = warning(plain)
    for word in (
        "WITHOUT a sandbox",
        "filesystem",
        "network",
        "disk quota",
        "apt-get install bubblewrap",
    ):
        assert word in text, text


def test_missing_bubblewrap_is_named(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    plain = launch()
    plain.cleanup()
    assert "not installed" in warning(plain)


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_bubblewrap_launch_hides_the_course_and_the_network():
    how = launch()
    how.cleanup()
    argv = how.argv
    assert "--unshare-net" in argv and "--unshare-pid" in argv
    # Both writable places are sized tmpfs: the submission's disk quota.
    at = [i for i, a in enumerate(argv) if a == "--size"]
    assert [argv[i + 2 : i + 4] for i in at] == [["--tmpfs", "/tmp"], ["--tmpfs", "/scratch"]]
    assert sum(int(argv[i + 1]) for i in at) <= 1 << 30
    assert not any(a.endswith(("/solutions", "/grading")) for a in argv), argv
