"""The two ways grading a submission can go wrong, which are handled differently."""


class StudentFault(Exception):
    """The submission's child misbehaved: it crashed, ran out of time, or broke the protocol.

    It costs that submission only (the tests it prevents); the child is ended and the next
    one starts fresh.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SandboxFault(Exception):
    """The sandbox itself failed (the zygote died, hung or broke the protocol): restart, retry."""
