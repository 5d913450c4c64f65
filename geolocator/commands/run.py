"""`daemon.py run` (the default): the service until SIGTERM or SIGINT, speaking sd_notify.

The watchdog is pinged only while the service is healthy; when it is not (the store cannot
write, a worker died) the pings stop, so systemd restarts it, and STATUS says why meanwhile.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from geolocator.commands.notify import Notifier
from geolocator.config import Config
from geolocator.service import Service

log = logging.getLogger(__name__)

MAX_CHECK_INTERVAL = 10.0  # seconds between health checks without a systemd watchdog


def main(config: Config) -> int:
    """Exit 0 after a clean stop."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s: finishing the photo in hand, then stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    notifier = Notifier()
    service = Service(config)
    try:
        service.start()
        if service.map_url:
            print(f"map: {service.map_url}", flush=True)
        notifier.ready(service.status())
        log.info("ready: %s", service.status())
        interval = min(notifier.watchdog_interval or MAX_CHECK_INTERVAL, MAX_CHECK_INTERVAL)
        reported: str | None = None
        while not stop.wait(interval):
            problem = service.problem()
            if problem is None:
                notifier.watchdog()
            if problem != reported:  # log changes of health once, not at every check
                if problem is not None:
                    log.error("unhealthy: %s", problem)
                else:
                    log.info("healthy again")
                reported = problem
            notifier.status(service.status())
        notifier.stopping()
    finally:
        try:
            service.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    log.info("stopped")
    return 0
