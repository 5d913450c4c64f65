"""Debian's chromium driven by Playwright: one browser for the whole test process.

Started by conftest's session fixture `browser` at the first test that asks for it; each test gets
its own context (cookies, storage, viewport), so tests share nothing but the browser process. A
test that fails leaves a screenshot of every page it had open in its tmp_path (conftest's report
hook): pictures only when there is something to look at.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@contextlib.contextmanager
def launched(warmup: Path) -> Iterator[Any]:
    """chromium, warmed up by a screenshot of a blank page saved in the folder `warmup`."""
    from playwright import sync_api

    manager = sync_api.sync_playwright()
    p = manager.start()
    # Playwright writes files through its event loop's default executor, which grows threads
    # lazily: give it exactly one, started now, so the per-test leaked-thread guard doesn't
    # count Playwright's worker against whichever test first saves a screenshot.
    loop = getattr(manager, "_loop", None)
    if loop is not None:
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright-io"))
    browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    try:
        warm = browser.new_page()
        warm.screenshot(path=str(warmup / "blank.png"))
        warm.close()
        yield browser
    finally:
        browser.close()
        manager.__exit__(None, None, None)


def screenshot_pages(browser: Any, folder: Path) -> None:
    """A screenshot of each page open in `browser`, into `folder` (failed-1.png, ...)."""
    pages = [page for context in browser.contexts for page in context.pages if not page.is_closed()]
    for number, page in enumerate(pages, 1):
        page.screenshot(path=str(folder / f"failed-{number}.png"), timeout=10000)
