"""The grading engine: student code in a sandbox, test verdicts in the grader's own process.

- `protocol`: the table of ops, the one frame parser, and the data-only codec of both sides.
- `zygote`: runs inside the sandbox: with torch imported, it forks one isolated child per
  submission and relays only the replies the protocol allows.
- `sandbox`: how the zygote is started (bubblewrap, or resource limits only, with a warning).
- `client`: the grader's side of one zygote: start a child, run a cell, call an `@answers`
  function, end the child; every reply is checked and every exchange has a deadline.
- `config`: every limit, timeout and cap, built once from the command line.
- `faults`: a student's fault (costs that submission) and the sandbox's (restart and retry).
- `result`: what grading one submission produces.
- `runner`: grades one submission: the plan of cells, the test cells in the grader's process.
- `grading_process`: what each process of the class driver's pool does.
"""
