"""Fixtures for the browser tests: a JupyterLab server, a headless Chromium, a page per test.

The server is started once per session, like `make lab`, on a scratch copy of the course (see
lab.py). Every test gets a fresh browser context (no shared cookies or storage) and, when it is
done, its kernels are shut down. Screenshots go to screenshots/ (git-ignored); a failing test
leaves `FAILED-<test>.png` there, and the server's log is kept as `jupyterlab-server.log`.
"""

import os
import re
from pathlib import Path

import pytest

from browser_tests.ensure_chromium import CHROMIUM_ARGS, chromium_path, in_ci, missing_message
from browser_tests.lab import REPO, LabServer

SCREENSHOTS = REPO / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}


def _unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if chromium_path() is None:
        return missing_message()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: `make test-browser` installs requirements-browser.txt."
    return None


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    for old in [*SCREENSHOTS.glob("*.png"), SCREENSHOTS / "jupyterlab-server.log"]:
        old.unlink(missing_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def lab(tmp_path_factory, screenshots) -> LabServer:
    """A running JupyterLab serving a scratch copy of the course."""
    server = LabServer(tmp_path_factory.mktemp("lab"), screenshots / "jupyterlab-server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    reason = _unavailable()
    if reason:
        if in_ci():
            pytest.fail(f"CI=true but the browser tests cannot run: {reason}", pytrace=False)
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(chromium_path()), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(request, browser, lab, screenshots):
    """A fresh page (own cookies and storage); screenshot on failure, kernels shut down after."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    pg.page_errors = []  # uncaught JavaScript errors, reported when a test fails
    pg.on("pageerror", lambda err: pg.page_errors.append(str(err)))
    yield pg
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            pg.screenshot(path=str(screenshots / f"FAILED-{name}.png"))
        except Exception as err:  # noqa: BLE001 (a dead page must not hide the real failure)
            print(f"could not take the failure screenshot: {err}")
        if pg.page_errors:
            print("JavaScript errors on the page:\n" + "\n".join(pg.page_errors))
        print("JupyterLab server log (end):\n" + lab.log_tail())
    context.close()
    lab.shutdown_kernels()


def pytest_report_header(config):
    return f"browser tests: chromium {chromium_path() or 'MISSING'}, CI={os.environ.get('CI', '')}"
