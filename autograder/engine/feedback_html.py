"""One HTML feedback page per student and assignment, from the engine's result.

The page is the student's own notebook with each test cell's verdict as its output. Test
cells show the solution's visible test code; hidden tests are removed with nbgrader's own
ClearHiddenTests (autograder.feedback.HideHiddenTests), and an error shows only its message.

The page is inert: an instructor opens it from Jupyter, so nothing a student wrote may run
there. Three layers:

1. The notebook is rebuilt before export from parts the grader controls. Markdown cells are
   rendered to HTML here (nbconvert's own markdown renderer) and cleaned with an allow-list
   (nh3); raw cells become escaped preformatted text; the student's outputs, attachments,
   widget state and cell and notebook metadata are dropped (a code cell's output is the
   text the grader recorded, a test cell's the verdict); the summary is built as escaped HTML.
2. The page has no script at all (the course's own content has no math or widgets): it is a
   small page of its own (nbconvert's lab template costs a second a page in CSS, bleach and
   BeautifulSoup), and a strict Content-Security-Policy forbids scripts, frames, forms and
   plugins should any slip in.
3. The finished page is checked (no script, event handler, frame, form, object, `javascript:`
   or non-image `data:` URL); a page that fails is replaced by a plain, escaped one.
"""

import copy
import html
import re
from functools import lru_cache
from html.parser import HTMLParser

import nbformat
import nh3
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from autograder.feedback import HideHiddenTests
from autograder.messages import detect_language
from autograder.messages import text as message
from autograder.submissions import grade_id

MESSAGE_LIMIT = 300

CSP = (
    "default-src 'none'; script-src 'none'; object-src 'none'; frame-src 'none'; "
    "child-src 'none'; worker-src 'none'; connect-src 'none'; form-action 'none'; "
    "base-uri 'none'; style-src 'unsafe-inline'; img-src data: https:; font-src data:"
)

# Student markdown may use ordinary formatting; everything else is dropped.
ALLOWED_TAGS = {
    *(f"h{n}" for n in range(1, 7)),
    *"p br hr div span blockquote pre code kbd samp var".split(),
    *"em strong b i u s del ins sub sup mark small abbr q cite dfn".split(),
    *"ul ol li dl dt dd a img figure figcaption details summary".split(),
    *"table thead tbody tfoot tr th td caption colgroup col".split(),
}
# Dropped with their content (the rest of an unknown tag's text is kept, as text).
DROPPED_WITH_CONTENT = {
    *"script style iframe frame frameset object embed applet noscript noembed".split(),
    *"template svg math form textarea select option button input title xmp".split(),
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "ol": {"start"},
    "th": {"style", "colspan", "rowspan"},
    "td": {"style", "colspan", "rowspan"},
    "col": {"span"},
    "colgroup": {"span"},
    # pygments' highlighting of code blocks
    "span": {"class"},
    "div": {"class"},
    "pre": {"class"},
    "code": {"class"},
}
IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[a-z0-9+/=\s]*$", re.I)
LINK_SCHEMES = ("https:", "http:", "mailto:")
INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f]+")


def _url_ok(tag: str, attribute: str, value: str) -> bool:
    url = INVISIBLE.sub("", html.unescape(value)).lower()
    if tag == "img" and attribute == "src":
        return url.startswith("https:") or bool(IMAGE_DATA.match(INVISIBLE.sub("", value)))
    return url.startswith(LINK_SCHEMES) or url.startswith("#")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute in ("href", "src"):
        return value if _url_ok(tag, attribute, value) else None
    return value


def clean(fragment: str) -> str:
    """Keep ordinary formatting of an HTML fragment; drop anything that can run or load."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"https", "http", "mailto", "data"},
        filter_style_properties={"text-align"},
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    )


def markdown_html(source: str, attachments: dict | None = None) -> str:
    """A student's markdown cell as clean HTML (raw HTML in it is cleaned, not trusted)."""
    images = {
        name: {k: v for k, v in data.items() if k in ("image/png", "image/jpeg", "image/gif")}
        for name, data in (attachments or {}).items()
        if isinstance(data, dict)
    }
    images = {name: data for name, data in images.items() if data}
    return _markdown(source, images) if images else _markdown_without_images(source)


@lru_cache(maxsize=4096)
def _markdown_without_images(source: str) -> str:
    """Cached: most markdown cells are the released ones, the same for the whole class."""
    return _markdown(source, {})


def _markdown(source: str, images: dict) -> str:
    renderer = IPythonRenderer(
        escape=False, attachments=images, embed_images=False, exclude_anchor_links=True
    )
    try:
        rendered = MarkdownWithMath(renderer=renderer).render(source)
    except Exception:  # a missing attachment, a renderer bug: show the text, escaped
        rendered = f"<pre>{html.escape(source, quote=False)}</pre>"
    return clean(rendered)


# The page's own look: a little CSS and pygments' colours for the highlighted code.
_CODE = HtmlFormatter(cssclass="highlight")
CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1d1d1f}"
    "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.2rem .5rem}"
    "pre{padding:.5rem;overflow-x:auto;white-space:pre-wrap}"
    ".cell{margin:1rem 0}.code pre{background:#f5f5f5;border-left:3px solid #bbb}"
    ".out{background:#fff;border-left:3px solid #4a4}.err{background:#fdecea;border-left:3px solid #c33}"
    + _CODE.get_style_defs(".highlight")
)


@lru_cache(maxsize=4096)
def _code_html(source: str) -> str:
    """Python source, highlighted (pygments escapes it), cleaned like everything else, and
    audited on its own. Cached: most code on a page (setup, tests) is the same for the class."""
    fragment = clean(highlight(source, PythonLexer(), _CODE))
    return fragment if not _problems(fragment) else f"<pre>{html.escape(source, quote=False)}</pre>"


def _cell_html(cell, code=_code_html) -> str:
    if cell.cell_type == "markdown":  # HTML made and cleaned by `markdown_html` / `clean`
        return f'<div class="cell md">\n{cell.source}\n</div>'
    parts = [f'<div class="cell code">{code(cell.source)}']
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(f'<pre class="out">{html.escape(_text(output.text), quote=False)}</pre>')
        elif output.output_type == "error":
            parts.append(
                f'<pre class="err">{html.escape(chr(10).join(output.traceback), quote=False)}</pre>'
            )
    return "\n".join(parts) + "</div>"


def _page(title: str, cells: list, language: str = "en", code=_code_html) -> str:
    body = "\n".join(_cell_html(cell, code) for cell in cells)
    return (
        f'<!DOCTYPE html>\n<html lang="{_esc(language)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n"
        "</body>\n</html>\n"
    )


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _summary(student: str, assignment: str, result: dict, language: str = "en") -> str:
    def say(key, **fields):
        return _esc(message(language, f"engine.{key}", **fields))

    got = sum(c["score"] for c in result["cells"])
    most = sum(c["max_score"] for c in result["cells"])
    rows = "\n".join(
        f"<tr><td><code>{_esc(c['cell'])}</code></td>"
        f"<td>{c['score']:g} / {c['max_score']:g}</td>"
        f"<td>{_esc(str(c['message'])[:MESSAGE_LIMIT])}</td></tr>"
        for c in result["cells"]
    )
    notes = "".join(f"<li>{_esc(n)}</li>" for n in result.get("notes", []))
    return (
        f"<h1>{say('feedback_title', assignment=assignment, student=student)}</h1>\n"
        f"<p><strong>{say('score', got=f'{got:g}', most=f'{most:g}')}</strong></p>\n"
        f"<table>\n<thead><tr><th>{say('col_test')}</th><th>{say('col_points')}</th>"
        f"<th>{say('col_result')}</th></tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody>\n</table>\n"
        + (f"<p><strong>{say('notes')}</strong></p>\n<ul>{notes}</ul>\n" if notes else "")
    )


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _page_cells(nb, tests: dict, result: dict, language: str = "en") -> list:
    """The cells of the page, built afresh: nothing of the student's but text goes in."""
    verdicts = {c["cell"]: c for c in result["cells"]}
    hide = HideHiddenTests()
    cells = []
    for index, cell in enumerate(nb.cells):
        kind = cell.get("cell_type")
        source = _text(cell.get("source"))
        if kind == "markdown":
            attachments = cell.get("attachments")
            cells.append(nbformat.v4.new_markdown_cell(markdown_html(source, attachments)))
            continue
        if kind != "code":  # raw cells and anything unknown: the text, escaped
            if source.strip():
                cells.append(
                    nbformat.v4.new_markdown_cell(f"<pre>{html.escape(source, quote=False)}</pre>")
                )
            continue
        gid = grade_id(cell) if isinstance(cell.get("metadata"), dict) else None
        if gid in verdicts and gid in tests:
            verdict = verdicts[gid]
            test = copy.deepcopy(cell)
            test.source = tests[gid][0]
            test, _ = hide.preprocess_cell(test, {}, index)
            page_cell = nbformat.v4.new_code_cell(_text(test.source))
            if verdict["score"] >= verdict["max_score"]:
                text = message(
                    language,
                    "engine.passed_points",
                    score=f"{verdict['score']:g}",
                    most=f"{verdict['max_score']:g}",
                )
                text += "\n"
                page_cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
            else:
                text = str(verdict["message"])
                points = message(language, "engine.failed_points", most=f"{verdict['max_score']:g}")
                ename, _, evalue = text.partition(": ")
                page_cell.outputs = [
                    nbformat.v4.new_output(
                        "error",
                        ename=ename,
                        evalue=evalue,
                        traceback=[f"{text}  {points}"],
                    )
                ]
        else:
            page_cell = nbformat.v4.new_code_cell(source)
            text = _text(result["outputs"].get(gid or f"cell {index}", ""))
            if text:
                page_cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        cells.append(page_cell)
    return cells


class _Audit(HTMLParser):
    """Collects what must never be in a feedback page."""

    FORBIDDEN_TAGS = {
        *"script iframe frame frameset object embed applet form base svg math".split(),
        *"link portal input button textarea select template".split(),
    }
    URL_ATTRIBUTES = {
        *"href src action formaction xlink:href data poster background srcset".split(),
        *"lowsrc dynsrc ping codebase cite longdesc usemap manifest".split(),
    }

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        if tag == "meta":
            names = dict(attrs)
            equiv = (names.get("http-equiv") or "").lower()
            if equiv and equiv != "content-security-policy":
                self.problems.append(f'<meta http-equiv="{equiv}">')
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=>")
            if name in self.URL_ATTRIBUTES and value:
                url = INVISIBLE.sub("", value).lower()
                if url.startswith(("javascript:", "vbscript:", "livescript:")):
                    self.problems.append(f"<{tag} {name}=javascript:>")
                elif url.startswith("data:") and not (
                    tag == "img" and name == "src" and IMAGE_DATA.match(url)
                ):
                    self.problems.append(f"<{tag} {name}=data:>")
            if name == "style" and re.search(
                r"url\s*\(|expression\s*\(|@import", value or "", re.I
            ):
                self.problems.append(f"<{tag} style=url()>")

    handle_startendtag = handle_starttag


def _problems(fragment: str) -> list[str]:
    parser = _Audit()
    parser.feed(fragment)
    parser.close()
    return parser.problems


def audit(page: str) -> list[str]:
    """What in `page` could run or load something (empty for an inert page)."""
    problems = _problems(page)
    if page.count("Content-Security-Policy") != 1:
        problems.append("no single Content-Security-Policy")
    return problems


def _plain_page(student: str, assignment: str, result: dict, why: str, language: str) -> str:
    title = message(language, "engine.feedback_title", assignment=assignment, student=student)
    return (
        f'<!DOCTYPE html>\n<html lang="{_esc(language)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        f"<title>{_esc(title)}</title>\n</head>\n<body>\n"
        f"{_summary(student, assignment, result, language)}"
        f"<p>{_esc(message(language, 'engine.not_shown', why=why))}</p>\n</body>\n</html>\n"
    )


def render(
    student: str, assignment: str, nb, tests: dict, result: dict, language: str | None = None
) -> str:
    """`nb` is the restored submission; `tests` maps grade_id to (source, points). The page's
    own words are in `language`, by default the submission's (autograder.messages)."""
    language = language or detect_language(nb)
    cells = [
        nbformat.v4.new_markdown_cell(clean(_summary(student, assignment, result, language))),
        *_page_cells(nb, tests, result, language),
    ]
    title = message(language, "engine.feedback_title", assignment=assignment, student=student)
    body = _page(title, cells, language)
    # The audit reads the page with each code block left empty: every block was audited on
    # its own by `_code_html`, and as nh3's serialisation of a whole tree it closes everything
    # it opens, so placing it between the page's other parts cannot change how they parse.
    problems = audit(_page(title, cells, language, code=lambda source: "<pre></pre>"))
    if problems:
        why = message(language, "engine.unsafe_content", problems=", ".join(problems[:5]))
        return _plain_page(student, assignment, result, why, language)
    return body
