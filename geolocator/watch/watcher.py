"""Watching the inbox: decides WHEN a file is ready; the pipeline decides what to do with it.

- watchdog's Observer (inotify) or PollingObserver (`watch.polling`, for network shares). The
  event handler only enqueues a message: everything else happens on one "settler" thread, so the
  state below needs no locks and an exception can never kill the observer.
- A file is ready once it has been quiet long enough. Quiet = size and mtime unchanged and no
  write event. How long depends on its `Phase`, what was last seen of it:
  * after a close-after-write (inotify IN_CLOSE_WRITE), a rename inside the inbox, or a rename
    in from outside (inotify: "created" with no open), the content is complete: `CLOSE_QUIET`
    (0.2 s), only to catch a writer that immediately reopens;
  * a writer seen writing again after it closed, and every file known only from created or
    modified events or from a scan (polling, the backlog): `settle_seconds` since the last
    change, counted from the file's mtime when first seen, so a file moved in from elsewhere
    on the same filesystem (old mtime, no close-write) or found by a scan is ready at once.
- Ignored: names matching `watch.ignore` (fnmatch), anything inside a folder whose name matches
  (hidden folders), and the library/failed/duplicates folders should they sit in the inbox.
- Backlog at start, a rescan at once when inotify's queue overflowed (its dropped events never
  come), and a rescan every `rescan_minutes` as a safety net (missed events).
- The inbox deleted (or moved away) and made again: watchdog stops watching it, so the watch is
  set up again as soon as the folder is back, and the folder scanned.
- A file someone holds open (more opens than closes seen) is not taken, however quiet, until it
  is closed or has been unchanged for `OPEN_PATIENCE` (a reader that never lets go).
- A path handed over stays "in flight" until the worker calls `done()`; events meanwhile are
  remembered and the path looked at again afterwards.
- Names need not be UTF-8: paths carry undecodable bytes as surrogates (os.fsdecode), which
  os.fsencode turns back into the real bytes; log lines show them as \\xNN.
- An archive indexed in place (`[library] move = false`) is `known`: a file recorded as it is
  (same size, mtime and inode) or renamed within the tree is never handed over, so neither a
  start nor a rescan reads recorded files again; deletes and renames are told to it as they
  come, and after each whole scan it marks what it did not see (`geolocator.move.in_place`).
"""

from __future__ import annotations

import enum
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
from typing import Protocol

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
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
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from geolocator.config import WatchConfig

log = logging.getLogger(__name__)

CLOSE_QUIET = 0.2  # seconds after a close-write (or rename in) before a file is taken
OPEN_PATIENCE = 120.0  # a file someone keeps open is taken only after this long without a change
TICK = 0.05  # how often pending files are looked at (and a missing inbox looked for)
INBOX_CHECK = 1.0  # how often the inbox is checked to be the folder being watched
REWATCH_RETRY = 10.0  # after a failure to watch the inbox again, try again this much later


def is_ignored(relative: Path, patterns: Iterable[str]) -> bool:
    """True when the file or any folder on its way (relative to the inbox) matches a pattern."""
    return any(fnmatch.fnmatchcase(part, pattern) for part in relative.parts for pattern in patterns)


def iter_inbox(inbox: Path, patterns: tuple[str, ...], recursive: bool = True, exclude: Iterable[Path] = ()) -> Iterator[Path]:
    """Files in the inbox that are not ignored, in a stable order."""
    excluded = {str(p) for p in exclude}
    for folder, dirs, files in os.walk(inbox):
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]  # never followed: filed as links
        dirs[:] = sorted(d for d in dirs if d not in links and recursive and not is_ignored(Path(d), patterns) and os.path.join(folder, d) not in excluded)
        for name in sorted(files + links):
            if not is_ignored(Path(name), patterns):
                yield Path(folder, name)


class Known(Protocol):
    """What an archive indexed in place knows of its files (geolocator.move.in_place.Archive)."""

    def unchanged(self, path: Path, st: os.stat_result) -> bool: ...  # nothing to read: skip it

    def moved(self, src: Path, dest: Path) -> bool: ...  # a rename within the tree it followed

    def gone(self, path: Path, folder: bool = False) -> None: ...

    def scan_started(self) -> None: ...

    def scan_ended(self) -> None: ...  # the whole inbox was walked: what was not seen is looked for

    def pending(self) -> bool: ...

    def flush(self) -> object: ...  # write what was found (a failure is its own to log: never raises)


def shown(path: Path) -> str:
    """`path` for a log line: bytes that are not UTF-8 as \\xNN, control characters escaped (no forged lines)."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class Observing(enum.Enum):
    """How the watcher learns of changes in the inbox."""

    INOTIFY = "inotify"  # watchdog's Observer: every event, opens and closes included
    POLLING = "polling"  # watchdog's PollingObserver (`watch.polling`, or inotify out of instances): no opens or closes
    SCANS = "scans"  # no observer: the backlog and the rescans only


# -- what is known of a pending file (pure) ------------------------------------------------------
class Phase(enum.Enum):
    """What was last seen of a pending file; decides how long it must stay quiet."""

    ARRIVED = "arrived"  # inotify "created" and nothing since: renamed in from outside, unless an open follows
    CLOSED = "closed"  # closed after writing, or renamed inside the inbox: the content is complete
    SEEN = "seen"  # known only from created/modified events or a scan
    REWRITTEN = "rewritten"  # written again after a close, or the worker found it not ready: settle time from now on


class Change(enum.Enum):
    OPENED = "opened"
    WRITTEN = "written"  # a modify event, or size/mtime changed without one
    CLOSED = "closed"  # closed after writing, or renamed to this path
    NOT_READY = "not ready"  # the worker could not take it yet


def after(phase: Phase, change: Change) -> Phase:
    """The phase of a file in `phase` once `change` is seen."""
    match change:
        case Change.OPENED:  # an arrived file being opened is being written, not renamed in
            return Phase.SEEN if phase is Phase.ARRIVED else phase
        case Change.WRITTEN:
            return Phase.REWRITTEN if phase in (Phase.CLOSED, Phase.REWRITTEN) else Phase.SEEN
        case Change.CLOSED:
            return phase if phase is Phase.REWRITTEN else Phase.CLOSED
        case Change.NOT_READY:
            return Phase.REWRITTEN


def quiet_needed(phase: Phase, settle_seconds: float) -> float:
    """Seconds a file in `phase` must stay unchanged before it is taken."""
    match phase:
        case Phase.ARRIVED | Phase.CLOSED:
            return CLOSE_QUIET
        case Phase.SEEN | Phase.REWRITTEN:
            return settle_seconds


@dataclass
class Candidate:
    """A pending file (owned by the settler thread)."""

    phase: Phase
    quiet_since: float  # monotonic time of the last change seen
    sig: tuple[int, int] | None = None  # (size, mtime_ns) at the last look
    opens: int = 0  # opens minus closes seen (inotify): a count, as a reader and a writer may both hold it

    def see(self, change: Change, now: float) -> None:
        self.phase = after(self.phase, change)
        self.quiet_since = now


# -- messages to the settler thread --------------------------------------------------------------
@dataclass(frozen=True)
class Observed:
    event: FileSystemEvent


@dataclass(frozen=True)
class Done:
    path: Path


@dataclass(frozen=True)
class NotReady:
    path: Path


@dataclass(frozen=True)
class Rescan:
    pass


@dataclass(frozen=True)
class Wake:
    pass


Message = Observed | Done | NotReady | Rescan | Wake


@dataclass(frozen=True)
class WatchStatus:
    """What the settler thread holds, published after each step (read from any thread)."""

    pending: int = 0  # files waiting to be quiet
    in_flight: int = 0  # handed over, the worker not done yet
    changed_in_flight: int = 0  # changed while in flight: looked at again once done
    watching: bool = False  # an observer is watching the inbox (False while the inbox is missing)


class _Enqueue(FileSystemEventHandler):
    def __init__(self, messages: queue.Queue[Message]) -> None:
        self._messages = messages

    def dispatch(self, event: FileSystemEvent) -> None:  # never raises
        self._messages.put(Observed(event))


class _OverflowAlarm(logging.Handler):
    """A rescan at once when the kernel's inotify queue overflowed (20k files moved in at once):
    the events of the files it dropped never come. watchdog rebuilds its watches then, but tells
    its event handlers nothing; the warning it logs is the only sign of it."""

    LOGGER = "watchdog.observers.inotify_c"

    def __init__(self, messages: queue.Queue[Message]) -> None:
        super().__init__(logging.WARNING)
        self._messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("Inotify queue overflowed"):
            self._messages.put(Rescan())


def _identity(folder: Path) -> tuple[int, int] | None:
    """(device, inode) of `folder`, or None when it is not there as a folder."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


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
        known: Known | None = None,
    ) -> None:
        self.inbox = inbox
        self._known = known
        self.config = config
        self._on_ready = on_ready
        self._exclude = [Path(p) for p in exclude]
        self._messages: queue.Queue[Message] = queue.Queue()  # unfinished_tasks: idle()
        self._candidates: dict[Path, Candidate] = {}
        self._in_flight: set[Path] = set()
        self._dirty: set[Path] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: BaseObserver | None = None
        self._watch: ObservedWatch | None = None  # None while the inbox is not watched
        self._watched_as: tuple[int, int] | None = None  # the inbox's identity when the watch was set up
        self._next_inbox_check = 0.0
        self.observing = Observing.SCANS if not observe else Observing.POLLING if config.polling else Observing.INOTIFY
        self._poll_interval = poll_interval
        self._rescan_every = config.rescan_minutes * 60
        self._next_rescan = 0.0
        self._status = WatchStatus()
        self._overflow = _OverflowAlarm(self._messages)

    # -- control (any thread) --------------------------------------------------------------------
    def start(self) -> None:
        """Start watching, then take in the backlog (so nothing written meanwhile is missed)."""
        if self.observing is not Observing.SCANS:
            logging.getLogger(_OverflowAlarm.LOGGER).addHandler(self._overflow)
            self._start_observer()
        self._messages.put(Rescan())
        self._thread = threading.Thread(target=self._run, name="inbox-settler")
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._messages.put(Wake())
        if self._thread is not None:
            self._thread.join()  # first: the settler may be setting up a watch
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
        logging.getLogger(_OverflowAlarm.LOGGER).removeHandler(self._overflow)

    def done(self, path: Path) -> None:
        """The worker finished with `path` (moved, or left in the inbox)."""
        self._messages.put(Done(path))

    def recheck(self, path: Path) -> None:
        """The worker found `path` not ready: give it the full settle time again."""
        self._messages.put(NotReady(path))

    def rescan(self) -> None:
        self._messages.put(Rescan())

    def alive(self) -> bool:
        """Both the observer and the settler are running (for the systemd watchdog)."""
        observer_ok = self._observer is None or self._observer.is_alive()
        return observer_ok and self._thread is not None and self._thread.is_alive()

    def status(self) -> WatchStatus:
        return self._status

    def idle(self) -> bool:
        """Nothing pending, nothing in flight, no unhandled event (best effort, for tests)."""
        status = self._status
        return status.pending == 0 and status.in_flight == 0 and self._messages.unfinished_tasks == 0

    # -- the observer ----------------------------------------------------------------------------
    def _start_observer(self) -> None:
        if self.observing is Observing.INOTIFY:
            observer: BaseObserver | None = None
            try:
                observer = Observer()
                self._observer = observer
                self._watch_inbox()
                observer.start()
                return
            except OSError as exc:  # e.g. out of inotify instances or watches (fs.inotify.max_user_*)
                log.warning("cannot watch %s with inotify (%s): polling instead", shown(self.inbox), exc)
                if observer is not None:
                    observer.stop()  # ends its inotify reader thread
                self.observing = Observing.POLLING
        self._observer = PollingObserver(timeout=self._poll_interval)
        self._watch_inbox()
        self._observer.start()

    def _watch_inbox(self) -> None:
        """Schedule the inbox on the observer (raises OSError when that cannot be done)."""
        if self._observer is None:
            return
        identity = _identity(self.inbox)
        self._watch = self._observer.schedule(_Enqueue(self._messages), str(self.inbox), recursive=self.config.recursive)
        self._watched_as = identity

    def _keep_watching(self, now: float) -> None:
        """Set the watch up again once the inbox is back after it was deleted or moved away (watchdog
        stops watching a deleted folder, and inotify follows a moved one to where it went)."""
        if self._observer is None or now < self._next_inbox_check:
            return
        self._next_inbox_check = now + (INBOX_CHECK if self._watch is not None else TICK)
        identity = _identity(self.inbox)
        if self._watch is not None:
            if identity == self._watched_as:
                return
            self._inbox_lost("moved away or replaced")
        if identity is None:
            return
        try:
            self._watch_inbox()
        except OSError as exc:  # gone again already, or out of inotify watches
            self._next_inbox_check = now + REWATCH_RETRY
            log.warning("cannot watch the inbox %s (%s): trying again in %.0f s", shown(self.inbox), exc, REWATCH_RETRY)
            return
        log.info("watching the inbox %s again", shown(self.inbox))
        self._scan_all()

    def _inbox_lost(self, how: str) -> None:
        log.warning("the inbox %s was %s: it is watched again as soon as it is there", shown(self.inbox), how)
        if self._observer is not None and self._watch is not None:
            self._observer.unschedule(self._watch)  # its emitter may have stopped already
        self._watch = None
        self._next_inbox_check = 0.0

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
            self._messages.put(Rescan())
        timeout = TICK if self._candidates or (self._observer is not None and self._watch is None) else 1.0
        handled = 0
        try:
            message = self._messages.get(timeout=timeout)
            handled += 1
            self._handle(message)
            while True:  # drain the burst before looking at files
                message = self._messages.get_nowait()
                handled += 1
                self._handle(message)
        except queue.Empty:
            pass
        finally:
            try:
                now = time.monotonic()
                self._keep_watching(now)
                self._check(now)
                if self._known is not None and self._known.pending():
                    self._known.flush()
            finally:
                self._status = WatchStatus(len(self._candidates), len(self._in_flight), len(self._dirty), self._watch is not None)
                for _ in range(handled):
                    self._messages.task_done()

    def _handle(self, message: Message) -> None:
        now = time.monotonic()
        match message:
            case Observed(event):
                self._on_event(event, now)
            case Done(path):
                self._in_flight.discard(path)
                if path in self._dirty:
                    self._dirty.discard(path)
                    self._add(path, now)
            case NotReady(path):
                self._in_flight.discard(path)
                self._dirty.discard(path)
                if (candidate := self._add(path, now)) is not None:
                    candidate.see(Change.NOT_READY, now)
            case Rescan():
                self._scan_all()
                self._next_rescan = now + self._rescan_every
            case Wake():
                pass

    def _on_event(self, event: FileSystemEvent, now: float) -> None:
        src = Path(os.fsdecode(event.src_path))
        match event:
            case FileClosedEvent():
                if (candidate := self._add(src, now)) is not None:
                    candidate.see(Change.CLOSED, now)
                    candidate.opens = max(0, candidate.opens - 1)  # 0 too for a writer that opened it before we watched
                    candidate.sig = None  # a change seen before this close is not a write after it
            case FileCreatedEvent():
                self._candidates.pop(src, None)  # (re)created: whatever a scan saw there is gone
                # New here. inotify reports a file renamed in from outside the inbox as "created"
                # with no open: complete, unless an open follows at once (a writer creating it).
                # Polling cannot tell: quiet counts from the mtime, so an old file is ready at once.
                self._add(src, now, self._age(src), Phase.ARRIVED if self.observing is Observing.INOTIFY else Phase.SEEN)
            case FileOpenedEvent():
                if (candidate := self._candidates.get(src)) is not None:
                    candidate.opens += 1
                    if candidate.phase is Phase.ARRIVED:
                        candidate.see(Change.OPENED, now)
            case FileClosedNoWriteEvent():
                if (candidate := self._candidates.get(src)) is not None:
                    candidate.opens = max(0, candidate.opens - 1)
            case FileModifiedEvent():
                if (candidate := self._add(src, now)) is not None:
                    candidate.see(Change.WRITTEN, now)
            case FileMovedEvent(dest_path=dest_path):
                self._candidates.pop(src, None)
                dest = Path(os.fsdecode(dest_path))
                if self._known is not None and self._watched(dest) and self._known.moved(src, dest):
                    return  # a recorded file renamed: its record follows, nothing to read
                if self._known is not None:
                    self._known.gone(src)
                if (candidate := self._add(dest, now)) is not None:
                    candidate.see(Change.CLOSED, now)  # a rename is atomic: the content is complete
            case FileDeletedEvent():
                self._candidates.pop(src, None)
                if self._known is not None:
                    self._known.gone(src)
            case DirDeletedEvent() if src == self.inbox and self._watch is not None:  # watchdog stopped watching it
                self._inbox_lost("deleted")
            case DirDeletedEvent() if self._known is not None:
                self._known.gone(src, folder=True)
            case DirCreatedEvent():
                if self._watched(src):
                    self._scan(src)
            case DirMovedEvent(dest_path=dest_path):
                folder = Path(os.fsdecode(dest_path))
                if self._watched(folder):
                    self._scan(folder)
                if self._known is not None:  # after the scan, which followed what was renamed
                    self._known.gone(src, folder=True)

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

    def _add(self, path: Path, now: float, age: float = 0.0, phase: Phase = Phase.SEEN) -> Candidate | None:
        if not self._watched(path):
            return None
        if path in self._in_flight:
            self._dirty.add(path)
            return None
        candidate = self._candidates.get(path)
        if candidate is None:
            candidate = self._candidates[path] = Candidate(phase, quiet_since=now - age)
        return candidate

    @staticmethod
    def _age(path: Path) -> float:
        """Seconds since the file (or link) was last modified (0 if it is gone or dated in the future)."""
        try:
            return max(0.0, time.time() - path.lstat().st_mtime)
        except OSError:
            return 0.0

    def _scan_all(self) -> None:
        """The whole inbox scanned; an archive in place then looks for what it did not see."""
        if self._known is not None:
            self._known.scan_started()
        self._scan(self.inbox)
        if self._known is not None and _identity(self.inbox) is not None:
            self._known.scan_ended()

    def _scan(self, folder: Path) -> None:
        now = time.monotonic()
        for path in iter_inbox(folder, self.config.ignore, self.config.recursive, self._exclude):
            if path in self._candidates or path in self._in_flight:
                continue
            try:
                st = path.lstat()
            except (FileNotFoundError, NotADirectoryError):
                continue  # gone already
            except OSError:
                self._add(path, now)  # `_check` says why it cannot be looked at
                continue
            if self._known is not None and self._known.unchanged(path, st):
                continue
            self._add(path, now, max(0.0, time.time() - st.st_mtime))

    def _check(self, now: float) -> None:
        for path, candidate in list(self._candidates.items()):
            try:
                st = os.lstat(path)  # a symbolic link is handed over as itself, never followed
            except (FileNotFoundError, NotADirectoryError):
                del self._candidates[path]
                continue
            except OSError as exc:  # unreadable folder on its way, name too long...: the next rescan tries again
                log.warning("cannot look at %s (%s): skipped until the next rescan", shown(path), exc)
                del self._candidates[path]
                continue
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):  # FIFOs, sockets, devices: left alone
                del self._candidates[path]
                continue
            sig = (st.st_size, st.st_mtime_ns)
            if candidate.sig is not None and sig != candidate.sig:  # written without an event (polling)
                candidate.see(Change.WRITTEN, now)
            candidate.sig = sig
            if candidate.opens > 0:  # still open (a writer pausing, or a reader that keeps it)
                if now - candidate.quiet_since < OPEN_PATIENCE:
                    continue
                log.warning("%s has been open without a change for %.0f s: taking it", shown(path), OPEN_PATIENCE)
            if now - candidate.quiet_since >= quiet_needed(candidate.phase, self.config.settle_seconds):
                del self._candidates[path]
                if self._known is not None and self._known.unchanged(path, st):  # recorded as it is (an attribute changed, a rename)
                    continue
                self._in_flight.add(path)
                self._on_ready(path)
