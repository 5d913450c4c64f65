"""Password guessing slowed down, and password checks kept from stalling the page.

- Per client address, wrong passwords make the next attempt wait: the first FREE_FAILURES are
  typos, then 1 s, 2 s, 4 s ... up to MAX_WAIT (15 min) after each further one. An attempt that
  comes too soon is refused with 429 and Retry-After, before its password is looked at (no
  scrypt). One attempt per address is checked at a time. A right password clears the address.
  An address is an IPv4 address or an IPv6 /64 (what one machine usually gets); behind a trusted
  reverse proxy, the client's address it forwards (viewer.peer).
- At most CHECKS password checks run at once in the whole server (scrypt takes 64 MiB and ~0.6 s):
  an attempt beyond that is refused at once with 503 and Retry-After, so attempts never queue on
  the server's threads and the page keeps answering whoever is logged in.

Memory is bounded: at most MAX_CLIENTS addresses are remembered (the least recently seen is
forgotten first), and an address's failures are forgotten a day after its last one.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FREE_FAILURES = 3
FIRST_WAIT = 1.0
MAX_WAIT = 900.0
FORGET_AFTER = 24 * 3600.0
MAX_CLIENTS = 10_000
CHECKS = 1  # 64 MiB each on top of the service's ~200 MB; the machine may be a small one


class Refused(Exception):
    """An attempt refused before its password is checked: `status` (429 or 503), `retry_after` seconds."""

    def __init__(self, status: int, retry_after: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass
class _Client:
    failures: int = 0
    not_before: float = 0.0  # monotonic time before which an attempt is refused
    checking: bool = False
    last_failure: float = 0.0


def client_key(address: str) -> str:
    """The unit the backoff counts by: the address itself, or its /64 for IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:192.0.2.1 on a dual-stack socket is that IPv4 client
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def wait_after(failures: int) -> float:
    """How long an address waits after its `failures`-th wrong password in a row."""
    if failures <= FREE_FAILURES:
        return 0.0
    return min(FIRST_WAIT * 2.0 ** (failures - FREE_FAILURES - 1), MAX_WAIT)


class Throttle:
    """`admit(address)` before checking a password (raises Refused), then `settle(address, right)`."""

    def __init__(self, *, checks: int = CHECKS, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._slots = threading.BoundedSemaphore(checks)
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, _Client] = OrderedDict()

    def admit(self, address: str) -> None:
        key = client_key(address)
        now = self._clock()
        with self._lock:
            client = self._clients.get(key) or _Client()
            if client.failures and now - client.last_failure > FORGET_AFTER:
                client = _Client()
            if client.checking:
                raise Refused(429, 1, "a password from this address is being checked: wait for its answer")
            if now < client.not_before:
                wait = math.ceil(client.not_before - now)
                raise Refused(429, wait, f"too many wrong passwords: try again in {wait} s")
            if not self._slots.acquire(blocking=False):
                raise Refused(503, 1, "busy checking other passwords: try again in a moment")
            client.checking = True
            self._remember(key, client)

    def settle(self, address: str, right: bool) -> None:
        key = client_key(address)
        now = self._clock()
        with self._lock:
            client = self._clients.get(key) or _Client()
            client.checking = False
            if right:
                self._clients.pop(key, None)
            else:
                client.failures += 1
                client.last_failure = now
                client.not_before = now + wait_after(client.failures)
                self._remember(key, client)
            self._slots.release()

    def _remember(self, key: str, client: _Client) -> None:
        self._clients[key] = client
        self._clients.move_to_end(key)
        while len(self._clients) > MAX_CLIENTS:
            oldest = next(iter(self._clients))
            if self._clients[oldest].checking:  # its settle is coming: keep it, forget the next
                self._clients.move_to_end(oldest)
                continue
            del self._clients[oldest]
