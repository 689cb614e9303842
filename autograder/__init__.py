"""Grading side of the course: nbgrader configuration and class grading."""

import sys

# jsonschema (under nbformat) imports rfc3987_syntax when it is installed, for an IRI format
# check that notebooks never use; building that package's grammar costs about 2 s in every
# grading process. Without it jsonschema simply skips that format.
sys.modules.setdefault("rfc3987_syntax", None)
