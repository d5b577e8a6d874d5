"""Browser fixtures: Debian's chromium through Playwright, and the built UI (skipped with a reason if absent)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.harness import ARTIFACTS, chromium_path, ui_build_problem

# The machine runs other suites at the same time (load 15-25 on 2 cores): wait up to 20 s, not 5.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def built_ui() -> None:
    problem = ui_build_problem()
    if problem:
        pytest.skip(f"the web UI is not built: {problem}")


# package scope: Playwright's sync API leaves its event loop set (and running) on the main thread while it is
# open, which breaks later tests that run a loop themselves (Mangum in tests/unit/api/test_lambda.py)
@pytest.fixture(scope="package")
def browser(built_ui: None) -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium: `apt-get install -y chromium` (make test does it when missing)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        # root needs --no-sandbox; Playwright cannot download a browser here, so use Debian's
        chromium = pw.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True, timezone_id="UTC")
    context.set_default_timeout(20_000)
    tab = context.new_page()
    yield tab
    context.close()
