"""Feedback pages are inert: nothing a student wrote can run when an instructor opens one."""

import base64
import re
from html.parser import HTMLParser

import nbformat
import pytest

from autograder.engine.feedback_html import audit, clean, render
from autograder.engine.runner import spec
from autograder.submissions import grade_id, released

A = "ex01_conv1d"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
EVIL_ID = "<img src=x onerror=alert('id')>"
EVIL_MESSAGE = "AssertionError: <script>alert('msg')</script> & <b onclick=alert(1)>"

HOSTILE_MARKDOWN = [
    "<script>alert('md-script')</script>",
    "<img src=x onerror=alert('md-img')>",
    "[click me](javascript:alert('md-link'))",
    "[click me too](  JaVaScRiPt:alert('md-link2'))",
    '<a href="jav&#x09;ascript:alert(1)">entity link</a>',
    "<svg onload=alert('svg')><circle r=1 /></svg>",
    "<svg><script>alert('svg-script')</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')>",
    '<iframe src="https://evil.example/"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object><embed src="x.swf">',
    '<form action="https://evil.example/"><input name=p><button>Go</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<link rel=stylesheet href="https://evil.example/x.css">',
    "<style>body{background:url(https://evil.example/track)}</style>",
    '<p style="background:url(javascript:alert(1))" onmouseover="alert(1)">styled</p>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>',
    "<details open ontoggle=alert('toggle')><summary>s</summary></details>",
    "<body onload=alert('body')>",
    "```mermaid\ngraph TD; A-->B</pre><script>alert('mermaid')</script>\n```",
    "![evil](attachment:evil.svg) ![missing](attachment:nothere.png)",
    "<noscript><p title=\"</noscript><img src=x onerror=alert('noscript')>\">",
    "<template><script>alert('tpl')</script></template>",
    "<!-- <script>alert('comment')</script> -->",
]

GOOD_MARKDOWN = f"""# Heading one

## Heading two

A paragraph with *emphasis*, **strong** text and `inline code`.

- first item
- second item

1. numbered

| col a | col b |
|:------|------:|
| 1     | 2     |

```python
def f(x):
    return x + 1
```

![a picture](data:image/png;base64,{PNG}) ![remote](https://example.org/cat.png)
![attached](attachment:pic.png)

[a safe link](https://pytorch.org/)
"""

HOSTILE_OUTPUTS = [
    nbformat.v4.new_output(
        "display_data", data={"text/html": "<script>alert('out-html')</script>"}
    ),
    nbformat.v4.new_output(
        "display_data", data={"image/svg+xml": "<svg onload=alert('out-svg')></svg>"}
    ),
    nbformat.v4.new_output("display_data", data={"application/javascript": "alert('out-js')"}),
    nbformat.v4.new_output(
        "execute_result",
        data={"text/markdown": "[x](javascript:alert('out-md'))", "text/plain": "x"},
        execution_count=1,
    ),
    nbformat.v4.new_output("display_data", data={"text/latex": "$\\href{javascript:alert(1)}{x}$"}),
    nbformat.v4.new_output(
        "display_data",
        data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "m", "version_major": 2},
            "text/html": "<img src=x onerror=alert('widget')>",
        },
    ),
]


def hostile_notebook():
    nb = released(A)
    nb.metadata["title"] = "</title><script>alert('title')</script>"
    nb.metadata["language_info"] = {"name": "python\"><script>alert('lang')</script>"}
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {"m": {"state": {"value": "<script>alert('widget-state')</script>"}}},
            "version_major": 2,
            "version_minor": 0,
        }
    }
    good = nbformat.v4.new_markdown_cell(GOOD_MARKDOWN)
    good.attachments = {"pic.png": {"image/png": PNG}}
    evil = [nbformat.v4.new_markdown_cell(md) for md in HOSTILE_MARKDOWN]
    evil[-4].attachments = {"evil.svg": {"image/svg+xml": "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"}}
    for cell in evil:
        cell.metadata["tags"] = ['"><script>alert("tag")</script>']
    raws = [
        nbformat.v4.new_raw_cell(
            "<script>alert('raw-html')</script>", metadata={"raw_mimetype": "text/html"}
        ),
        nbformat.v4.new_raw_cell("<img src=x onerror=alert('raw-plain')>"),
    ]
    code = nbformat.v4.new_code_cell(
        "print('<script>alert(1)</script>')",
        outputs=HOSTILE_OUTPUTS,
        metadata={"tags": ['"><img src=x onerror=alert("codetag")>']},
    )
    code.id = 'x"><script>alert("id")</script>'
    nb.cells[1:1] = [good, *evil, *raws, code]
    return nb


def hostile_result(nb):
    tests = spec(A).tests
    cells = [
        {"cell": cid, "score": 0.0 if k % 2 else points, "max_score": points, "message": msg}
        for k, (cid, (_, points)) in enumerate(tests.items())
        for msg in ["passed" if k % 2 == 0 else EVIL_MESSAGE]
    ]
    labels = [grade_id(c) or f"cell {i}" for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    outputs = {label: "<script>alert('stdout')</script>\n" for label in labels}
    notes = ["<img src=x onerror=alert('note')>", "plain note & more"]
    return {"assignment": A, "cells": cells, "outputs": outputs, "notes": notes, "seconds": 0}


class Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []  # (tag, attrs dict, position in the body: True once <body> is open)
        self.in_body = False

    def handle_starttag(self, tag, attrs):
        self.in_body |= tag == "body"
        self.tags.append((tag, dict(attrs), self.in_body))

    handle_startendtag = handle_starttag


def tags_of(page):
    parser = Tags()
    parser.feed(page)
    return parser.tags


@pytest.fixture(scope="module")
def page():
    nb = hostile_notebook()
    return render(EVIL_ID, A, nb, spec(A).tests, hostile_result(nb))


def test_no_script_at_all(page):
    assert "<script" not in page.lower()
    assert not [t for t, _, _ in tags_of(page) if t == "script"]
    # every student `alert(` is shown as text, none is inside a tag
    assert not re.search(r"<[^<>]*alert\(", page)


def test_no_event_handlers(page):
    handlers = [(t, a) for t, attrs, _ in tags_of(page) for a in attrs if a.startswith("on")]
    assert not handlers
    assert not re.search(r"<[^>]*\son\w+\s*=", page, re.I)


def test_no_javascript_or_data_documents(page):
    for tag, attrs, _ in tags_of(page):
        for name, value in attrs.items():
            value = re.sub(r"\s", "", value or "").lower()
            assert not value.startswith(("javascript:", "vbscript:")), (tag, name, value)
            if value.startswith("data:"):
                assert tag == "img" and name == "src" and value.startswith("data:image/png")


def test_nothing_that_loads_or_embeds(page):
    bad = {"iframe", "frame", "object", "embed", "form", "input", "button", "base", "link"}
    bad |= {"svg", "math", "template", "noscript", "textarea"}
    assert not [t for t, _, _ in tags_of(page) if t in bad]
    styles_in_body = [t for t, _, in_body in tags_of(page) if t == "style" and in_body]
    assert not styles_in_body
    metas = [a for t, a, _ in tags_of(page) if t == "meta" and "http-equiv" in a]
    assert [m["http-equiv"].lower() for m in metas] == ["content-security-policy"]
    assert "evil.example" not in page


def test_content_security_policy_forbids_scripts(page):
    (csp,) = [a["content"] for t, a, _ in tags_of(page) if a.get("http-equiv")]
    assert "script-src 'none'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp.split("style-src")[0]


def test_ordinary_formatting_survives(page):
    tags = [t for t, _, _ in tags_of(page)]
    for tag in ("h1", "h2", "ul", "ol", "li", "table", "th", "td", "pre", "code", "em", "strong"):
        assert tag in tags, tag
    assert "<h1>Heading one</h1>" in page and "<h2>Heading two</h2>" in page
    assert "<em>emphasis</em>" in page and "<strong>strong</strong>" in page
    assert "<code>inline code</code>" in page
    assert f'src="data:image/png;base64,{PNG}"' in page  # both the inline image and attachment
    assert page.count(f"data:image/png;base64,{PNG}") == 2
    assert 'src="https://example.org/cat.png"' in page
    assert 'href="https://pytorch.org/"' in page
    assert 'style="text-align:right"' in page  # table alignment
    assert '<span class="k">def</span>' in page  # highlighted code block


def test_student_id_and_messages_are_escaped(page):
    assert "Feedback: ex01_conv1d for &lt;img src=x onerror=alert('id')&gt;" in page
    assert "&lt;script&gt;alert('msg')&lt;/script&gt; &amp; &lt;b onclick=alert(1)&gt;" in page
    assert "&lt;img src=x onerror=alert('note')&gt;" in page
    assert "plain note &amp; more" in page
    assert "&lt;script&gt;alert('stdout')&lt;/script&gt;" in page  # a cell's recorded output
    assert "<pre>&lt;script&gt;alert('raw-html')&lt;/script&gt;</pre>" in page  # a raw cell
    assert "not shown:" not in page  # the sanitiser did the work; the last check did not fire


def test_course_parts_keep_their_formatting(page):
    assert "<table>" in page and "<th>test</th>" in page  # the score table
    assert "<strong>Score:" in page
    assert "passed: 1 / 1 points" in page
    assert "Task 2 · Two output numbers by hand" in page  # the exercise's own text


@pytest.mark.parametrize("fragment", HOSTILE_MARKDOWN)
def test_each_hostile_fragment_alone_is_cleaned(fragment):
    from autograder.engine.feedback_html import markdown_html

    out = markdown_html(fragment, {"evil.svg": {"image/svg+xml": "PHN2Zz4="}}).lower()
    assert "<script" not in out and "javascript:" not in out.replace("[click", "")
    assert not re.search(r"<[^>]*\son\w+\s*=", out)
    assert not re.search(r"<(iframe|object|embed|form|meta|base|link|style|svg|math)\b", out)


def test_the_last_check_catches_what_the_sanitiser_would_miss():
    assert audit('<meta http-equiv="Content-Security-Policy"><p>ok</p>') == []
    csp = '<meta http-equiv="Content-Security-Policy">'
    for bad in [
        "<script>x</script>",
        "<img src=x onerror=alert(1)>",
        '<a href=" javascript:alert(1)">x</a>',
        '<a href="data:text/html,x">x</a>',
        "<iframe></iframe>",
        '<meta http-equiv="refresh" content="0">',
    ]:
        assert audit(csp + bad), bad
    assert audit("<p>no policy</p>")


def test_a_page_that_fails_the_check_is_replaced(monkeypatch):
    import autograder.engine.feedback_html as fh

    caches = (fh._code_html, fh._markdown_without_images)  # what a working clean() made
    for cache in caches:
        cache.cache_clear()
    monkeypatch.setattr(fh, "clean", lambda fragment: fragment)  # the sanitiser is broken
    nb = hostile_notebook()
    try:
        out = fh.render(EVIL_ID, A, nb, spec(A).tests, hostile_result(nb))
    finally:
        for cache in caches:  # nothing the broken one made outlives this test
            cache.cache_clear()
    assert "The notebook itself is not shown" in out
    assert "<script" not in out.lower() and not audit(out)
    assert "for &lt;img src=x onerror=alert(" in out


def test_clean_keeps_formatting_drops_the_rest():
    assert clean("<p><em>a</em> <b onclick=x>b</b></p>") == "<p><em>a</em> <b>b</b></p>"
    assert clean("<script>alert(1)</script>ok") == "ok"
