"""nbgrader configuration for the course (loaded by ../nbgrader_config.py).

nbgrader's course root is the git-ignored grading/ folder: the gradebook, the
collected submissions, autograded copies and feedback all live there. Its
"source" step is solutions/ and its "release" step is the committed exercises/.
"""

import os
import sys

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # so nbgrader can import the course's feedback preprocessors

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
# Checkpoints and caches never reach a release or a grading copy.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".*"]

# Feedback shows which test failed and its message, never the hidden tests' code.
c.GenerateFeedback.preprocessors = FEEDBACK_PREPROCESSORS

# ex04 may be answered in a models.py beside the notebook: grade the student's file, not
# the starter that nbgrader would otherwise copy over it from the source folder.
c.Autograde.exclude_overwriting = {"ex04_model": ["models.py"]}
