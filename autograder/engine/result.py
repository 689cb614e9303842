"""What grading one submission produces: one type, written as one JSON file."""

from dataclasses import asdict, dataclass, field


@dataclass
class Result:
    student: str
    assignment: str
    cells: list[dict]  # {"cell", "score", "max_score", "message"}, in the solution's order
    outputs: dict[str, str] = field(default_factory=dict)  # student cell label -> what it printed
    notes: list[str] = field(default_factory=list)  # what happened, for the student to read
    missing_limits: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @classmethod
    def failed(cls, student: str, assignment: str, tests: dict, why: str) -> "Result":
        """Every test scores 0 with the reason (`tests`: grade_id -> (source, points))."""
        cells = [
            {"cell": cid, "score": 0.0, "max_score": points, "message": why}
            for cid, (_, points) in tests.items()
        ]
        return cls(student, assignment, cells, notes=[why])

    def to_dict(self) -> dict:
        return asdict(self)
