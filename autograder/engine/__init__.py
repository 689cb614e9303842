"""The grading engine: student code in a sandbox, test verdicts in the grader's own process.

- `protocol`: length-prefixed frames and the data-only codec shared by both sides.
- `worker`: runs inside the sandbox: a zygote with torch imported forks one child per submission.
- `sandbox`: how the worker is started (bubblewrap, or resource limits only, with a warning).
- `session`: the grader's handle on one worker: run a cell, evaluate an `@answers` function.
- `runner`: grades one submission into one result (scores, messages, outputs).
"""
