"""Every limit, timeout and cap of grading, in one object built once from the command line.

The class driver (`make grade`, every shard command) adds these flags with `add_arguments`
and builds the object with `from_args`; nothing reads the environment.
"""

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    cell_timeout_s: float = 60.0  # wall clock for one student cell or one @answers call
    budget_s: float = 240.0  # wall clock for a whole submission, restarts and replays included
    cpu_s: int = 60  # CPU time of one child (all of a submission's cells), then SIGXCPU
    memory_bytes: int = 3 << 30  # address space a child may add to the zygote's
    file_bytes: int = 16 << 20  # largest file a child may write
    tmp_bytes: int = 512 << 20  # the sandbox's /tmp (in memory), emptied around every submission
    scratch_bytes: int = 512 << 20  # the submission's working folder, likewise
    processes: int = 64
    open_files: int = 256
    output_keep: int = 4000  # characters of each cell's output kept for the feedback
    max_restarts: int = 3  # new children after crashes, per submission
    start_timeout_s: float = 120.0  # the zygote's start (it imports torch)
    end_timeout_s: float = 10.0  # for the zygote to end a child; then the zygote is restarted
    uid_base: int = 61000  # children's uids when grading as root: one per child
    uids_per_worker: int = 100
    unsandboxed: bool = False  # --no-sandbox: resource limits only (with a warning)

    def child_limits(self, uid: int, drop_uid: bool) -> dict:
        """What the zygote applies to one child."""
        keys = ("cpu_s", "memory_bytes", "file_bytes", "processes", "open_files", "output_keep")
        return {**{k: getattr(self, k) for k in keys}, "uid": uid, "drop_uid": drop_uid}

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--cell-timeout",
            type=float,
            default=Config.cell_timeout_s,
            help="seconds for one cell or test call (default %(default)g)",
        )
        parser.add_argument(
            "--budget",
            type=float,
            default=Config.budget_s,
            help="seconds for a whole submission; the rest is skipped (default %(default)g)",
        )
        parser.add_argument(
            "--no-sandbox",
            action="store_true",
            help="grade without bubblewrap (resource limits only; not for untrusted work)",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Config":
        for name in ("cell_timeout", "budget"):
            if getattr(args, name) <= 0:
                raise SystemExit(f"error: --{name.replace('_', '-')} must be a positive number")
        return cls(
            cell_timeout_s=args.cell_timeout, budget_s=args.budget, unsandboxed=args.no_sandbox
        )
