"""One bilingual source per notebook, two editions: English and Japanese.

    python -m tools.editions                      # check every lesson source; exit 1 on problems
    python -m tools.editions translated SOURCE N  # record that cell N (ja) now translates its twin

A source holds both languages. A markdown cell carries its language in its metadata:
`language: "en"`, and right after it its Japanese twin, `language: "ja"` with
`translates: <the first 12 hex digits of the sha256 of the English cell's source>`.
Untagged cells are shared: every code cell, and the Open-in-Colab badge (cell 0, rewritten
for each edition). `split(nb, "en")` / `split(nb, "ja")` give the editions: the shared cells
and that language's markdown, without the language metadata.

A Japanese cell whose `translates` is not the hash of its English twin is stale: the English
changed and the Japanese did not. `translation_problems` names it; once the Japanese says what
the English now says, `translated` records the new hash.

Lessons: `lessons/src/NN_topic.ipynb` (stored without outputs) -> `lessons/NN_topic.ipynb` and
`lessons/ja/NN_topic.ipynb` (`make notebooks`, tools/run_notebooks.py). Exercises: the
Japanese edition of `exercises/<a>/<a>.ipynb` is `exercises/ja/<a>/<a>.ipynb`; code cells of
two editions may differ only in one setup line, `COURSE_LANGUAGE = "en"` / `"ja"`.
"""

import copy
import hashlib
import re
import sys
from pathlib import Path

import nbformat

from tools.course_config import BADGE_PREFIX, EXERCISES, LESSONS, ROOT

LANGUAGES = ("en", "ja")
SOURCE_LANGUAGE = "en"  # every Japanese cell translates an English one
TRANSLATED = "ja"
LANGUAGE_KEY = "language"
HASH_KEY = "translates"
SOURCE_METADATA = {LANGUAGE_KEY, HASH_KEY}  # cell metadata only sources carry
HASH_LENGTH = 12

LESSON_SOURCES = LESSONS / "src"  # one bilingual source per lesson; editions beside it

# The generated end of a lesson's last cell (tools/notebook_hygiene.exercise_block), per language.
EXERCISE_MARKERS = {"en": "**Exercise:**", "ja": "**演習:**"}
_EXERCISE_LINE = {
    "en": "{marker} [{name}]({link}) (opens in JupyterLab), or on Colab: {badge}",
    "ja": "{marker} [{name}]({link})（JupyterLab で開きます）。Colab では: {badge}",
}

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")  # kana or kanji

# The one line in which an exercise's editions may differ (its setup cell).
COURSE_LANGUAGE_LINE = re.compile(r'^COURSE_LANGUAGE = "(?:en|ja)"$', flags=re.MULTILINE)


def text_hash(text: str) -> str:
    """What a Japanese cell records of the English text it translates."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def language_of_cell(cell) -> str | None:
    return cell.get("metadata", {}).get(LANGUAGE_KEY)


def language_of(path: Path) -> str:
    """The edition a notebook path belongs to: "ja" under lessons/ja or exercises/ja."""
    parents = Path(path).resolve().parents
    return "ja" if (LESSONS / "ja") in parents or (EXERCISES / "ja") in parents else "en"


def edition_folder(folder: Path, language: str) -> Path:
    """Where `language`'s edition of the notebooks of `folder` (lessons/, exercises/) lives."""
    return folder if language == "en" else folder / language


def is_lesson_source(path: Path) -> bool:
    return LESSON_SOURCES in Path(path).resolve().parents


def lesson_sources() -> list[Path]:
    return sorted(LESSON_SOURCES.glob("*.ipynb"))


def lesson_edition(source: Path, language: str) -> Path:
    """lessons/src/NN_topic.ipynb -> lessons/NN_topic.ipynb (en) or lessons/ja/NN_topic.ipynb."""
    return edition_folder(LESSONS, language) / Path(source).name


def lesson_source(path: Path) -> Path:
    """The source of a lesson given by its source or either edition's path."""
    return LESSON_SOURCES / Path(path).name


def exercise_line(language: str, name: str, link: str, badge: str) -> str:
    """The end of a lesson's last cell in `language`: a link JupyterLab opens, and a badge."""
    marker = EXERCISE_MARKERS[language]
    return _EXERCISE_LINE[language].format(marker=marker, name=name, link=link, badge=badge)


def is_badge(cell) -> bool:
    return cell.cell_type == "markdown" and cell.source.startswith(BADGE_PREFIX)


def split(nb, language: str):
    """`language`'s edition of a bilingual source: shared cells plus that language's markdown.

    Cell metadata loses the source-only keys (language, translates); everything else
    (nbgrader, tags, outputs) is kept as it is. The source is not modified.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {LANGUAGES}")
    edition = copy.deepcopy(nb)
    edition.cells = [c for c in edition.cells if language_of_cell(c) in (None, language)]
    for cell in edition.cells:
        for key in SOURCE_METADATA:
            cell.metadata.pop(key, None)
    return edition


def set_course_language(nb, language: str) -> int:
    """Write `COURSE_LANGUAGE = "<language>"` into the code cells that set it (an exercise's
    setup cell); returns how many lines were rewritten. Lessons have none."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source, n = COURSE_LANGUAGE_LINE.subn(
                f'COURSE_LANGUAGE = "{language}"', cell.source
            )
            count += n
    return count


def strip_generated(nb) -> None:
    """Remove the generated exercise line from a source's markdown (the editions get their own)."""
    for cell in nb.cells:
        lang = language_of_cell(cell)
        if cell.cell_type != "markdown" or lang not in EXERCISE_MARKERS:
            continue
        head, marker, _ = cell.source.rpartition(EXERCISE_MARKERS[lang])
        if marker:
            cell.source = head.rstrip()


def translation_problems(nb) -> list[str]:
    """Everything wrong with a source's languages, as 'cell N: ...' messages.

    Every English markdown cell is followed by its Japanese twin, which records the hash of the
    English text; no other markdown is untagged except the badge; code cells are shared.
    """
    out = []
    cells = nb.cells
    for i, cell in enumerate(cells):
        lang = language_of_cell(cell)
        if cell.cell_type != "markdown":
            if lang is not None or HASH_KEY in cell.metadata:
                out.append(
                    f"cell {i}: a {cell.cell_type} cell is tagged language {lang!r}; code is shared by both editions, untag it"
                )
            continue
        if lang is None:
            if not (i == 0 and is_badge(cell)):
                out.append(
                    f"cell {i}: markdown without metadata.language; tag it 'en' and add its 'ja' twin after it"
                )
        elif lang not in LANGUAGES:
            out.append(f"cell {i}: unknown language {lang!r}; expected one of {LANGUAGES}")
        elif lang == SOURCE_LANGUAGE:
            twin = cells[i + 1] if i + 1 < len(cells) else None
            if twin is None or twin.cell_type != "markdown" or language_of_cell(twin) != TRANSLATED:
                out.append(
                    f"cell {i}: English cell has no Japanese twin right after it: {_gist(cell)}"
                )
                continue
            recorded, current = twin.metadata.get(HASH_KEY), text_hash(cell.source)
            if recorded != current:
                out.append(
                    f"cell {i + 1}: the Japanese translation is stale: its English cell {i} changed "
                    f"(translates {recorded}, the English is now {current}): {_gist(cell)}; "
                    f"update the Japanese, then `python -m tools.editions translated <source> {i + 1}`"
                )
        else:
            if not JAPANESE.search(cell.source):
                out.append(f"cell {i}: a Japanese cell with no Japanese in it: {_gist(cell)}")
            before = cells[i - 1] if i > 0 else None
            if before is None or language_of_cell(before) != SOURCE_LANGUAGE:
                out.append(
                    f"cell {i}: Japanese cell without the English cell it translates before it"
                )
    return out


def _gist(cell) -> str:
    first = next((line for line in cell.source.splitlines() if line.strip()), "")
    return repr(first[:60] + ("…" if len(first) > 60 else ""))


def _code(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def _comparable(cell, allow_language_line: bool) -> dict:
    data = {k: cell.get(k) for k in ("source", "metadata", "outputs", "execution_count")}
    data = copy.deepcopy(data)
    if allow_language_line and COURSE_LANGUAGE_LINE.search(data["source"]):
        data["source"] = COURSE_LANGUAGE_LINE.sub('COURSE_LANGUAGE = "…"', data["source"])
        # nbgrader's checksum of a locked cell covers its source, so it follows the line.
        data["metadata"].get("nbgrader", {}).pop("checksum", None)
    return data


def code_differences(en, ja, allow_language_line: bool = False) -> list[str]:
    """How two editions' code cells differ (source, metadata with nbgrader ids and points,
    outputs, counts): [] when they are the same. With `allow_language_line` (exercises), the
    one line `COURSE_LANGUAGE = "en"` / `"ja"` may differ (with the nbgrader checksum of the
    cell that holds it), and nothing else."""
    a, b = _code(en), _code(ja)
    if len(a) != len(b):
        return [f"{len(a)} code cells in English, {len(b)} in Japanese"]
    out = []
    for n, (x, y) in enumerate(zip(a, b, strict=True)):
        cx, cy = _comparable(x, allow_language_line), _comparable(y, allow_language_line)
        for key in cx:
            if cx[key] != cy[key]:
                out.append(f"code cell {n}: {key} differs between the editions")
    return out


def translated(source: Path, index: int) -> str:
    """Record that Japanese cell `index` of `source` translates the English cell before it."""
    nb = nbformat.read(source, as_version=4)
    cell, before = nb.cells[index], nb.cells[index - 1]
    if language_of_cell(cell) != TRANSLATED or language_of_cell(before) != SOURCE_LANGUAGE:
        raise SystemExit(f"{source}: cell {index} is not a Japanese cell after an English one")
    cell.metadata[HASH_KEY] = text_hash(before.source)
    nbformat.write(nb, source)
    return cell.metadata[HASH_KEY]


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["translated"]:
        if len(args) < 3:
            raise SystemExit(__doc__)
        for index in args[2:]:
            print(f"{args[1]} cell {index}: translates {translated(Path(args[1]), int(index))}")
        return 0
    bad = 0
    sources = [Path(a) for a in args] or lesson_sources()
    for source in sources:
        for msg in translation_problems(nbformat.read(source, as_version=4)):
            bad += 1
            print(f"{Path(source).resolve().relative_to(ROOT)}: {msg}")
    print(f"editions: {len(sources)} sources, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
