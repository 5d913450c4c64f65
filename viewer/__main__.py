"""`python -m viewer [--config FILE]`: serve only the map over an existing database.

For browsing a library while the daemon is stopped (the database is locked while it runs:
then the daemon's own map page is the one to use).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from geolocator.config import load_config
from geolocator.errors import GeolocatorError
from geolocator.store import Store
from viewer import ViewerServer, create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m viewer", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, metavar="FILE", help="config.toml (default: embedded defaults here)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("waitress").setLevel(logging.WARNING)
    try:
        config = load_config(args.config)
        store = Store(config.paths.database)
    except GeolocatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = ViewerServer(create_app(store, config), config.viewer.host, config.viewer.port)
    try:
        server.start()
        print(f"map: {server.url}", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"error: cannot listen on {config.viewer.host}:{config.viewer.port}: {exc}", file=sys.stderr)
        return 2
    finally:
        server.stop()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
