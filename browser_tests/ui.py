"""What a student does in JupyterLab, as Playwright steps, and what the page shows, as data.

Selectors used (JupyterLab 4.6): a notebook is a `.jp-NotebookPanel`; its cells are its
`.jp-Cell` elements, in notebook order (with the default "contentVisibility" windowing every cell
stays in the DOM; `open_notebook` checks the count against the file); a code cell's prompt is
`.jp-InputPrompt` (`[ ]:`, `[*]:`, `[3]:`); outputs are `.jp-OutputArea-output`, with a
`data-mime-type` (tracebacks and stderr are both `application/vnd.jupyter.stderr`); the editor is
CodeMirror 6, `.cm-content`; the kernel's state is the toolbar's
`.jp-Notebook-ExecutionIndicator[data-status]`.
"""

import re
import time
from pathlib import Path

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

STDERR = "application/vnd.jupyter.stderr"
PAGE_TIMEOUT_MS = 60_000
KERNEL_IDLE_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 120_000
SETTLE_S = 3.0

# The visible notebook panel (other panels may exist in hidden tabs).
_PANEL_JS = """
const panel = [...document.querySelectorAll('.jp-NotebookPanel')]
    .find(p => p.offsetParent !== null && !p.classList.contains('lm-mod-hidden'));
"""

_CELLS_JS = (
    "() => {"
    + _PANEL_JS
    + """
    if (!panel) return null;
    return [...panel.querySelectorAll('.jp-Notebook .jp-Cell')].map((cell, i) => ({
        index: i,
        kind: cell.classList.contains('jp-CodeCell') ? 'code'
            : cell.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
        prompt: (cell.querySelector('.jp-InputPrompt')?.textContent || '').trim(),
        outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => ({
            mime: o.getAttribute('data-mime-type') || '',
            // textContent, not innerText: cells scrolled out of view are not rendered
            // ("content-visibility: auto") and their innerText is empty.
            text: (o.textContent || '').slice(0, 4000),
        })),
        images: [...cell.querySelectorAll('.jp-OutputArea-output img')].map(img => ({
            complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
        })),
    }));
}"""
)

# Finished: the toolbar's indicator says idle and no prompt is [*]; and one cell's prompt.
_STATE_JS = (
    "(index) => {"
    + _PANEL_JS
    + """
    if (!panel) return {idle: false, prompt: ''};
    const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    const prompts = [...panel.querySelectorAll('.jp-InputPrompt')];
    const cell = panel.querySelectorAll('.jp-Notebook .jp-Cell')[index];
    return {
        idle: !!indicator && indicator.getAttribute('data-status') === 'idle'
            && !prompts.some(p => p.textContent.includes('*')),
        prompt: (cell?.querySelector('.jp-InputPrompt')?.textContent || '').trim(),
    };
}"""
)

_BUSY_JS = (
    "() => {"
    + _PANEL_JS
    + """
    if (!panel) return false;
    const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    return (indicator && indicator.getAttribute('data-status') !== 'idle')
        || [...panel.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'));
}"""
)

_IMAGES_LOADED_JS = (
    "() => {"
    + _PANEL_JS
    + """
    if (!panel) return false;
    return [...panel.querySelectorAll('.jp-OutputArea-output img')].every(img => img.complete);
}"""
)


def panel(page: Page):
    return page.locator(".jp-NotebookPanel:visible")


def cell(page: Page, index: int):
    return panel(page).locator(".jp-Notebook .jp-Cell").nth(index)


def open_notebook(page: Page, url: str, n_cells: int) -> None:
    """Open a notebook URL and wait until all its cells are shown and its kernel is idle."""
    page.goto(url, timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(
        "(n) => {" + _PANEL_JS + "return !!panel && "
        "panel.querySelectorAll('.jp-Notebook .jp-Cell').length === n; }",
        arg=n_cells,
        timeout=PAGE_TIMEOUT_MS,
    )
    wait_kernel_idle(page)


def wait_kernel_idle(page: Page) -> None:
    panel(page).locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(
        timeout=KERNEL_IDLE_TIMEOUT_MS
    )
    # The status bar names the kernel once it is connected.
    page.locator(".jp-StatusBar-Widget", has_text="Python 3 (ipykernel) | Idle").first.wait_for(
        timeout=KERNEL_IDLE_TIMEOUT_MS
    )


def wait_execution_done(
    page: Page, last_cell: int, before: str = "", timeout_ms: int = RUN_TIMEOUT_MS
) -> float:
    """Wait until the cells just sent to the kernel have run; returns the seconds it took.

    Done when cell `last_cell` (the last one sent) shows an execution count other than `before`
    (its prompt when the run was started), the kernel is idle and no prompt is `[*]`. If a cell
    fails, the kernel drops the cells queued behind it and `last_cell` never gets a count: then
    the run is over once the kernel has been idle, with no `[*]`, for SETTLE_S.

    (After a cell tagged `raises-exception` fails, JupyterLab redraws the cells queued behind it
    as `[ ]` although the kernel still runs them, so `[*]` alone does not mean "still running".)
    """
    start = time.monotonic()
    try:
        page.wait_for_function(_BUSY_JS, timeout=10_000, polling=50)
    except PlaywrightTimeoutError:
        pass  # the run may already be over: a few fast cells
    idle_since = None
    while True:
        now = time.monotonic()
        state = page.evaluate(_STATE_JS, last_cell)
        if (
            state["idle"]
            and re.fullmatch(r"\[\d+\]:", state["prompt"])
            and state["prompt"] != before
        ):
            return now - start
        idle_since = (idle_since or now) if state["idle"] else None
        if idle_since is not None and now - idle_since >= SETTLE_S:
            return now - start
        if now - start > timeout_ms / 1000:
            raise PlaywrightTimeoutError(
                f"the cells were still running after {timeout_ms / 1000:.0f} s "
                f"(cell {last_cell} shows {state['prompt']!r})"
            )
        page.wait_for_timeout(100)


def menu(page: Page, top: str, item: str) -> None:
    """Click top → item in the menu bar (e.g. Run → Run All Cells)."""
    page.locator(".lm-MenuBar").get_by_role("menuitem", name=top, exact=True).click()
    page.locator(".lm-Menu").get_by_role("menuitem", name=re.compile("^" + re.escape(item))).click()


def cells(page: Page) -> list[dict]:
    """What each cell of the visible notebook shows: prompt, outputs (mime type, text), images."""
    result = page.evaluate(_CELLS_JS)
    assert result is not None, "no notebook is visible"
    return result


def wait_images_loaded(page: Page) -> None:
    page.wait_for_function(_IMAGES_LOADED_JS, timeout=30_000)


def select_cell(page: Page, index: int) -> None:
    """Click a cell's prompt: the cell becomes active, in command mode."""
    target = cell(page, index)
    target.scroll_into_view_if_needed()
    target.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")


def replace_cell_text(page: Page, index: int, text: str) -> str:
    """Click into a cell's editor, select everything, type `text`; returns what the editor shows.

    `insert_text` sends the text as one input event, so CodeMirror neither auto-closes brackets
    nor re-indents lines as it would for key-by-key typing.
    """
    editor = cell(page, index).locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)
    return editor_text(page, index)


def editor_text(page: Page, index: int) -> str:
    lines = cell(page, index).locator(".cm-content .cm-line").all_text_contents()
    return "\n".join(lines)


def scroll_to_cell(page: Page, index: int, what: str = "") -> None:
    """Scroll a cell (or the first `what` inside it, e.g. its image) to the middle of the view."""
    target = cell(page, index)
    if what:
        target = target.locator(what).first
    target.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)


def open_command_palette(page: Page, query: str) -> None:
    """Ctrl+Shift+C opens the command palette (from the notebook, in command mode); type."""
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Shift+C")
    search = page.locator(".lm-CommandPalette input")
    search.wait_for()
    search.fill(query)


def shot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    return path
