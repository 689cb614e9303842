"""One bilingual source per lesson, two editions that agree with it and with each other.

- every lesson has its source in lessons/src, and both editions (lessons/, lessons/ja/);
- every English markdown cell of a source has its Japanese twin right after it, and the twin
  records the hash of the English it translates (a stale translation fails, naming the cell);
- the editions are what `make notebooks` makes of the source, and their code cells (source,
  metadata, outputs, counts) are identical, so nbval need only check the English edition.
"""

import nbformat
import pytest

from tools.course_config import EXERCISES, LESSONS, colab_badge
from tools.editions import (
    COURSE_LANGUAGE_LINE,
    HASH_KEY,
    LANGUAGE_KEY,
    LANGUAGES,
    SOURCE_METADATA,
    code_differences,
    lesson_edition,
    lesson_sources,
    set_course_language,
    split,
    text_hash,
    translation_problems,
)
from tools.notebook_hygiene import (
    CELL_METADATA,
    KERNELSPEC,
    exercise_block,
    exercise_of,
    normalise,
    problems,
)
from tools.run_notebooks import clean_source, targets

SOURCES = lesson_sources()


def ids(path):
    return path.stem


def read(path):
    return nbformat.read(path, as_version=4)


def rel(path):
    return path.relative_to(LESSONS.parent).as_posix()


def test_every_lesson_has_one_source_and_two_editions():
    english = sorted(p.name for p in LESSONS.glob("*.ipynb"))
    assert english, "no lessons"
    assert [p.name for p in SOURCES] == english, (
        "every lessons/NN_topic.ipynb is generated from lessons/src/NN_topic.ipynb"
    )
    japanese = sorted(p.name for p in (LESSONS / "ja").glob("*.ipynb"))
    assert japanese == english, "every lesson has its Japanese edition in lessons/ja"


@pytest.mark.parametrize("source", SOURCES, ids=ids)
def test_translations_are_complete_and_fresh(source):
    found = translation_problems(read(source))
    assert not found, f"{rel(source)}:\n" + "\n".join(found)


@pytest.mark.parametrize("source", SOURCES, ids=ids)
def test_source_is_stored_clean(source):
    nb = read(source)
    clean = read(source)
    clean_source(clean)
    assert nb == clean, (
        f"{rel(source)} stores outputs, stray metadata or a generated exercise line; "
        "run `make notebooks`"
    )
    assert nb.metadata["kernelspec"] == KERNELSPEC


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("source", SOURCES, ids=ids)
def test_edition_is_generated_from_its_source(source, language):
    path = lesson_edition(source, language)
    expected = split(read(source), language)
    normalise(expected, path)
    stored = read(path)
    assert len(stored.cells) == len(expected.cells), (
        f"{rel(path)} has {len(stored.cells)} cells, its source gives {len(expected.cells)}; "
        "edit lessons/src, then run `make notebooks`"
    )
    for i, (got, want) in enumerate(zip(stored.cells, expected.cells, strict=True)):
        assert (got.cell_type, got.source, got.metadata) == (
            want.cell_type,
            want.source,
            want.metadata,
        ), f"{rel(path)} cell {i} is not its source's; edit {rel(source)}, then `make notebooks`"


@pytest.mark.parametrize("source", SOURCES, ids=ids)
def test_editions_share_every_code_cell_and_output(source):
    en, ja = (read(lesson_edition(source, lang)) for lang in LANGUAGES)
    found = code_differences(en, ja)  # lessons carry no language setting: nothing may differ
    assert not found, f"{source.name}: the editions' code differs:\n" + "\n".join(found)


@pytest.mark.parametrize("source", SOURCES, ids=ids)
def test_japanese_edition_links_to_its_own_badge_and_japanese_exercise(source):
    path = lesson_edition(source, "ja")
    nb = read(path)
    assert nb.cells[0].source == colab_badge(path)
    exercise = exercise_of(path)
    assert exercise == EXERCISES / "ja" / exercise.parent.name / exercise.name
    block = exercise_block(path)
    assert f"](../../exercises/ja/{exercise.parent.name}/{exercise.name})" in block
    assert block.startswith("**演習:**") and block.endswith(colab_badge(exercise))
    assert nb.cells[-1].source.endswith(block)
    assert "](../../README.md#sources)" in nb.cells[1].source


# -- the checks themselves ------------------------------------------------------------------


def _md(text, language=None, translates=None):
    cell = nbformat.v4.new_markdown_cell(text)
    if language:
        cell.metadata[LANGUAGE_KEY] = language
    if translates:
        cell.metadata[HASH_KEY] = translates
    return cell


def _source(english="## Shapes\n\nThe output is `(4, 3, 2)`."):
    return nbformat.v4.new_notebook(
        cells=[
            _md(colab_badge(LESSONS / "01_conv1d.ipynb")),
            _md(english, "en"),
            _md("## 形\n\n出力は `(4, 3, 2)` です。", "ja", text_hash(english)),
            nbformat.v4.new_code_cell("print(1)"),
        ]
    )


def test_a_fresh_source_has_no_problems():
    assert translation_problems(_source()) == []


def test_changed_english_makes_its_translation_stale_naming_the_cell():
    nb = _source()
    nb.cells[1].source = "## Shapes\n\nThe output is `(4, 3, 5)`."
    found = translation_problems(nb)
    assert len(found) == 1 and found[0].startswith("cell 2: the Japanese translation is stale")
    assert "English cell 1 changed" in found[0] and "'## Shapes'" in found[0]


def test_missing_twin_untagged_markdown_and_tagged_code_are_caught():
    nb = _source()
    nb.cells.insert(3, _md("A new paragraph.", "en"))  # no Japanese after it
    nb.cells.append(_md("Untagged prose."))
    nb.cells.append(_md("English only, translated as English", "ja", text_hash("x")))
    nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={LANGUAGE_KEY: "en"}))
    found = "\n".join(translation_problems(nb))
    assert "cell 3: English cell has no Japanese twin" in found
    assert "cell 5: markdown without metadata.language" in found
    assert "cell 6: a Japanese cell with no Japanese in it" in found
    assert "cell 6: Japanese cell without the English cell" in found
    assert "cell 7: a code cell is tagged language 'en'" in found


def test_split_keeps_shared_cells_and_one_language_without_source_metadata():
    nb = _source()
    en, ja = split(nb, "en"), split(nb, "ja")
    assert [c.source[:3] for c in en.cells[1:]] == ["## ", "pri"]
    assert ja.cells[1].source.startswith("## 形")
    for edition in (en, ja):
        assert len(edition.cells) == 3
        assert all(not set(c.metadata) & SOURCE_METADATA for c in edition.cells)
    assert LANGUAGE_KEY in nb.cells[1].metadata, "the source itself is not modified"


def test_code_differences_allow_only_the_course_language_line_in_exercises():
    setup = 'import torch\n\nCOURSE_LANGUAGE = "{}"\nRTOL = 1e-5'
    points = {"grade": True, "grade_id": "test_a", "points": 2, "solution": False}

    def edition(language, test_source="assert True", pts=points):
        return nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell(setup.format(language)),
                nbformat.v4.new_code_cell(test_source, metadata={"nbgrader": dict(pts)}),
            ]
        )

    en = edition("en")
    assert COURSE_LANGUAGE_LINE.search(en.cells[0].source)
    made = split(en, "ja")
    assert set_course_language(made, "ja") == 1
    assert made.cells[0].source == setup.format("ja")
    assert code_differences(en, edition("ja"), allow_language_line=True) == []
    assert code_differences(en, edition("ja")) == [
        "code cell 0: source differs between the editions"
    ]
    assert code_differences(en, edition("ja", "assert 1"), allow_language_line=True) == [
        "code cell 1: source differs between the editions"
    ]
    assert code_differences(
        en, edition("ja", pts={**points, "points": 3}), allow_language_line=True
    ) == ["code cell 1: metadata differs between the editions"]
    # A locked setup cell's nbgrader checksum follows its source; a test cell's may not differ.
    en.cells[0].metadata["nbgrader"] = {"locked": True, "checksum": "aaa"}
    ja = edition("ja")
    ja.cells[0].metadata["nbgrader"] = {"locked": True, "checksum": "bbb"}
    assert code_differences(en, ja, allow_language_line=True) == []
    en.cells[1].metadata["nbgrader"]["checksum"] = "ccc"
    assert code_differences(en, ja, allow_language_line=True) == [
        "code cell 1: metadata differs between the editions"
    ]


def test_make_notebooks_arguments_find_the_lesson_sources():
    english = sorted(LESSONS.glob("*.ipynb"))
    japanese = [LESSONS / "ja" / p.name for p in english]
    sources = [LESSONS / "src" / p.name for p in english]
    assert targets(english + japanese) == sources
    assert targets([]) == SOURCES


def test_hygiene_judges_the_japanese_edition_as_a_lesson_and_allows_no_source_metadata(tmp_path):
    ja = LESSONS / "ja" / "01_conv1d.ipynb"
    nb = read(ja)
    nb.cells[1].metadata[LANGUAGE_KEY] = "ja"
    path = tmp_path / ja.name
    nbformat.write(nb, path)
    assert problems(path, location=ja) == [f"cell 1: stray metadata ['{LANGUAGE_KEY}']"]
    assert not SOURCE_METADATA & CELL_METADATA
