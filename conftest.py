"""pytest configuration shared by every test run (see pyproject.toml for options)."""

import os

from tools.course_config import EXECUTION_ENV

# nbval's kernels inherit this process's environment: the same as `make notebooks` uses.
os.environ.update(EXECUTION_ENV)

# nbval checks the English edition of each lesson only (`pytest --nbval lessons`): the bilingual
# sources (lessons/src, stored without outputs) and the Japanese edition (lessons/ja) share its
# code cells and outputs, which tests/test_editions.py proves.
collect_ignore = ["lessons/src", "lessons/ja"]

# make test hands whole files to its xdist workers (--dist loadfile) in collection order, which
# starts with these, the files that take longest (`make test PYTEST_ADDOPTS=--durations=0`),
# longest first; every other file follows in its usual order.
LONGEST_FIRST = [
    "browser_tests/test_jupyterlab.py",
    "autograder/tests/test_grading.py",
    "autograder/tests/test_exchange_loop.py",
    "autograder/tests/test_service.py",
    "autograder/tests/test_engine_safety.py",
    "autograder/tests/test_slurm.py",
    "autograder/tests/test_unprivileged.py",
    "autograder/tests/test_demo_class.py",
    "autograder/tests/test_kubernetes_job.py",
    "autograder/tests/test_merge.py",
    "autograder/tests/test_lms.py",
]


def pytest_configure(config):
    # xdist would otherwise start the files with the most tests first, and the long single-test
    # files (the exchange loop, Slurm) would start last and run alone at the end.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
