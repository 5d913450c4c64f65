"""Waiting for a condition with a deadline (watchdog's expect_event style), never a bare sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 10.0, message: str = "", interval: float = 0.02) -> T:
    """Poll `condition` until it returns something truthy, and return that; fail at the deadline
    saying what was awaited (`message`) and what the condition last returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message or condition} (last: {value!r:.200})")
        time.sleep(interval)


def never(condition: Callable[[], object], duration: float, interval: float = 0.02, what: str = "") -> None:
    """Assert `condition` stays false for `duration` seconds."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        assert not condition(), f"happened too early: {what or condition}"
        time.sleep(interval)


def wait_until_js(page: Any, expression: str, arg: object = None, timeout: float = 20.0) -> Any:
    """Poll a JS expression in a Playwright page until truthy, and return its value.
    (page.wait_for_function evals its predicate, which the page's CSP rightly forbids;
    page.evaluate goes through the devtools protocol. page.wait_for_timeout, unlike time.sleep,
    lets Playwright deliver the page's events meanwhile.)"""
    deadline = time.monotonic() + timeout
    while not (value := page.evaluate(expression, arg)):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(50)
    return value


def expect(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> T:
    """`wait_until` under its first name, for the tests that still call it so."""
    return wait_until(condition, timeout, what, interval)


# The map neither panning nor zooming: a popup's autopan (animated) has ended, so what is in the
# popup stays where it was found. Playwright's "stable" check cannot see a pan that stalls for two
# frames on a loaded machine, and its click then lands on the map.
MAP_AT_REST = "() => { const m = geolocator.map; return !m._animatingZoom && !(m._panAnim && m._panAnim._inProgress); }"


def click_at_rest(page: Any, selector: str) -> None:
    """Click `selector` (in a popup, over the map) once the map is at rest."""
    page.wait_for_selector(selector)
    wait_until_js(page, MAP_AT_REST)
    page.click(selector)
