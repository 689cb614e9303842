"""`make grade-service`: grade each submission as it arrives in the exchange, release its feedback.

    python -m autograder.service [--exchange DIR] [--course ID] [--out grading] [--workers N]
        [--cell-timeout S] [--budget S]

Watches nbgrader's inbound folder (EXCHANGE/COURSE/inbound, the course's nbgrader
configuration by default). Each new submission, once nbgrader's submit has finished writing
it, is collected as `nbgrader collect` does (the course's copy, autograder/exchange.py) into
out/submitted/<student>/<assignment>/, graded by a warm pool of WORKERS sandboxed workers
(autograder.engine: each keeps its zygote, so a submission takes seconds), and its feedback
is released to that student alone with nbgrader's own release_feedback, so that the
student's `nbgrader fetch_feedback` (or the Assignment List) brings it. Then the gradebook,
grades.csv and cells.csv are updated (autograder/merge.py, autograder/late.py).

The latest submission of a student counts, as in nbgrader: an older one not yet graded is
skipped when a newer one is there. State (out/service/state.json: every inbound entry
handled, and how; when grades.csv was last updated) and log (out/service/service.log)
survive restarts: nothing is graded twice, and what arrived while the service was down is
graded when it starts. SIGTERM or
Ctrl-C stops it cleanly: no new work is started, the submissions being graded are finished
and recorded, the rest waits for the next start.
"""

import argparse
import json
import logging
import multiprocessing
import os
import shutil
import signal
import stat
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from traitlets.config import Config as TraitletsConfig

from autograder import late
from autograder.collect import Submission, _pick_notebook
from autograder.course import ASSIGNMENTS, GRADING
from autograder.engine.config import Config
from autograder.engine.grading_process import (
    failed_result,
    grade_one,
    init_worker,
    write_feedback,
)
from autograder.engine.sandbox import status as sandbox_status
from autograder.exchange import copy_submission, read_small, valid_secret, valid_timestamp
from autograder.merge import ensure_gradebook, merge, write_result

SETTLE_SECONDS = 0.3  # nbgrader's submit has finished when its entry has been still this long
log = logging.getLogger("grade-service")


def _init(counter, out: str, config: Config) -> None:
    """A pool worker: signals are the service's to handle; then the engine's worker set-up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    init_worker(counter, out, config)


def _warm() -> int:
    time.sleep(0.5)  # so that each warm-up call lands on a worker of its own
    return os.getpid()


def parse_entry(name: str) -> tuple[str, str, str] | None:
    """(student, assignment, timestamp) of an inbound entry `student+assignment+time[+random]`."""
    parts = name.rsplit("+", 3)
    if len(parts) == 4:
        student, assignment, stamp, _ = parts
    elif len(parts) == 3:
        student, assignment, stamp = parts
    else:
        return None
    if not student or student.startswith(".") or "/" in student:
        return None
    return student, assignment, stamp


class Service:
    def __init__(self, exchange: Path, course: str, out: Path, workers: int, config: Config):
        self.exchange, self.course, self.out = exchange, course, out
        self.inbound = exchange / course / "inbound"
        self.workers, self.config = workers, config
        self.home = out / "service"
        self.state_file = self.home / "state.json"
        self.stop = False
        self.state = {"handled": {}}
        self.noticed: set[str] = set()

    # -- state ------------------------------------------------------------------------------
    def load(self) -> None:
        if self.state_file.is_file():
            self.state = json.loads(self.state_file.read_text())

    def save(self) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True))
        tmp.replace(self.state_file)

    def mark(self, entry: str, how: str, **extra) -> None:
        self.state["handled"][entry] = {"how": how, "at": time.time(), **extra}
        self.save()

    # -- the inbound folder -----------------------------------------------------------------
    def ready(self, path: Path) -> bool:
        """nbgrader's submit has finished: its two files are there and nothing moved lately."""
        try:
            info = os.stat(path, follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode):
                return False
            newest = info.st_ctime
            for name in ("timestamp.txt", "submission_secret.txt"):
                newest = max(newest, os.stat(path / name, follow_symlinks=False).st_ctime)
        except OSError:
            return False
        if time.time() - newest < SETTLE_SECONDS:
            return False
        stamp = read_small(path, "timestamp.txt")
        secret = read_small(path, "submission_secret.txt")
        return bool(stamp and valid_timestamp(stamp) and secret and valid_secret(secret))

    def scan(self) -> dict[tuple[str, str], tuple[datetime, str]]:
        """The newest ready, unhandled submission of each (student, assignment)."""
        newest: dict[tuple[str, str], tuple[datetime, str]] = {}
        try:
            names = sorted(os.listdir(self.inbound))
        except OSError:
            return newest
        for name in names:
            if name in self.state["handled"]:
                continue
            parsed = parse_entry(name)
            when = valid_timestamp(parsed[2]) if parsed else None
            if parsed is None or when is None or parsed[1] not in ASSIGNMENTS:
                if name not in self.noticed:
                    self.noticed.add(name)
                    log.warning("ignored inbound entry %r: not a submission of this course", name)
                continue
            if not self.ready(self.inbound / name):
                continue
            key = parsed[:2]
            if key not in newest or when > newest[key][0]:
                newest[key] = (when, name)
        return newest

    def supersede(self, key: tuple[str, str], keep: str, when: datetime) -> bool:
        """Mark the older unhandled entries of `key` as superseded; False if `keep` is older
        than one already graded (then it is superseded itself)."""
        for name, how in self.state["handled"].items():
            parsed = parse_entry(name)
            if parsed and parsed[:2] == key and how["how"] == "graded":
                if (valid_timestamp(parsed[2]) or datetime.min) > when:
                    self.mark(keep, "superseded", by=name)
                    log.info("skipped %s: older than the graded %s", keep, name)
                    return False
        for name in os.listdir(self.inbound):
            parsed = parse_entry(name)
            if name != keep and parsed and parsed[:2] == key and name not in self.state["handled"]:
                if (valid_timestamp(parsed[2]) or when) <= when:
                    self.mark(name, "superseded", by=keep)
                    log.info("skipped %s: a newer submission is there (%s)", name, keep)
        return True

    # -- one submission ---------------------------------------------------------------------
    def collect(self, student: str, assignment: str, entry: str) -> Path:
        """Copy the entry into out/submitted/<student>/<assignment>/, replacing what was there."""
        dest = self.out / "submitted" / student / assignment
        tmp = dest.parent / f".{assignment}.collecting"
        shutil.rmtree(tmp, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        notes = copy_submission(self.inbound / entry, tmp, log=log.warning)
        for note in notes:
            log.info("%s: %s", entry, note)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
        return dest

    def release_feedback(self, student: str, assignment: str) -> None:
        """nbgrader's release_feedback, in this process, for this student alone."""
        cfg = TraitletsConfig()
        cfg.CourseDirectory.root = str(self.out)
        cfg.CourseDirectory.course_id = self.course
        cfg.Exchange.root = str(self.exchange)
        coursedir = CourseDirectory(config=cfg)
        coursedir.student_id, coursedir.assignment_id = student, assignment
        ExchangeReleaseFeedback(
            coursedir=coursedir, authenticator=Authenticator(config=cfg), config=cfg
        ).start()

    def finish(self, result: dict, entry: str, submitted_at: datetime) -> None:
        write_result(self.out, result)
        student, assignment = result["student"], result["assignment"]
        page = self.out / "feedback" / student / assignment / "submission_secret.txt"
        if page.is_file():
            self.release_feedback(student, assignment)
        score = sum(c["score"] for c in result["cells"])
        total = sum(c["max_score"] for c in result["cells"])
        waited = (datetime.now(UTC).replace(tzinfo=None) - submitted_at).total_seconds()
        log.info(
            "graded %s/%s (%s): %g/%g; feedback released %.1f s after submitting",
            student, assignment, entry, score, total, waited,
        )  # fmt: skip
        self.mark(entry, "graded", score=score, max_score=total, seconds=waited)

    def update_grades(self) -> None:
        merge([self.out / "results"], self.out, quiet=True)
        late.apply(self.out, self.out / "submitted", say=log.info)
        self.state["grades_updated"] = time.time()  # what was marked graded before is in grades.csv
        self.save()

    # -- the loop ---------------------------------------------------------------------------
    def run(self, poll: float = 0.2) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.load()
        status = sandbox_status(self.config)
        if status:
            log.warning(status)
        if not self.inbound.is_dir():
            raise SystemExit(
                f"error: no inbound folder {self.inbound}: release an assignment first "
                "(make release-exchange), or give --exchange and --course"
            )
        ensure_gradebook(self.out, say=log.info)
        counter = multiprocessing.get_context("spawn").Value("i", 0)
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init,
            initargs=(counter, str(self.out), self.config),
        )
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: setattr(self, "stop", True))
        try:
            for f in [pool.submit(_warm) for _ in range(self.workers)]:
                f.result()
            log.info(
                "watching %s with %d warm workers (state and log in %s)",
                self.inbound, self.workers, self.home,
            )  # fmt: skip
            self._loop(pool, poll)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            log.info("stopped")

    def _loop(self, pool, poll: float) -> None:
        flying = {}  # future -> (key, entry, submitted at)
        while not self.stop or flying:
            if not self.stop:
                for key, (when, entry) in sorted(self.scan().items()):
                    busy = {k for k, _, _ in flying.values()}
                    if key in busy or len(flying) >= 2 * self.workers:
                        continue
                    if not self.supersede(key, entry, when):
                        continue
                    student, assignment = key
                    folder = self.collect(student, assignment, entry)
                    problems = []
                    notebook = _pick_notebook(student, folder, problems)
                    for _, _, why in problems:
                        log.warning("%s/%s: %s", student, assignment, why)
                    if notebook is None:
                        result = failed_result(student, assignment, problems[-1][2]).to_dict()
                        write_feedback(self.out, result, nbformat.v4.new_notebook())
                        self.finish(result, entry, when)
                        self.update_grades()
                        continue
                    log.info("grading %s/%s (%s)", student, assignment, entry)
                    future = pool.submit(
                        grade_one, Submission(student, assignment, folder, notebook)
                    )
                    flying[future] = (key, entry, when)
            if not flying:
                time.sleep(poll)
                continue
            done, _ = wait(list(flying), timeout=poll, return_when=FIRST_COMPLETED)
            for future in done:
                key, entry, when = flying.pop(future)
                try:
                    self.finish(future.result(), entry, when)
                except Exception as err:  # a worker died: it is graded again at the next start
                    log.error("%s/%s (%s) failed: %s", *key, entry, err)
            if done:
                self.update_grades()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchange", type=Path, help="nbgrader's exchange root")
    parser.add_argument("--course", help="the course id")
    parser.add_argument("--out", type=Path, default=GRADING, help="grading/ (results, state, log)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between looks")
    Config.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.exchange is None or args.course is None:
        cfg = late.course_config()
        args.exchange = args.exchange or Path(cfg.Exchange.root)
        args.course = args.course or cfg.CourseDirectory.course_id
    out = args.out.resolve()
    (out / "service").mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=[logging.StreamHandler(sys.stdout), logging.FileHandler(out / "service" / "service.log")],
    )  # fmt: skip
    Service(args.exchange.resolve(), args.course, out, args.workers, Config.from_args(args)).run(
        args.poll
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
