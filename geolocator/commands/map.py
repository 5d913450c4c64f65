"""`daemon.py map`: serve only the map over an existing database, until interrupted.

For browsing the library while the service is stopped (the service holds the database lock
while it runs, and then its own map page is the one to use).
"""

from __future__ import annotations

import threading

from geolocator.config import Config
from geolocator.core import Core
from geolocator.errors import GeolocatorError


def main(config: Config) -> int:
    from viewer.app import create_app
    from viewer.server import ViewerServer

    with Core.open(config) as core:
        core.load_tracks()
        server = ViewerServer(create_app(core), config.viewer.host, config.viewer.port)
        try:
            server.start()
        except OSError as exc:
            raise GeolocatorError(f"cannot listen on {config.viewer.host}:{config.viewer.port}: {exc.strerror or exc}") from None
        try:
            print(f"map: {server.url}", flush=True)
            threading.Event().wait()  # until Ctrl-C (KeyboardInterrupt, handled by the CLI)
        finally:
            server.stop()
    return 0
