"""`daemon.py map`: serve only the map over an existing database, until interrupted.

For browsing the library while the service is stopped (the service holds the database lock
while it runs, and then its own map page is the one to use: this command says where it is).
"""

from __future__ import annotations

import time
from typing import NoReturn

from geolocator.auth.password_file import page_password
from geolocator.config import Config
from geolocator.core import Core
from geolocator.errors import GeolocatorError
from geolocator.record.store import database_in_use

SIGNAL_CHECK_SECONDS = 0.5


def main(config: Config) -> NoReturn:
    """Serves until interrupted: Ctrl-C's KeyboardInterrupt ends it (the CLI's exit code 130)."""
    from viewer.app import create_app
    from viewer.server import ViewerServer

    page_password(config)  # refused (no password beyond this machine) before the database is opened
    if database_in_use(config.paths.database):
        raise GeolocatorError(running_service_message(config))
    with Core.open(config) as core:
        core.load_tracks()
        server = ViewerServer(create_app(core), config.viewer.host, config.viewer.port)
        try:
            server.start()
        except OSError as exc:
            raise GeolocatorError(f"cannot listen on {config.viewer.host}:{config.viewer.port}: {exc.strerror or exc}") from None
        try:
            print(f"map: {server.url}", flush=True)
            while True:
                # A timed sleep, never an endless wait: a signal landing just as a wait blocks is
                # only seen when the wait returns (CPython checks for it between bytecodes).
                time.sleep(SIGNAL_CHECK_SECONDS)
        finally:
            server.stop()


def running_service_message(config: Config) -> str:
    """What to do when a running geolocator holds the database: open its map."""
    viewer = config.viewer
    if not viewer.enabled:
        where = "it serves no map ([viewer] enabled = false): stop it to browse with `daemon.py map`"
    elif viewer.port == 0:
        where = f"its map is on {viewer.host}, on the port it printed at start (\"map: http://...\", [viewer] port = 0)"
    else:
        host = "127.0.0.1" if viewer.host in ("0.0.0.0", "::", "") else viewer.host  # noqa: S104 - bound to every address: reach it here
        host = f"[{host}]" if ":" in host else host
        where = f"open its map at http://{host}:{viewer.port}/"
    return f"geolocator is already running on {config.paths.database}: {where}"
