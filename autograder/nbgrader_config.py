"""nbgrader configuration for the course (loaded by ../nbgrader_config.py).

nbgrader's course root is the git-ignored grading/ folder: the gradebook, the
collected submissions, autograded copies and feedback all live there. Its
"source" step is solutions/ and its "release" step is the committed exercises/.

The exchange (release_assignment, fetch_assignment, submit, collect, release_feedback,
fetch_feedback) is the git-ignored exchange/ folder, or $COURSE_EXCHANGE (a shared folder on
a JupyterHub); students fetch into the git-ignored fetched/ folder. `nbgrader collect` uses
the course's collect step (autograder/exchange.py), which copies regular files only.
"""

import os
import sys

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # so nbgrader can import the course's feedback preprocessors

from autograder.course import ASSIGNMENTS  # noqa: E402
from autograder.feedback import FEEDBACK_PREPROCESSORS  # noqa: E402

GRADING = os.path.join(ROOT, "grading")
# Formgrader (in `make lab`) opens the gradebook here; nbgrader creates it by running
# `alembic`, which lives next to the Python that runs nbgrader (.venv/bin).
os.makedirs(GRADING, exist_ok=True)
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

c.CourseDirectory.course_id = "pytorch-conv-course"
c.CourseDirectory.root = GRADING
c.CourseDirectory.source_directory = os.path.join(ROOT, "solutions")
c.CourseDirectory.release_directory = os.path.join(ROOT, "exercises")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(GRADING, "gradebook.db")
# The exchange: on one machine a folder of the repository (git-ignored, created here as
# nbgrader wants it, writable by everyone); on a JupyterHub the shared folder that
# $COURSE_EXCHANGE names (or --Exchange.root=... on the command line).
EXCHANGE = os.environ.get("COURSE_EXCHANGE") or os.path.join(ROOT, "exchange")
if not os.environ.get("COURSE_EXCHANGE") and not os.path.isdir(EXCHANGE):
    os.makedirs(EXCHANGE, exist_ok=True)
    os.chmod(EXCHANGE, 0o777)
c.Exchange.root = EXCHANGE
# What a student fetches lands in fetched/ (git-ignored: never linted or committed). The
# Assignment List of `make lab` reads nbgrader's configuration from that folder too.
FETCHED = os.path.join(ROOT, "fetched")
c.Exchange.assignment_dir = FETCHED
_fetched_config = os.path.join(FETCHED, "nbgrader_config.py")
if not os.path.isfile(_fetched_config):
    os.makedirs(FETCHED, exist_ok=True)
    with open(_fetched_config, "w") as f:
        f.write('load_subconfig("../autograder/nbgrader_config.py")  # noqa: F821\n')
# Collecting copies regular files only, never what a link points to (autograder/exchange.py).
c.ExchangeFactory.collect = "autograder.exchange.ExchangeCollect"

# Due dates, per assignment: {"ex01_conv1d": "2025-06-01 23:59:59 Asia/Tokyo"}; none by
# default. `make grade` writes them into the gradebook (nbgrader's own place for them) and
# fills grades.csv's late_submission_penalty with nbgrader's LateSubmissionPlugin:
# c.LateSubmissionPlugin.penalty_method = "zero" zeroes a late notebook, or name a plugin
# of your own with c.AssignLatePenalties.plugin_class = "module.Class".
c.DueDates.due_dates = {}

# Checkpoints and caches never reach a release or a grading copy.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".*"]

# Feedback shows which test failed and its message, never the hidden tests' code.
c.GenerateFeedback.preprocessors = FEEDBACK_PREPROCESSORS

# The model exercise may be answered in a models.py beside the notebook: grade the student's file, not
# the starter that nbgrader would otherwise copy over it from the source folder.
c.Autograde.exclude_overwriting = {a: ["models.py"] for a in ASSIGNMENTS if a.endswith("_model")}
