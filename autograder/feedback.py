"""Feedback that tells a student which test failed and why, without revealing hidden tests.

nbgrader's default feedback shows each test cell as the grader ran it, hidden tests
included, and the full traceback, which quotes the failing hidden line. These
preprocessors remove the hidden region and shorten each error to `Name: message`.
"""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor

HIDDEN_NOTE = "# (hidden tests ran here; their code is not shown)"


class HideHiddenTests(ClearHiddenTests):
    """nbgrader's own hidden-test remover, run on the autograded copy."""

    def preprocess_cell(self, cell, resources, index):
        before = cell.source
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.source != before:
            cell.source = cell.source.rstrip() + "\n" + HIDDEN_NOTE
        return cell, resources


class ShortenTracebacks(NbGraderPreprocessor):
    """Replace every traceback by its last line, which names the error and its message."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output['ename']}: {output['evalue']}"]
        return cell, resources


FEEDBACK_PREPROCESSORS = [GetGrades, HideHiddenTests, ShortenTracebacks, CSSHTMLHeaderPreprocessor]
