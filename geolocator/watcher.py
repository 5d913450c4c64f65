"""Watching the inbox: decides WHEN a file is ready; the pipeline decides what to do with it.

- watchdog's Observer (inotify) or PollingObserver (`watch.polling`, for network shares). The
  event handler only enqueues: everything else happens on one "settler" thread, so the state
  below needs no locks and an exception can never kill the observer.
- A file is ready once it has been quiet long enough. Quiet = size and mtime unchanged and no
  write event. How long:
  * after a close-after-write (inotify IN_CLOSE_WRITE), a rename inside the inbox, or a rename
    in from outside (inotify: "created" with no open), the content is complete: `CLOSE_QUIET`
    (0.2 s), only to catch a writer that immediately reopens;
  * a writer seen writing again after it closed, and every file known only from created or
    modified events or from a scan (polling, the backlog): `settle_seconds` since the last
    change, counted from the file's mtime when first seen, so a file moved in from elsewhere
    on the same filesystem (old mtime, no close-write) or found by a scan is ready at once.
- Ignored: names matching `watch.ignore` (fnmatch), anything inside a folder whose name matches
  (hidden folders), and the library/failed/duplicates folders should they sit in the inbox.
- Backlog at start, and a rescan every `rescan_minutes` (missed events, inotify overflow).
- A file someone holds open (more opens than closes seen) is not taken, however quiet, until it
  is closed or has been unchanged for `OPEN_PATIENCE` (a reader that never lets go).
- A path handed over stays "in flight" until the worker calls `done()`; events meanwhile are
  remembered and the path looked at again afterwards.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from geolocator.config import WatchConfig

log = logging.getLogger(__name__)

CLOSE_QUIET = 0.2  # seconds after a close-write (or rename in) before a file is taken
OPEN_PATIENCE = 120.0  # a file someone keeps open is taken only after this long without a change
TICK = 0.05  # how often pending files are looked at


def is_ignored(relative: Path, patterns: Iterable[str]) -> bool:
    """True when the file or any folder on its way (relative to the inbox) matches a pattern."""
    return any(fnmatch.fnmatchcase(part, pattern) for part in relative.parts for pattern in patterns)


def iter_inbox(inbox: Path, patterns: tuple[str, ...], recursive: bool = True, exclude: Iterable[Path] = ()) -> Iterator[Path]:
    """Files in the inbox that are not ignored, in a stable order."""
    excluded = {str(p) for p in exclude}
    for folder, dirs, files in os.walk(inbox):
        dirs[:] = sorted(d for d in dirs if recursive and not is_ignored(Path(d), patterns) and os.path.join(folder, d) not in excluded)
        for name in sorted(files):
            if not is_ignored(Path(name), patterns):
                yield Path(folder, name)


@dataclass
class Candidate:
    quiet_since: float  # monotonic time of the last change seen
    closed: bool = False  # a close-write or rename-in was the last thing seen
    reopened: bool = False  # written again after a close: give it the full settle time
    fresh: bool = False  # inotify said "created" and nothing else yet: renamed in, unless an open follows
    sig: tuple[int, int] | None = None  # (size, mtime_ns) at the last look
    opens: int = 0  # opens minus closes seen (inotify): > 0 while a writer may still hold it


class _Enqueue(FileSystemEventHandler):
    def __init__(self, inbox: queue.Queue[tuple[str, object]]) -> None:
        self._inbox = inbox

    def dispatch(self, event: FileSystemEvent) -> None:  # never raises
        self._inbox.put(("event", event))


class Watcher:
    """Calls `on_ready(path)` (from its own thread) for every inbox file once it is complete."""

    def __init__(
        self,
        inbox: Path,
        config: WatchConfig,
        on_ready: Callable[[Path], None],
        *,
        exclude: Iterable[Path] = (),
        observe: bool = True,
        poll_interval: float = 1.0,
    ) -> None:
        self.inbox = inbox
        self.config = config
        self._on_ready = on_ready
        self._exclude = [Path(p) for p in exclude]
        self._messages: queue.Queue[tuple[str, object]] = queue.Queue()  # unfinished_tasks: idle()
        self._candidates: dict[Path, Candidate] = {}
        self._in_flight: set[Path] = set()
        self._dirty: set[Path] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer = None
        self._inotify = observe and not config.polling
        self._poll_interval = poll_interval
        if observe:
            self._observer = PollingObserver(timeout=poll_interval) if config.polling else Observer()
            self._observer.schedule(_Enqueue(self._messages), str(inbox), recursive=config.recursive)
        self._rescan_every = config.rescan_minutes * 60
        self._next_rescan = 0.0
        self._busy = 0

    # -- control (any thread) --------------------------------------------------------------------
    def start(self) -> None:
        """Start watching, then take in the backlog (so nothing written meanwhile is missed)."""
        if self._observer is not None:
            try:
                self._observer.start()
            except OSError as exc:  # e.g. out of inotify watches (fs.inotify.max_user_watches)
                log.warning("cannot watch %s with inotify (%s): polling instead", self.inbox, exc)
                try:
                    self._observer.stop()  # whatever part of it started
                except Exception:
                    pass
                self._observer = PollingObserver(timeout=self._poll_interval)
                self._observer.schedule(_Enqueue(self._messages), str(self.inbox), recursive=self.config.recursive)
                self._inotify = False
                self._observer.start()
        self._messages.put(("scan", None))
        self._thread = threading.Thread(target=self._run, name="inbox-settler")
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._messages.put(("wake", None))
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
        if self._thread is not None:
            self._thread.join()

    def done(self, path: Path) -> None:
        """The worker finished with `path` (moved, or left in the inbox)."""
        self._messages.put(("done", path))

    def recheck(self, path: Path) -> None:
        """The worker found `path` not ready: give it the full settle time again."""
        self._messages.put(("recheck", path))

    def rescan(self) -> None:
        self._messages.put(("scan", None))

    def alive(self) -> bool:
        """Both the observer and the settler are running (for the systemd watchdog)."""
        observer_ok = self._observer is None or self._observer.is_alive()
        return observer_ok and self._thread is not None and self._thread.is_alive()

    def idle(self) -> bool:
        """Nothing pending, nothing in flight, no unhandled event (best effort, for tests)."""
        return self._busy == 0 and self._messages.unfinished_tasks == 0

    # -- the settler thread ----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._step()
            except Exception:  # keep watching whatever happens to one file
                log.exception("watcher error")
                time.sleep(TICK)

    def _step(self) -> None:
        now = time.monotonic()
        if self._rescan_every and now >= self._next_rescan:
            self._messages.put(("scan", None))
        timeout = TICK if self._candidates else 1.0
        handled = 0
        try:
            kind, payload = self._messages.get(timeout=timeout)
            handled += 1
            self._handle(kind, payload)
            while True:  # drain the burst before looking at files
                kind, payload = self._messages.get_nowait()
                handled += 1
                self._handle(kind, payload)
        except queue.Empty:
            pass
        finally:
            self._check()
            self._busy = len(self._candidates) + len(self._in_flight)
            for _ in range(handled):
                self._messages.task_done()

    def _handle(self, kind: str, payload: object) -> None:
        now = time.monotonic()
        if kind == "event":
            self._on_event(payload, now)  # type: ignore[arg-type]
        elif kind == "done":
            path = payload
            self._in_flight.discard(path)  # type: ignore[arg-type]
            if path in self._dirty:
                self._dirty.discard(path)  # type: ignore[arg-type]
                self._add(path, now)  # type: ignore[arg-type]
        elif kind == "recheck":
            self._in_flight.discard(payload)  # type: ignore[arg-type]
            self._dirty.discard(payload)  # type: ignore[arg-type]
            candidate = self._add(payload, now)  # type: ignore[arg-type]
            if candidate is not None:
                candidate.reopened = True
        elif kind == "scan":
            self._scan(self.inbox)
            self._next_rescan = now + self._rescan_every

    def _on_event(self, event: FileSystemEvent, now: float) -> None:
        src = Path(os.fsdecode(event.src_path))
        if isinstance(event, FileClosedEvent):
            candidate = self._add(src, now)
            if candidate is not None:
                candidate.closed, candidate.fresh, candidate.quiet_since = True, False, now
                candidate.opens = max(0, candidate.opens - 1)  # 0 too for a writer that opened it before we watched
                candidate.sig = None  # a change seen before this close is not a write after it
        elif isinstance(event, FileCreatedEvent):
            self._candidates.pop(src, None)  # (re)created: whatever a scan saw there is gone
            # New here. inotify reports a file renamed in from outside the inbox as "created"
            # with no open: complete, unless an open follows at once (a writer creating it).
            # Polling cannot tell: quiet counts from the mtime, so an old file is ready at once.
            candidate = self._add(src, now, self._age(src))
            if candidate is not None and self._inotify:
                candidate.closed = candidate.fresh = True
        elif isinstance(event, FileOpenedEvent):
            candidate = self._candidates.get(src)
            if candidate is not None:
                candidate.opens += 1
                if candidate.fresh:
                    candidate.closed = candidate.fresh = False
                    candidate.quiet_since = now
        elif isinstance(event, FileClosedNoWriteEvent):
            candidate = self._candidates.get(src)
            if candidate is not None:
                candidate.opens = max(0, candidate.opens - 1)
        elif isinstance(event, FileModifiedEvent):
            candidate = self._add(src, now)
            if candidate is not None:
                if candidate.fresh:
                    candidate.closed = candidate.fresh = False
                elif candidate.closed:
                    candidate.closed, candidate.reopened = False, True
                candidate.quiet_since = now
        elif isinstance(event, FileMovedEvent):
            self._candidates.pop(src, None)
            dest = Path(os.fsdecode(event.dest_path))
            candidate = self._add(dest, now)
            if candidate is not None:  # a rename is atomic: the content is complete
                candidate.closed, candidate.quiet_since = True, now
        elif isinstance(event, FileDeletedEvent):
            self._candidates.pop(src, None)
        elif isinstance(event, (DirCreatedEvent, DirMovedEvent)):
            folder = Path(os.fsdecode(event.dest_path)) if isinstance(event, DirMovedEvent) else src
            if self._watched(folder):
                self._scan(folder)

    def _watched(self, path: Path) -> bool:
        try:
            relative = path.relative_to(self.inbox)
        except ValueError:
            return False  # moved out of the inbox
        if not relative.parts or is_ignored(relative, self.config.ignore):
            return False
        if not self.config.recursive and len(relative.parts) > 1:
            return False
        return not any(path == ex or ex in path.parents for ex in self._exclude)

    def _add(self, path: Path, now: float, age: float = 0.0) -> Candidate | None:
        if not self._watched(path):
            return None
        if path in self._in_flight:
            self._dirty.add(path)
            return None
        candidate = self._candidates.get(path)
        if candidate is None:
            candidate = self._candidates[path] = Candidate(quiet_since=now - age)
        return candidate

    @staticmethod
    def _age(path: Path) -> float:
        """Seconds since the file was last modified (0 if it is gone or dated in the future)."""
        try:
            return max(0.0, time.time() - path.stat().st_mtime)
        except OSError:
            return 0.0

    def _scan(self, folder: Path) -> None:
        now = time.monotonic()
        for path in iter_inbox(folder, self.config.ignore, self.config.recursive, self._exclude):
            if path not in self._candidates and path not in self._in_flight:
                self._add(path, now, self._age(path))

    def _check(self) -> None:
        now = time.monotonic()
        for path, candidate in list(self._candidates.items()):
            try:
                st = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                del self._candidates[path]
                continue
            if not stat.S_ISREG(st.st_mode):
                del self._candidates[path]
                continue
            sig = (st.st_size, st.st_mtime_ns)
            if candidate.sig is not None and sig != candidate.sig:  # written without an event (polling)
                candidate.quiet_since = now
                if candidate.fresh:
                    candidate.closed = candidate.fresh = False
                elif candidate.closed:
                    candidate.closed, candidate.reopened = False, True
            candidate.sig = sig
            quiet = CLOSE_QUIET if candidate.closed and not candidate.reopened else self.config.settle_seconds
            if candidate.opens > 0:  # still open (a writer pausing, or a reader that keeps it)
                if now - candidate.quiet_since < OPEN_PATIENCE:
                    continue
                log.warning("%s has been open without a change for %.0f s: taking it", path, OPEN_PATIENCE)
            if now - candidate.quiet_since >= quiet:
                del self._candidates[path]
                self._in_flight.add(path)
                self._on_ready(path)
