"""Serve a WSGI app with waitress in a background thread, and stop it cleanly."""

from __future__ import annotations

import threading
from typing import Any

from waitress import wasyncore
from waitress.server import create_server


class ViewerServer:
    """`ViewerServer(app, "127.0.0.1", 0).start()` listens at once; `.url` names the real port."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 8765, threads: int = 4) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.threads = threads
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the viewer is not started")
        host = self._server.effective_host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"  # listening everywhere: loopback reaches it from here
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._server.effective_port}/"

    def start(self) -> ViewerServer:
        if self._server is not None:
            raise RuntimeError("the viewer is already started")
        # Binds now, so a busy port fails here rather than in the thread.
        self._server = create_server(
            self.app, host=self.host, port=self.port, threads=self.threads,
            ident="geolocator", clear_untrusted_proxy_headers=True, channel_timeout=30,
        )
        self._thread = threading.Thread(target=self._server.run, name="viewer-http")
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listening socket and every open connection, then wait for the threads."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        # Close the sockets from inside the event loop (the trigger runs thunks there), so the
        # loop never polls a descriptor another thread closed under it; an empty map ends it.
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            thread.join(timeout)
        except OSError:  # the trigger is already closed (the server closed itself): fall back below
            pass
        server.task_dispatcher.shutdown(timeout=timeout)
        if thread.is_alive():  # pragma: no cover - the loop did not wake: close from here
            wasyncore.close_all(server._map)
            thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> ViewerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
