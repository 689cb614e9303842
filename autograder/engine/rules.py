"""Grader-side checks of a task's rules on the submitted source (filled in by the exercises' tests)."""
