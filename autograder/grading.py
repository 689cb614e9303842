"""`make grade`'s front: a folder or an LMS zip in, grades, lateness and LMS grade files out.

    python -m autograder.grading [grade_class's flags]   (--submissions DIR or EXPORT.zip)

A zip is collected first (autograder/lms.py) into grading/lms/<zip name>/, and that folder
is graded. Then autograder.grade_class grades, as it always does; afterwards (unless one
shard of many was graded) the due dates and the graded submissions' timestamps go into the
gradebook, nbgrader's late-submission penalties are set and grades.csv is exported again
(autograder/late.py), and the Moodle and Canvas grade files are written (autograder/lms_export.py).
"""

import argparse
import sys
from pathlib import Path

from autograder import grade_class
from autograder.course import DEMO_SUBMISSIONS, GRADING


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    front = argparse.ArgumentParser(add_help=False)
    front.add_argument("--submissions", type=Path, default=DEMO_SUBMISSIONS)
    front.add_argument("--out", type=Path, default=GRADING)
    front.add_argument("--assignment")
    front.add_argument("--student")
    front.add_argument("--shard", default="0/1")
    known, _ = front.parse_known_args(argv)
    out = known.out.resolve()
    submissions = known.submissions
    if submissions.suffix.lower() == ".zip":
        from autograder import lms

        submissions, assignment = lms.collect_zip(submissions, out, known.assignment)
        argv = _replace(argv, "--submissions", str(submissions))
        if known.assignment is None:
            argv += ["--assignment", assignment]
        known.assignment = assignment
    code = grade_class.main(argv)
    if code == 0 and known.shard.split("/")[-1] == "1":
        # Imported after grading (they bring nbgrader): the zygotes start first of all.
        from autograder import late, lms_export

        late.apply(out, submissions.resolve(), known.student, known.assignment)
        lms_export.write(out)
    return code


def _replace(argv: list[str], flag: str, value: str) -> list[str]:
    result, skip = [], False
    for arg in argv:
        if skip:
            result.append(value)
            skip = False
        elif arg == flag:
            result.append(arg)
            skip = True
        elif arg.startswith(flag + "="):
            result.append(f"{flag}={value}")
        else:
            result.append(arg)
    return result


if __name__ == "__main__":
    sys.exit(main())
