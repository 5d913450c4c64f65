"""Debian's chromium driven by Playwright: one browser for the whole test process.

Started by conftest's session fixture `browser` at the first test that asks for it. A test borrows
a page through conftest's `tabs` fixture (`Tabs` below): kept between tests, each test starting at
about:blank without cookies, routes or listeners, on its own server (its own origin). A test that
fails leaves a screenshot of every page it had open in its tmp_path (conftest's report hook):
pictures only when there is something to look at.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

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
    """A screenshot of each page open in `browser` (but the kept ones waiting at about:blank), into `folder` (failed-1.png, ...)."""
    pages = [page for context in browser.contexts for page in context.pages if not page.is_closed() and page.url != "about:blank"]
    for number, page in enumerate(pages, 1):
        page.screenshot(path=str(folder / f"failed-{number}.png"), timeout=10000)


DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
TILES_ABORTED = "http://tiles.invalid/**"  # the tests' tile host, which cannot exist: its requests fail at once
FAILED = pytest.StashKey[bool]()  # set by conftest's report hook on a test that failed in any phase


class Tabs:
    """Pages kept open between the tests of a process, one for each set of context options.

    A test borrows one (`lend`) and gives it back at about:blank, without cookies, and without
    the routes and listeners it added; its next test navigates it to its own server (a new port:
    a new origin, with its own storage and cache). Why: a new context costs chromium a new
    renderer process, measured at ~2.2 core-seconds a map page loaded against ~1.2 for the same
    load in a kept page, and the suite loads the page ~100 times on two cores. A page whose test
    failed, that opened another page, or that a reset cannot bring back is closed, never lent again.
    """

    def __init__(self, browser: Any) -> None:
        self._browser = browser
        self._idle: dict[str, Any] = {}
        self._own: dict[int, tuple[set[Any], set[Any]]] = {}  # id(page): the listeners Playwright itself keeps

    @contextlib.contextmanager
    def lend(self, test: pytest.Item, *, abort: str | None = TILES_ABORTED, **options: Any) -> Iterator[Any]:
        """A page made with these context options (DESKTOP unless they say), gathering its script
        errors in `page.errors`; requests to `abort` (a URL pattern) fail."""
        options = {**DESKTOP, **options}
        kind = json.dumps(options, sort_keys=True)
        page = self._idle.pop(kind, None) or self._open(options)
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        if abort:
            page.route(abort, lambda route: route.abort())
        reusable = False
        try:
            yield page
            reusable = True
        finally:
            if reusable and not test.stash.get(FAILED, False) and kind not in self._idle and self._reset(page, options):
                self._idle[kind] = page
            else:
                self._own.pop(id(page), None)
                page.context.close()

    def _open(self, options: dict[str, Any]) -> Any:
        page = self._browser.new_context(**options).new_page()
        self._own[id(page)] = (_listeners(page), _listeners(page.context))
        return page

    def _reset(self, page: Any, options: dict[str, Any]) -> bool:
        """The page as `_open` made it, but for its history and its renderer process; False if it cannot be."""
        context = page.context
        if page.is_closed() or context.pages != [page]:
            return False
        page_own, context_own = self._own[id(page)]
        try:
            for owner, own in ((page, page_own), (context, context_own)):
                # Playwright has no public way to list listeners: its event emitter (_impl_obj) does.
                emitter = owner._impl_obj
                for event, listener in _listeners(owner) - own:
                    emitter.remove_listener(event, listener)
            page.unroute_all(behavior="ignoreErrors")
            context.unroute_all(behavior="ignoreErrors")
            page.goto("about:blank", timeout=10000)
            context.clear_cookies()
            if page.viewport_size != options["viewport"]:
                page.set_viewport_size(options["viewport"])
        except Exception:
            return False
        return True


def _listeners(owner: Any) -> set[tuple[str, Any]]:
    emitter = owner._impl_obj
    return {(event, listener) for event in emitter.event_names() for listener in emitter.listeners(event)}
