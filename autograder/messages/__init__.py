"""The course's messages, one catalog per language: `en.toml` and `ja.toml`.

Test cells never hold a sentence: they name a message, `msg("ex03.out1_shape", got=...)`,
and its `{fields}` are filled in. A key is `<exercise>.<name>` (`ex03.` for ex03_linear) for a
test's message, `engine.<name>` for the grader's own words (feedback page, notes, crashes).
Both catalogs hold the same keys with the same fields (autograder/tests/test_messages.py).

Where the messages are used:
- the student's kernel: `make release` writes the messages of the keys a visible test part
  names, in both languages, into the setup cell (`MESSAGES = {...}`, after `msg`), so a
  notebook opened on Colab or received through the exchange needs nothing else; its
  `COURSE_LANGUAGE` line picks the language;
- the grader: `autograder.engine.runner` replaces `msg` in each test's namespace by one bound
  to the submission's language (`detect_language`) and to the full catalog, hidden keys too.
"""

import ast
import re
import tomllib
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGUAGES = ("en", "ja")
DEFAULT = "en"
KEY_USE = re.compile(r"""\bmsg\(\s*["']([A-Za-z0-9_.]+)["']""")
HIDDEN = "### BEGIN HIDDEN TESTS"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")  # kana or kanji
LETTERS = re.compile(r"[A-Za-z\u3040-\u30ff\u4e00-\u9fff]")
BLOCK_START = "MESSAGES = {  # written by `make release` from autograder/messages; do not edit"


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@cache
def catalog(language: str) -> dict[str, str]:
    """Every message of `language`, by key."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {LANGUAGES}")
    with open(HERE / f"{language}.toml", "rb") as f:
        return _flatten(tomllib.load(f))


def text(language: str, key: str, **fields) -> str:
    """The message `key` in `language` (English if the language is unknown), filled in."""
    messages = catalog(language if language in LANGUAGES else DEFAULT)
    return messages[key].format(**fields)


def bound(language: str):
    """The grader's `msg` for a test cell: the full catalog of the submission's language."""

    def msg(key: str, **fields) -> str:
        return text(language, key, **fields)

    return msg


def keys_used(source: str) -> list[str]:
    return KEY_USE.findall(source)


def visible_keys(nb) -> list[str]:
    """The message keys that the visible parts of a notebook's test cells name, in order."""
    seen = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for key in keys_used(cell.source.partition(HIDDEN)[0]):
            if key not in seen:
                seen.append(key)
    return seen


def embedded(keys: list[str]) -> str:
    """The setup cell's `MESSAGES = {...}` block for `keys`, both languages (valid Python)."""
    lines = [BLOCK_START]
    for language in LANGUAGES:
        lines.append(f"    {language!r}: {{".replace("'", '"'))
        for key in keys:
            value = catalog(language)[key]
            lines.append(f"        {_quote(key)}: {_quote(value)},")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines)


def _quote(value: str) -> str:
    """A double-quoted Python string literal (ruff format's style)."""
    body = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


def with_messages(setup: str, keys: list[str]) -> str:
    """The setup cell's source with its MESSAGES block rewritten for `keys` (appended if none)."""
    head, mark, _ = setup.partition(BLOCK_START)
    if not mark:
        head = setup.rstrip("\n") + "\n\n\n"
    return head + embedded(keys)


def setup_language(source: str) -> str | None:
    """The language a code cell sets with `COURSE_LANGUAGE = "en"` / `"ja"` (read, not run)."""
    if "COURSE_LANGUAGE" not in source:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "COURSE_LANGUAGE" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and node.value.value in LANGUAGES
        ):
            return node.value.value
    return None


def detect_language(nb) -> str:
    """The language of a submitted notebook: its setup cell's `COURSE_LANGUAGE`, else the
    language most of its markdown is written in; English when it cannot tell."""
    cells = nb.get("cells", []) if isinstance(nb, dict) else []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            found = setup_language(_source(cell))
            if found:
                return found
    prose = "".join(
        _source(c) for c in cells if isinstance(c, dict) and c.get("cell_type") == "markdown"
    )
    prose = re.sub(r"`[^`]*`|\([^)]*\)|https?://\S+", "", prose)  # code, links, URLs
    letters = len(LETTERS.findall(prose))
    japanese = len(JAPANESE.findall(prose))
    # The English edition quotes a few Japanese titles; the Japanese one is mostly Japanese.
    return "ja" if letters and japanese >= 0.2 * letters else DEFAULT


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)
