"""The service (`run`) and the one-shot `scan`, wiring store, pipeline, watcher, AI worker, viewer.

Threads of the service: the watchdog observer, the inbox settler, `workers` ingest workers, the
AI worker, the map server, the store's compaction. Start order: folders, store, recovery of
interrupted moves, workers, watcher (its backlog scan comes after the observer is live, so a
file written meanwhile is seen either way). Stop order: watcher (no new work), ingest workers
(each finishes the photo in hand; queued files simply stay in the inbox), pending intents
flushed, AI worker, viewer, store (folded into the snapshot).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from geolocator.aiworker import AIWorker, Backoff
from geolocator.config import Config
from geolocator.errors import AIUnavailable, UnreadableImage
from geolocator.folders import Folders
from geolocator.notify import Notifier
from geolocator.pipeline import NotSettled, Pipeline
from geolocator.record import PhotoRecord, Status
from geolocator.store import Store, database_files
from geolocator.watcher import Watcher, iter_inbox

log = logging.getLogger(__name__)

FLUSH_EVERY = 64  # intents cleared with one fsync per this many photos (or when the queue is idle)
LEFT = "left"  # scan's count of files that stayed in the inbox
STATUS_ORDER = (Status.LOCATED, Status.UNLOCATED, Status.PENDING, Status.FAILED, Status.DUPLICATE)


def summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(s.value, 0)} {s.value}" for s in STATUS_ORDER)


def _own_files(config: Config) -> list[Path]:
    """Paths that may sit inside the inbox but are never photos: our folders and database files."""
    folders = Folders.from_config(config)
    return [folders.library, folders.failed, folders.duplicates, folders.thumbnails, *database_files(folders.database)]


def _warm_places() -> None:
    try:
        from geolocator import places

        places.gazetteer()
    except Exception:
        log.exception("loading place names failed")


class Service:
    def __init__(self, config: Config, *, workers: int = 2, backoff: Backoff = Backoff(), poll_interval: float = 1.0, viewer: bool | None = None) -> None:
        self.config = config
        self.folders = Folders.from_config(config)
        self._n_workers = workers
        self._backoff = backoff
        self._poll_interval = poll_interval
        self._viewer_enabled = config.viewer.enabled if viewer is None else viewer
        self._queue: queue.Queue[Path] = queue.Queue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.store: Store | None = None
        self.pipeline: Pipeline | None = None
        self.watcher: Watcher | None = None
        self.ai: AIWorker | None = None
        self.viewer = None
        self.map_url: str | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Service:
        self.folders.create()
        self.store = Store(self.config.paths.database)
        try:
            self.pipeline = Pipeline(self.store, self.config, on_finalised=self._on_finalised)
            self.pipeline.recover()
            if self.config.ollama.enabled:
                from geolocator.ai import AILocator

                self.ai = AIWorker(self.store, AILocator(self.config.ollama).estimate, self.folders.file_of, self._backoff)
                self.ai.start()
            for number in range(self._n_workers):
                thread = threading.Thread(target=self._work, name=f"ingest-{number + 1}")
                thread.start()
                self._threads.append(thread)
            self.watcher = Watcher(self.folders.inbox, self.config.watch, self._queue.put, exclude=_own_files(self.config), poll_interval=self._poll_interval)
            self.watcher.start()
            if self._viewer_enabled:
                self._start_viewer()
            threading.Thread(target=_warm_places, name="places-warmup", daemon=True).start()
        except BaseException:
            self.stop()
            raise
        log.info("watching %s (%s)", self.folders.inbox, "polling" if self.config.watch.polling else "inotify")
        return self

    def _start_viewer(self) -> None:
        from viewer.app import create_app
        from viewer.server import ViewerServer

        try:
            self.viewer = ViewerServer(create_app(self.store, self.config), self.config.viewer.host, self.config.viewer.port)
            self.viewer.start()
        except OSError as exc:  # the photos matter more than the map: keep ingesting
            log.error("map page not served on %s:%s: %s", self.config.viewer.host, self.config.viewer.port, exc)
            self.viewer = None
            return
        self.map_url = self.viewer.url

    def stop(self) -> None:
        self._stopping.set()
        if self.watcher is not None:
            self.watcher.stop()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        if self.pipeline is not None:
            self.pipeline.flush()
        if self.ai is not None:
            self.ai.stop()
        if self.viewer is not None:
            self.viewer.stop()
        if self.store is not None:
            self.store.close()
            self.store = None

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------------------
    def status(self) -> str:
        return summary(self.store.counts()) if self.store is not None else "stopped"

    def healthy(self) -> bool:
        """For the systemd watchdog: the watcher and every ingest worker alive."""
        watching = self.watcher is not None and self.watcher.alive()
        return watching and all(t.is_alive() for t in self._threads) and not self._stopping.is_set()

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0 and (self.watcher is None or self.watcher.idle())

    # -- ingest workers --------------------------------------------------------------------------
    def _on_finalised(self, records: list[PhotoRecord]) -> None:
        if self.ai is not None and any(r.status is Status.PENDING for r in records):
            self.ai.wake()

    def _work(self) -> None:
        since_flush = 0
        while not self._stopping.is_set():
            try:
                path = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                if self._stopping.is_set():
                    continue  # not started: it stays in the inbox for next time
                self._ingest(path)
                since_flush += 1
                if since_flush >= FLUSH_EVERY or self._queue.empty():
                    self.pipeline.flush()
                    since_flush = 0
            except Exception:
                log.exception("ingest of %s failed; it stays in the inbox", path)
            finally:
                self._queue.task_done()

    def _ingest(self, path: Path) -> None:
        try:
            self.pipeline.process(path)
        except NotSettled:
            log.info("%s is not readable yet (still being written?): waiting", path)
            self.watcher.recheck(path)
            return
        except BaseException:
            self.watcher.done(path)
            raise
        self.watcher.done(path)


# -- entry points --------------------------------------------------------------------------------
def run(config: Config) -> int:
    """The service, until SIGTERM or SIGINT. Exit 0 after a clean stop."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
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
        interval = min(notifier.watchdog_interval or 10.0, 10.0)
        while not stop.wait(interval):
            if service.healthy():
                notifier.watchdog()
            notifier.status(service.status())
        notifier.stopping()
    finally:
        service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("stopped")
    return 0


def _wait_settled(path: Path, settle: float) -> bool:
    """Wait until the file has not been modified for `settle` seconds; False if it vanished."""
    while True:
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return False
        if age >= settle:
            return True
        time.sleep(min(settle - age, 0.5))


def scan(config: Config) -> int:
    """Process what is in the inbox now, ask the AI about what it placed pending, and exit.
    Prints a summary line; exit 1 when some file failed or had to be left in the inbox."""
    from tqdm import tqdm

    folders = Folders.from_config(config)
    folders.create()
    counts: Counter[str] = Counter()
    with Store(config.paths.database) as store:
        pipeline = Pipeline(store, config)
        pipeline.recover()
        files = list(iter_inbox(folders.inbox, config.watch.ignore, config.watch.recursive, _own_files(config)))
        tty = sys.stderr.isatty()
        pending: list[PhotoRecord] = []
        with tqdm(files, desc="scan", unit="photo", disable=not tty, leave=False) as bar:
            for number, path in enumerate(bar, 1):
                record = None
                for _ in range(2):  # a second go once a young, unreadable file has settled
                    if not _wait_settled(path, config.watch.settle_seconds):
                        break
                    try:
                        record = pipeline.process(path)
                        break
                    except NotSettled:
                        continue
                if record is not None:
                    counts[record.status.value] += 1
                    if record.status is Status.PENDING:
                        pending.append(record)
                elif os.path.lexists(path):  # could not be processed now (logged): say so, exit 1
                    counts[LEFT] += 1
                if number % FLUSH_EVERY == 0:
                    pipeline.flush()
        pipeline.flush()
        if pending and config.ollama.enabled:
            _scan_ai(store, folders, config, pending, counts, tty)
    left = f", {counts[LEFT]} left in the inbox (see the log)" if counts[LEFT] else ""
    print(f"scan: {summary(counts)}{left}", flush=True)
    return 1 if counts[Status.FAILED.value] or counts[LEFT] else 0


def _scan_ai(store: Store, folders: Folders, config: Config, pending: list[PhotoRecord], counts: Counter[str], tty: bool) -> None:
    from tqdm import tqdm

    from geolocator.ai import AILocator
    from geolocator.aiworker import apply_estimate, apply_unavailable, apply_unreadable

    locator = AILocator(config.ollama)
    backoff = Backoff()
    for record in tqdm(pending, desc="AI", unit="photo", disable=not tty, leave=False):
        try:
            estimate = locator.estimate(folders.file_of(record))
        except AIUnavailable as exc:
            log.warning("AI unavailable: %s; %d photo(s) stay pending for the service to retry", exc, len(pending))
            store.update(record.id, lambda cur, reason=str(exc): apply_unavailable(cur, reason, backoff))
            return
        except (UnreadableImage, FileNotFoundError) as exc:
            stored = store.update(record.id, lambda cur, reason=str(exc): apply_unreadable(cur, reason))
        else:
            stored = store.update(record.id, lambda cur: apply_estimate(cur, estimate))
        if stored is not None and stored.status is not Status.PENDING:
            counts[Status.PENDING.value] -= 1
            counts[stored.status.value] += 1
