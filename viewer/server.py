"""Serve the WSGI app with cheroot in a background thread, and stop it cleanly.

cheroot, not waitress: waitress reads (and spools to disk) a whole request body before it calls
the app, so a refusal decided from the headers (403 without the token, 413 over the limit) would
come after a 900 MB body was written to a temporary file. cheroot calls the app once the headers
are in; the app refuses without reading, and `_Request` then closes the connection instead of
reading the rest of the body to keep it alive. Slow clients are kept away from the workers by
`gate.HeaderGate`.

Closing a socket with unread bytes makes the kernel send a reset, and a client still sending its
body (Python's urllib, requests, curl) then sees a broken pipe instead of our answer. So before
closing, a refused body of at most LINGER_BYTES is read and dropped (a "lingering close", as
Apache does), for at most LINGER_SECONDS, on at most LINGERING connections at once (the others'
threads stay free for the page). A larger body is closed on at once, as before: nothing of a
900 MB body announced without the token is read.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from cheroot import server as cheroot_server
from cheroot import wsgi

from viewer.gate import HeaderGate

TIMEOUT = 10.0  # seconds: an idle connection, one socket read, the headers to arrive
MAX_HEADERS = 16384
BACKLOG = 256
LINGER_BYTES = 8 << 20  # a photo or two: what a client sending without the token or over the limit may be sending
LINGER_SECONDS = 3.0
LINGERING = 2  # of the server's 8 threads
WAKE_EVERY = 0.02  # seconds between the connections that wake a stopping server's loop

log = logging.getLogger(__name__)


def linger(sock: socket.socket, rfile: Any, unread: int, deadline: float) -> int:
    """Tell the client the answer is complete (FIN), then read and drop up to `unread` bytes of its
    body until `deadline` (time.monotonic()) or its end; the number of bytes dropped."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return 0
    dropped = 0
    while dropped < unread:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            sock.settimeout(left)
            chunk = rfile.read1(min(65536, unread - dropped))  # what has come: read() would wait for all of it
        except OSError:  # a timeout or a reset: closed on as it is
            break
        if not chunk:
            break
        dropped += len(chunk)
    return dropped


class _Request(cheroot_server.HTTPRequest):
    def send_headers(self) -> None:
        # Answered before the body was read (a refused upload): close, never read the rest to keep alive.
        if self.chunked_read or getattr(self.rfile, "remaining", 0) > 0:
            self.close_connection = True
        super().send_headers()

    def respond(self) -> None:
        super().respond()
        unread = LINGER_BYTES if self.chunked_read else getattr(self.rfile, "remaining", 0)
        if not self.close_connection or not 0 < unread <= LINGER_BYTES:
            return
        lingering: threading.BoundedSemaphore = self.server.lingering
        if not lingering.acquire(blocking=False):
            return
        try:
            linger(self.conn.socket, self.conn.rfile, unread, time.monotonic() + self.server.linger_seconds)
        finally:
            lingering.release()


class _Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _Request


class _Server(wsgi.Server):
    ConnectionClass = _Connection

    def __init__(self, *args: Any, linger_seconds: float, lingering: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.linger_seconds = linger_seconds
        self.gate = HeaderGate(super().process_conn, self.put_conn, limit=MAX_HEADERS, deadline=self.timeout)
        self.lingering = threading.BoundedSemaphore(lingering)

    def process_conn(self, conn: Any) -> None:
        self.gate.admit(conn)

    def stop(self) -> None:
        # cheroot's selector loop notices a stop only when its select() wakes, up to
        # `expiration_interval` (0.5 s) later: cheroot touches the listening socket to wake it only
        # after it has waited for the loop to end. Connections of our own, until the stop is done,
        # wake it at once.
        stopped = threading.Event()
        waker = threading.Thread(target=self._wake_until, args=(stopped,), name="viewer-stop-waker")
        waker.start()
        try:
            super().stop()
        finally:
            stopped.set()
            waker.join()

    def _wake_until(self, stopped: threading.Event) -> None:
        host, port = self.bind_addr[:2]
        if host in ("0.0.0.0", "::"):  # noqa: S104 - listening everywhere: loopback reaches it
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"  # noqa: S104
        while not stopped.wait(WAKE_EVERY):
            try:
                socket.create_connection((host, port), timeout=WAKE_EVERY).close()
            except OSError:  # the listening socket is closed: the loop has stopped
                return

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        log.log(level, "%s", msg, exc_info=traceback)  # cheroot writes to stderr by default


class ViewerServer:
    """`ViewerServer(app, "127.0.0.1", 0).start()` listens at once; `.url` names the real port."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 8765, threads: int = 8, timeout: float = TIMEOUT,
        linger_seconds: float = LINGER_SECONDS, lingering: int = LINGERING,
    ) -> None:
        self.app = app
        self.linger_seconds = linger_seconds
        self.lingering = lingering
        self.host = host
        self.port = port
        self.threads = threads
        self.timeout = timeout
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the viewer is not started")
        host, port = self._server.bind_addr[:2]
        if host in ("0.0.0.0", "::"):  # noqa: S104 - listening everywhere: loopback reaches it from here
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/"

    def start(self) -> ViewerServer:
        if self._server is not None:
            raise RuntimeError("the viewer is already started")
        server = _Server(
            (self.host, self.port), self.app, numthreads=self.threads, server_name="geolocator",
            timeout=self.timeout, request_queue_size=BACKLOG, linger_seconds=self.linger_seconds, lingering=self.lingering,
        )
        server.max_request_header_size = MAX_HEADERS
        server.prepare()  # binds now, so a busy port fails here rather than in the thread
        server.gate.start()
        self._server = server
        self._thread = threading.Thread(target=server.serve, name="viewer-http")
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listening socket and every open connection, then wait for the threads."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown_timeout = timeout
        server.stop()
        server.gate.stop()
        thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> ViewerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
