"""Grading side of the course: nbgrader configuration and class grading."""
