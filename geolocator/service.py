"""The service: store, pipeline, watcher, AI worker and viewer wired together, started and stopped.

Threads of the service: the watchdog observer, the inbox settler, `workers` ingest workers, the
AI worker, the map server, the store's compaction. Start order: the password check, store, folders, recovery of
interrupted moves, workers, watcher (its backlog scan comes after the observer is live, so a
file written meanwhile is seen either way). Stop order: watcher (no new work), ingest workers
(each finishes the files in hand; queued files simply stay in the inbox), pending intents
flushed, AI worker, viewer, store (folded into the snapshot). Every step of stopping runs even
when one before it fails (a full disk), so SIGTERM always ends the process.

Healthy (for the systemd watchdog) means: the watcher and every ingest worker alive, and the
store able to write. `problem()` says what is wrong; the STATUS line carries it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from geolocator.auth.password_file import page_password, password_path
from geolocator.config import Config
from geolocator.core import Core
from geolocator.errors import GeolocatorError
from geolocator.folders import Folders, sessions_path
from geolocator.locations.ai_queue import AIWorker, Backoff, servers_for
from geolocator.pipeline import Pipeline
from geolocator.record import OWED, Status
from geolocator.record.events import Event, Sent
from geolocator.record.store import MISSING, Store, database_files
from geolocator.watch.watcher import Watcher, shown

if TYPE_CHECKING:
    from viewer.server import ViewerServer

log = logging.getLogger(__name__)

FLUSH_EVERY = 64  # intents cleared with one fsync per this many photos (or when the queue is idle)
INGEST_GROUP = 32  # queued files a worker takes at once: their intents are written with one fsync
IDLE_POLL = 0.2  # seconds without a file that make the inbox quiet, while pictures are owed
IDLE_COMPARE = 8  # pictures of photos filed hashed at a time while the inbox is quiet (a file arriving waits at most for these)
DEFAULT_BACKOFF = Backoff()
STATUS_ORDER = (Status.LOCATED, Status.UNLOCATED, Status.PENDING, Status.FAILED, Status.DUPLICATE)


def summary(counts: dict[str, int]) -> str:
    missing = f", {counts[MISSING]} {MISSING}" if counts.get(MISSING) else ""  # in place only
    return ", ".join(f"{counts.get(s.value, 0)} {s.value}" for s in STATUS_ORDER) + missing


def own_files(config: Config) -> list[Path]:
    """Paths that may sit inside the inbox but are never photos: our folders and database files.
    In place the library, failed/ and duplicates/ are not ours to leave out (nothing goes there):
    an archive may hold a folder of that name."""
    folders = Folders.from_config(config)
    ours = [folders.thumbnails, folders.track_cache, *database_files(folders.database), password_path(config), sessions_path(folders.database)]
    return [folders.library, folders.failed, folders.duplicates, *ours] if folders.move else ours


def _warm_places() -> None:
    try:
        from geolocator.locate import places

        places.gazetteer()
    except Exception:
        log.exception("loading place names failed")


class Waits:
    """The log of files waiting to be taken (still being written, cut short, a sidecar whose photo
    has not come): one line when a file starts waiting, and when its reason changes; one when it
    ends. Not one at every look (a file cut short is looked at every half second for minutes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[Path, tuple[float, str]] = {}

    def started(self, path: Path, reason: str) -> None:
        with self._lock:
            before = self._waiting.get(path)
            if before is None or before[1] != reason:
                self._waiting[path] = (before[0] if before else time.monotonic(), reason)
        if before is None or before[1] != reason:
            log.info("%s: waiting: %s", shown(path), reason)

    def ended(self, path: Path) -> None:
        with self._lock:
            since = self._waiting.pop(path, None)
        if since is not None:
            log.info("%s: waited %.0f s, taken now", shown(path), time.monotonic() - since[0])


class Service:
    def __init__(self, config: Config, *, workers: int = 2, backoff: Backoff = DEFAULT_BACKOFF, poll_interval: float = 1.0, viewer: bool | None = None) -> None:
        self.config = config
        self.folders = Folders.from_config(config)
        self._n_workers = workers
        self._backoff = backoff
        self._poll_interval = poll_interval
        self._viewer_enabled = config.viewer.enabled if viewer is None else viewer
        self._queue: queue.Queue[Path | None] = queue.Queue()  # None: a worker's cue to stop
        self._waits = Waits()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._owed_lock = threading.Lock()
        self._owed_from_store = False
        self.core: Core | None = None
        self.store: Store | None = None
        self.pipeline: Pipeline | None = None
        self.watcher: Watcher | None = None
        self.ai: AIWorker | None = None
        self.viewer: ViewerServer | None = None
        self.map_url: str | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Service:
        # What makes the service refuse to start is found before anything is created: no password
        # for a page served beyond this machine, then a damaged database (before any folder is made).
        if self._viewer_enabled:
            page_password(self.config)
        core = self.core = Core.open(self.config)
        self.store = core.store
        try:
            self.folders.create()
            pipeline = self.pipeline = Pipeline(core)
            pipeline.recover()
            if self.config.ollama.enabled:
                self.ai = AIWorker(core.locations, servers_for(self.config.ollama), self.folders.file_of, self._backoff, per_host=self.config.ollama.per_host)
                core.events.subscribe(Event.MOVES_DONE, "waking the AI for new photos", self._wake_ai)
                core.events.subscribe(Event.LOCATION_CHANGED, "waking the AI for photos back in its queue", self._wake_ai)
                self.ai.start()
            self.watcher = Watcher(
                self.folders.inbox, self.config.watch, self._queue.put, exclude=own_files(self.config), poll_interval=self._poll_interval, known=core.archive
            )
            for number in range(self._n_workers):
                thread = threading.Thread(target=self._work, args=(pipeline, self.watcher), name=f"ingest-{number + 1}")
                thread.start()
                self._threads.append(thread)
            self.watcher.start()
            if self._viewer_enabled:
                self._start_viewer(core)
            threading.Thread(target=_warm_places, name="places-warmup", daemon=True).start()
        except BaseException:
            self.stop()
            raise
        log.info("watching %s (%s)", self.folders.inbox, self.watcher.observing.value)  # polling also when inotify ran out
        return self

    def _start_viewer(self, core: Core) -> None:
        from viewer.app import create_app
        from viewer.server import ViewerServer

        viewer = ViewerServer(create_app(core, ai=self.ai), self.config.viewer.host, self.config.viewer.port)
        try:
            viewer.start()
        except OSError as exc:  # the photos matter more than the map: keep ingesting
            log.error("map page not served on %s:%s: %s", self.config.viewer.host, self.config.viewer.port, exc)
            return
        self.viewer = viewer
        self.map_url = viewer.url

    def stop(self) -> None:
        """Stop everything, in order. Each step runs even if an earlier one raised (ExitStack
        runs every callback, last pushed first, and re-raises afterwards)."""
        self._stopping.set()
        with ExitStack() as steps:
            if self.store is not None:
                steps.callback(self._close_store)
            if self.viewer is not None:
                steps.callback(self.viewer.stop)
            if self.ai is not None:
                steps.callback(self.ai.stop)
            if self.pipeline is not None:
                steps.callback(self._flush, self.pipeline)
            steps.callback(self._join_workers)
            if self.watcher is not None:
                steps.callback(self.watcher.stop)

    def _join_workers(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def _close_store(self) -> None:
        if self.core is not None:
            self.core.close()
            self.core = self.store = None

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------------------
    def status(self) -> str:
        if self.store is None:
            return "stopped"
        problem = self.problem()
        counts = summary(self.store.counts())
        return counts if problem is None else f"unhealthy: {problem}; {counts}"

    def problem(self) -> str | None:
        """Why the service cannot do its work now (the systemd watchdog stops), or None."""
        if self._stopping.is_set() or self.store is None:
            return "stopped"
        if self.store.problem is not None:
            return self.store.problem
        if self.watcher is None or not self.watcher.alive():
            return "the inbox is no longer watched"
        dead = [t.name for t in self._threads if not t.is_alive()]
        if dead:
            return f"ingest worker stopped: {', '.join(dead)}"
        return None

    def healthy(self) -> bool:
        return self.problem() is None

    def idle(self) -> bool:
        """Nothing queued or being filed, nor any photo filed waiting for its picture to be compared."""
        copies = self.core.copies if self.core is not None else None
        return self._queue.unfinished_tasks == 0 and (self.watcher is None or self.watcher.idle()) and not (copies is not None and copies.owes())

    # -- ingest workers --------------------------------------------------------------------------
    def _wake_ai(self, sent: Sent) -> None:
        if self.ai is not None and any(r.status is Status.PENDING for r in sent.records):
            self.ai.wake()

    def _work(self, pipeline: Pipeline, watcher: Watcher) -> None:
        since_flush = 0
        stop = False
        while not stop:
            try:  # blocks while nothing is owed: stop() queues a None for each worker
                first = self._queue.get(timeout=IDLE_POLL) if self._owes(pipeline) else self._queue.get()
            except queue.Empty:
                self._compare_filed(pipeline)
                continue
            items = [first]
            try:  # what is queued besides (a backlog, a burst) is taken along: one fsync for the group
                while items[-1] is not None and len(items) < INGEST_GROUP:
                    items.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            paths = [item for item in items if item is not None]
            stop = len(paths) < len(items)
            try:
                if paths and not self._stopping.is_set():  # once stopping, files stay in the inbox for next time
                    self._ingest_group(pipeline, watcher, paths)
                    since_flush += len(paths)
            finally:
                for _ in items:
                    self._queue.task_done()
            if since_flush >= FLUSH_EVERY or (since_flush and self._queue.empty()):
                self._flush(pipeline)
                since_flush = 0

    def _owes(self, pipeline: Pipeline) -> bool:
        """Pictures of photos filed are left to compare (or the store not yet asked for them)."""
        copies = pipeline.core.copies
        return copies is not None and (not self._owed_from_store or copies.owes())

    def _compare_filed(self, pipeline: Pipeline) -> None:
        """While the inbox is quiet: the pictures of photos filed without them, a few at a time
        (a file arriving is taken first). The photos a previous run left so (stopped before
        their turn) are owed from the store at the first."""
        copies, locations = pipeline.core.copies, pipeline.core.locations
        if copies is None:
            return
        with self._owed_lock:
            if not self._owed_from_store:
                self._owed_from_store = True
                copies.owe(r.id for r in pipeline.store.all() if r.phash == OWED)
        while copies.owes() and self._queue.empty() and not self._stopping.is_set():
            try:
                if not locations.compare_filed(IDLE_COMPARE):
                    return  # what is owed is being hashed by another worker
            except Exception:  # a bug: the photos are filed; their copies wait for the next start
                log.exception("comparing the pictures of photos filed failed unexpectedly")
                return

    @staticmethod
    def _flush(pipeline: Pipeline) -> None:
        """Clear the intents of finished moves; when the store cannot write they are kept for
        the next flush (or the next start's recovery), the photos being in place already."""
        try:
            pipeline.flush()
        except (OSError, GeolocatorError) as exc:
            log.error("cannot record that moved photos are in place (%s); they stay marked as moving until the next try", exc)

    def _ingest_group(self, pipeline: Pipeline, watcher: Watcher, paths: list[Path]) -> None:
        """Files taken from the queue together, through `Pipeline.process_each` (one fsync for
        their intents; each file alone should the group fail unexpectedly)."""
        for outcome in pipeline.process_each(paths):
            if outcome.waiting is not None:
                self._waits.started(outcome.source, str(outcome.waiting))
                watcher.recheck(outcome.source)
            else:
                self._waits.ended(outcome.source)
                watcher.done(outcome.source)
