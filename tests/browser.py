"""Headless Chromium for browser tests: Debian's `chromium` driven by Playwright for Python.

Playwright's own browser download cannot work here; the tests launch the system Chromium with
flags that keep it off the network (closed here: its background connections would be refused by
the dozen). `.ci/run` installs the package; a missing browser is an error, never a skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise pytest.UsageError("Debian's chromium is not installed; .ci/run installs it")
    return path


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session; each test opens its own context (cookies, storage)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
    # where a loop is running unless told this thread is not async code (it is not: the loop
    # only drives the browser).
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    opened = context.new_page()
    yield opened
    context.close()
