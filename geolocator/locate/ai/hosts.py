"""Which Ollama server takes the next photo: a pool of servers, each with its own backoff and probe.

Pure state, no I/O and no lock: the AI worker holds its own lock around every call and passes the
time (`time.monotonic()`). A server takes up to `per_host` requests at once. One that fails a
request is paused alone, for a backoff that doubles with its consecutive failures, and is probed at
once and then every `probe_seconds`: a probe that answers after one that could not connect means
the server is back (its pause ends); a server that answers probes but fails requests (busy,
failing) keeps its pause. The other servers go on meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Host:
    """One server's state (mutable, owned by its pool)."""

    index: int  # its place in the configured list
    url: str
    in_flight: int = 0
    failures: int = 0  # consecutive failed requests
    paused_until: float = 0.0  # no request before this
    next_probe: float = 0.0
    probing: bool = False
    seen_down: bool = True  # a probe could not reach it since its last failure (at start: maybe from an earlier run)
    turn: int = 0  # when it was last picked, so free servers take turns


class HostPool:
    def __init__(self, urls: Sequence[str], per_host: int, delay: Callable[[int], float], probe_seconds: float | None) -> None:
        """`delay(failures)` is the pause after that many consecutive failures; `probe_seconds` None: no probes."""
        if not urls or per_host < 1:
            raise ValueError(f"a pool needs at least one server and per_host >= 1, got {len(urls)} and {per_host}")
        self.hosts = tuple(Host(index, url) for index, url in enumerate(urls))
        self.per_host = per_host
        self._delay = delay
        self._probe_seconds = probe_seconds
        self._turns = 0

    @property
    def in_flight(self) -> int:
        """Requests and probes under way."""
        return sum(h.in_flight + h.probing for h in self.hosts)

    def paused(self, host: Host, now: float) -> bool:
        return host.paused_until > now

    def all_paused(self, now: float) -> bool:
        return all(self.paused(h, now) for h in self.hosts)

    def pick(self, now: float) -> Host | None:
        """A server free to take a request now (the least busy, then the one that waited longest),
        counted as busy until `release`; None when every server is busy or paused."""
        free = [h for h in self.hosts if h.in_flight < self.per_host and not self.paused(h, now)]
        if not free:
            return None
        host = min(free, key=lambda h: (h.in_flight, h.turn))
        host.in_flight += 1
        self._turns += 1
        host.turn = self._turns
        return host

    def release(self, host: Host) -> None:
        host.in_flight -= 1

    def succeeded(self, host: Host) -> None:
        host.failures = 0

    def failed(self, host: Host, now: float) -> float:
        """Pause `host` alone after a failed request; the pause in seconds. It is probed at once: if it
        cannot be reached, the first probe that reaches it again ends the pause."""
        host.failures += 1
        pause = self._delay(host.failures)
        host.paused_until = now + pause
        host.seen_down = False
        host.next_probe = now
        return pause

    def end_pauses(self) -> None:
        """Every server may be asked at once (a person asked to retry now)."""
        for host in self.hosts:
            host.paused_until = 0.0

    def probe_due(self, now: float, waiting: bool) -> Host | None:
        """A server to probe now, marked as being probed until `probed`: a paused one whose probe is
        due, or (when photos wait for Ollama to come back) any whose probe is due."""
        if self._probe_seconds is None:
            return None
        for host in self.hosts:
            if not host.probing and host.next_probe <= now and (waiting or self.paused(host, now)):
                host.probing = True
                host.next_probe = now + self._probe_seconds
                return host
        return None

    def probed(self, host: Host, answered: bool) -> bool:
        """Record a probe's outcome; True when the server is back (it answered after having been
        unreachable): its pause ends, and photos that wait for Ollama may resume."""
        host.probing = False
        if not answered:
            host.seen_down = True
            return False
        if not host.seen_down:
            return False  # it answers probes but failed the request: the pause stands
        host.seen_down = False
        host.paused_until = 0.0
        host.failures = 0
        return True

    def next_change(self, now: float, waiting: bool) -> float | None:
        """Seconds until a paused server may be asked or probed again (or, when photos wait for
        Ollama, until the next probe); None when nothing is scheduled."""
        times = [h.paused_until for h in self.hosts if self.paused(h, now)]
        if self._probe_seconds is not None:
            times += [h.next_probe for h in self.hosts if not h.probing and (waiting or self.paused(h, now))]
        return max(0.0, min(times) - now) if times else None
