"""Hand a connection to a worker thread only once its request headers have all arrived.

cheroot gives each accepted connection to a worker, which then blocks reading the headers: a
hundred clients that connect and send nothing, or drip a header a byte at a time, would hold
every worker and lock the page. Here a connection with nothing to read waits in cheroot's
selector (closed after the server's timeout); one with part of its headers waits here, looked at
a few times a second, and is closed if its headers are not complete within `deadline` seconds.
Workers only ever get a request whose headers are complete (or a closed connection to reap).
"""

from __future__ import annotations

import enum
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

HEADERS_END = b"\r\n\r\n"


class Arrived(enum.Enum):
    NOTHING = "nothing"  # no byte to read yet
    PART = "part"  # some of the headers
    HEADERS = "headers"  # the headers are complete, or more than a server accepts: a worker answers
    CLOSED = "closed"  # the client hung up or the socket failed: a worker reaps it


def arrived(sock: socket.socket, limit: int) -> Arrived:
    """What the client has sent so far, looked at without taking it off the socket."""
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if not poller.poll(0):
            return Arrived.NOTHING
        data = sock.recv(limit, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return Arrived.NOTHING
    except (OSError, ValueError):
        return Arrived.CLOSED
    if not data:
        return Arrived.CLOSED
    if HEADERS_END in data or len(data) >= limit:
        return Arrived.HEADERS
    return Arrived.PART


class HeaderGate:
    """`admit(conn)` instead of dispatching it; `dispatch` gives it to a worker, `idle` to the selector."""

    def __init__(self, dispatch: Callable[[Any], None], idle: Callable[[Any], None], *,
                 limit: int = 16384, deadline: float = 10.0, interval: float = 0.1, max_waiting: int = 1000) -> None:
        self._dispatch = dispatch
        self._idle = idle
        self._limit = limit
        self._deadline = deadline
        self._interval = interval
        self._max_waiting = max_waiting
        self._waiting: dict[Any, float] = {}  # connection -> when it must have sent its headers
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # set when a connection starts waiting, or to stop
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="viewer-header-gate")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            waiting, self._waiting = list(self._waiting), {}
        for conn in waiting:
            conn.close()

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def admit(self, conn: Any) -> None:
        if conn.rfile.has_data():  # a pipelined request already read into cheroot's buffer
            self._dispatch(conn)
            return
        match arrived(conn.socket, self._limit):
            case Arrived.HEADERS | Arrived.CLOSED:
                self._dispatch(conn)
            case Arrived.NOTHING:
                self._idle(conn)
            case Arrived.PART:
                with self._lock:
                    full = len(self._waiting) >= self._max_waiting
                    if not full:
                        self._waiting.setdefault(conn, time.monotonic() + self._deadline)
                        self._wake.set()
                if full:
                    log.warning("too many connections sending their headers slowly: closing one")
                    conn.close()

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                waiting = list(self._waiting.items())
                if not waiting:
                    self._wake.clear()
            if not waiting:
                # Nothing to look at: sleep until a connection waits here. `stop` sets _stop before
                # _wake, so a wake cleared just above is seen here as a stop, never lost.
                if not self._stop.is_set():
                    self._wake.wait()
                continue
            now = time.monotonic()
            for conn, deadline in waiting:
                state = arrived(conn.socket, self._limit)
                if state is Arrived.PART and now < deadline:
                    continue
                with self._lock:
                    del self._waiting[conn]
                match state:
                    case Arrived.HEADERS | Arrived.CLOSED:
                        self._dispatch(conn)
                    case Arrived.NOTHING:  # cannot happen (peeked bytes stay), but would be idle
                        self._idle(conn)
                    case Arrived.PART:
                        conn.close()  # headers not complete in time
