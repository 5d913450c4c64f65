"""Waiting for a condition with a deadline (watchdog's expect_event style), never a bare sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def expect(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> T:
    """Poll `condition` until it returns something truthy (returned), or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


def never(condition: Callable[[], object], duration: float, interval: float = 0.02, what: str = "") -> None:
    """Assert `condition` stays false for `duration` seconds."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        assert not condition(), f"happened too early: {what or condition}"
        time.sleep(interval)
