"""Every request to Ollama within a deadline and a byte cap, and never redirected.

httpx's timeouts bound each socket operation, not the request: a server that drips a byte a
second never times out (encode/httpx#1450), and a body is read into memory whole, however large
or endless. So httpcore gets a network backend (its documented extension point) whose streams
clamp every connect, write and read to what is left of the request's deadline, and count the
bytes read against the request's cap. Both hold from the first byte to the last, headers
included, for a request made inside `BoundedTransport.budget(...)`.

A redirect is refused by a response hook before its body is read, naming where it pointed:
Ollama never redirects, so one means the host setting points at something else.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx


class ResponseTooLarge(Exception):
    """The server sent more than the request's cap; reading stopped there."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit // 1024} KB")
        self.limit = limit


class Redirected(Exception):
    """The server answered with a redirect, which is not followed."""

    def __init__(self, status: int, location: str) -> None:
        super().__init__(f"HTTP {status} to {location}")
        self.status = status
        self.location = location


@dataclass
class _Budget:
    deadline: float  # time.monotonic()
    max_bytes: int
    read: int = field(default=0)


class _Budgets(threading.local):
    current: _Budget | None = None


def refuse_redirect(response: httpx.Response) -> None:
    """httpx response hook: raise Redirected instead of returning (or following) a redirect."""
    if response.is_redirect:
        raise Redirected(response.status_code, response.headers.get("location", "?")[:200])


class BoundedTransport(httpx.HTTPTransport):
    """httpx's own transport, on a connection pool whose network backend enforces the budget."""

    def __init__(self) -> None:
        super().__init__()
        self._budgets = _Budgets()
        # httpx 0.28's HTTPTransport takes no network_backend argument: replace the pool it built by
        # one with httpx's default limits and ours.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(self._budgets),
        )

    @contextmanager
    def budget(self, seconds: float, max_bytes: int) -> Iterator[None]:
        """Requests made by this thread inside the block end within `seconds` and read <= max_bytes."""
        previous = self._budgets.current
        self._budgets.current = _Budget(time.monotonic() + seconds, max_bytes)
        try:
            yield
        finally:
            self._budgets.current = previous


class _Backend(httpcore.NetworkBackend):
    def __init__(self, budgets: _Budgets) -> None:
        self._inner = httpcore.SyncBackend()
        self._budgets = budgets

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _clamp(self._budgets, timeout, httpcore.ConnectTimeout), local_address, socket_options)
        return _Stream(stream, self._budgets)

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _clamp(self._budgets, timeout, httpcore.ConnectTimeout), socket_options)
        return _Stream(stream, self._budgets)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, budgets: _Budgets) -> None:
        self._inner = inner
        self._budgets = budgets

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._inner.read(max_bytes, _clamp(self._budgets, timeout, httpcore.ReadTimeout))
        budget = self._budgets.current
        if budget is not None:
            budget.read += len(data)
            if budget.read > budget.max_bytes:
                raise ResponseTooLarge(budget.max_bytes)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(self._budgets, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.NetworkStream:
        stream = self._inner.start_tls(ssl_context, server_hostname, _clamp(self._budgets, timeout, httpcore.ConnectTimeout))
        return _Stream(stream, self._budgets)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _clamp(budgets: _Budgets, timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    """The operation's timeout cut to what is left of the request's deadline."""
    budget = budgets.current
    if budget is None:
        return timeout
    left = budget.deadline - time.monotonic()
    if left <= 0:
        raise error("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)
