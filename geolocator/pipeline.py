"""Ingest of one file, as named stages (beets' importer style), around a typed `Task`.

    hash -> duplicate check -> read metadata -> locate -> claim (intent record) -> move -> finalise

Every file that enters the inbox ends in the library, failed/ or duplicates/ with exactly one
record saying why. Records are keyed by the sha256 of the content, so:

- the first file with some content gets `id = record_id(sha256)`;
- a later file with the same content is a duplicate: moved to duplicates/ (never deleted), with
  its own record `id = record_id(sha256(sha256 + "\\0dup\\0" + nonce))`, `sha256` = the content
  hash, `duplicate_of` = the original's id. The nonce (uuid4) is drawn when the duplicate is
  claimed and made durable by the intent record before anything moves, so a restart resumes that
  record and never invents a second one.

Crash safety (kill -9 anywhere, then restart):

1. claim: the complete final record, plus `moving_from` = the inbox path, is written and fsynced
   BEFORE the file moves (the "intent");
2. move: `mover.move_noreplace` (link + unlink, or copy + link; never overwrites);
3. finalise: `moving_from` is cleared, batched: the folders touched by a batch of moves are
   fsynced once, then one journal write (one fsync) clears all their intents. So an intent is
   never cleared before its move is durable, and a photo costs about one fsync.

A crash before 1 leaves the file in the inbox and no record: it is simply redone. After 1, the
intent says where the file comes from and goes to: `recover()` (run at start, before anything
is watched) finishes the move if the file is still in the inbox, removes the inbox copy if
both exist with the same content, and clears the intent once the file is at its destination.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import stat
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from geolocator import mover
from geolocator.config import Config
from geolocator.errors import UnreadableImage
from geolocator.folders import Folders, fsync_dir
from geolocator.metadata.complete import looks_complete
from geolocator.naming import layout_folder
from geolocator.record import PhotoMetadata, PhotoRecord, Source, Status, record_id
from geolocator.store import Store

log = logging.getLogger(__name__)

WAITING_FOR_AI = "waiting for the AI"
AI_DISABLED = "no location in the file, and the AI is turned off ([ollama] enabled = false)"


class NotSettled(Exception):
    """The file could not be read and was written moments ago: probably still being written.
    The watcher gives it the full settle time before trying again."""


# -- the typed task ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    source: Path
    name: str
    size: int
    mtime: float
    sha256: str | None = None
    metadata: PhotoMetadata | None = None
    error: str | None = None  # why the file cannot be read
    original: PhotoRecord | None = None  # the record whose content this file repeats
    record: PhotoRecord | None = None  # what will be stored (path filled in by claim)


# -- pure stages -----------------------------------------------------------------------------------
def sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def duplicate_id(sha256: str, nonce: str) -> str:
    return record_id(hashlib.sha256(f"{sha256}\0dup\0{nonce}".encode()).hexdigest())


def capture_time(metadata: PhotoMetadata | None, mtime: float) -> datetime:
    """When the photo was taken (its wall-clock time as recorded), else when the file was last
    modified (local time)."""
    if metadata is not None and metadata.taken_at:
        try:
            return datetime.fromisoformat(metadata.taken_at)
        except ValueError:
            pass
    return datetime.fromtimestamp(mtime)


def subfolder(record: PhotoRecord, metadata: PhotoMetadata | None, mtime: float, layout: str) -> PurePosixPath:
    """Where under its root a record's file goes: the layout for library photos, flat otherwise."""
    if record.status in (Status.FAILED, Status.DUPLICATE):
        return PurePosixPath()
    return layout_folder(layout, capture_time(metadata, mtime))


def locate(task: Task, ai_enabled: bool, describe: Callable[[float, float], str]) -> PhotoRecord:
    """The record for a newly seen content, from what the file says about itself."""
    assert task.sha256 is not None
    base = PhotoRecord(id=record_id(task.sha256), sha256=task.sha256, name=task.name, path=None, status=Status.PENDING)
    if task.error is not None or task.metadata is None:
        return dataclasses.replace(base, status=Status.FAILED, error=task.error or "unreadable")
    md = task.metadata
    base = dataclasses.replace(base, taken_at=md.taken_at, camera=md.camera, altitude=md.altitude)
    if md.has_location:
        try:
            place = describe(md.lat, md.lon)
        except Exception:  # a place name is a nicety: never lose the photo over it
            log.exception("could not name the place at %s,%s", md.lat, md.lon)
            place = None
        return dataclasses.replace(base, status=Status.LOCATED, source=Source.EXIF, lat=md.lat, lon=md.lon, place=place)
    if ai_enabled:
        return dataclasses.replace(base, status=Status.PENDING, error=WAITING_FOR_AI)
    return dataclasses.replace(base, status=Status.UNLOCATED, error=AI_DISABLED)


def as_duplicate(task: Task, original: PhotoRecord) -> PhotoRecord:
    assert task.sha256 is not None
    return PhotoRecord(
        id=duplicate_id(task.sha256, uuid.uuid4().hex),
        sha256=task.sha256,
        name=task.name,
        path=None,
        status=Status.DUPLICATE,
        duplicate_of=original.id,
        error=f"same content as {original.id} ({original.path or original.name})",
    )


def reimport(previous: PhotoRecord, fresh: PhotoRecord) -> PhotoRecord:
    """The record for content seen before whose file has since gone (the user deleted it and
    dropped it in again): the new reading, under the same id, keeping a manual location."""
    record = dataclasses.replace(fresh, id=previous.id, added_at=previous.added_at)
    if previous.source is Source.MANUAL and fresh.status is not Status.FAILED:
        record = dataclasses.replace(record, status=Status.LOCATED, source=Source.MANUAL, lat=previous.lat, lon=previous.lon, place=previous.place, error=None)
    return record


def _describe_lazily(lat: float, lon: float) -> str:
    """places.describe, imported on first use: numpy and scipy stay off the start-up path."""
    from geolocator.places import describe

    return describe(lat, lon)


# -- the pipeline ----------------------------------------------------------------------------------
class Pipeline:
    """Runs the stages for one file at a time per calling thread; safe to call from several."""

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        read: Callable[[Path], PhotoMetadata] | None = None,
        describe: Callable[[float, float], str] | None = None,
        on_finalised: Callable[[list[PhotoRecord]], None] | None = None,
    ) -> None:
        if read is None:
            from geolocator.metadata import read_metadata as read
        if describe is None:
            describe = _describe_lazily
        self.store = store
        self.folders = Folders.from_config(config)
        self.layout = config.library.layout
        self.ai_enabled = config.ollama.enabled
        self.settle_seconds = config.watch.settle_seconds
        self._read = read
        self._describe = describe
        self._on_finalised = on_finalised
        self._claim_lock = threading.Lock()  # duplicate check + intent are one step
        self._reserved: set[Path] = set()  # destinations of moves in progress
        self._unfinished: list[str] = []  # moved, intent not yet cleared
        self._touched: set[Path] = set()  # folders to fsync before clearing those intents
        self._unfinished_lock = threading.Lock()

    # -- stages ----------------------------------------------------------------------------------
    def hash_stage(self, task: Task) -> Task:
        return dataclasses.replace(task, sha256=sha256_file(task.source))

    def duplicate_stage(self, task: Task) -> Task:
        assert task.sha256 is not None
        return dataclasses.replace(task, original=self.store.get(record_id(task.sha256)))

    def read_stage(self, task: Task) -> Task:
        young = time.time() - task.mtime < self.settle_seconds
        try:
            metadata = self._read(task.source)
        except UnreadableImage as exc:
            if young:
                raise NotSettled(str(exc)) from None
            return dataclasses.replace(task, error=str(exc) or "unreadable")
        except FileNotFoundError:
            raise
        except Exception as exc:  # a reader bug: record it against the file, keep going
            log.exception("reading %s failed unexpectedly", task.source)
            return dataclasses.replace(task, error=f"internal error while reading: {type(exc).__name__}: {exc}")
        if young and not looks_complete(task.source):  # a writer's first part, closed between chunks
            raise NotSettled("the file looks cut short")
        return dataclasses.replace(task, metadata=metadata)

    def locate_stage(self, task: Task) -> Task:
        return dataclasses.replace(task, record=locate(task, self.ai_enabled, self._describe))

    def claim_stage(self, task: Task) -> tuple[PhotoRecord, Path | None]:
        """Decide the final record and its destination, and store it as an intent (fsynced).
        Destination None: this file already has an intent (from a move that failed): resume it."""
        assert task.sha256 is not None
        with self._claim_lock:
            existing = self.store.get(record_id(task.sha256))
            if existing is not None and existing.moving_from == str(task.source):
                return existing, None  # our own unfinished intent (a move that failed earlier)
            if existing is not None and self.has_file(existing):
                record = as_duplicate(task, existing)
            elif existing is not None and task.record is not None:
                record = reimport(existing, task.record)
                log.info("%s: its earlier copy (%s) is no longer there: imported again", task.name, existing.path)
            else:
                assert task.record is not None
                record = task.record
            return self._reserve(record, task.metadata, task.mtime, task.source)

    def _reserve(self, record: PhotoRecord, metadata: PhotoMetadata | None, mtime: float, source: Path, skip: Path | None = None) -> tuple[PhotoRecord, Path]:
        """Pick a free destination and write the intent. Caller holds the claim lock."""
        root = self.folders.root(record.status)
        folder = skip.parent if skip is not None else root / subfolder(record, metadata, mtime, self.layout)
        dest = mover.free_name(folder, record.name, self._reserved | ({skip} if skip else set()))
        folder.mkdir(parents=True, exist_ok=True)
        intent = dataclasses.replace(record, path=dest.relative_to(root).as_posix(), moving_from=str(source))
        if intent != record:
            intent = self.store.put(intent)
        self._reserved.add(dest)
        return intent, dest

    def move_stage(self, record: PhotoRecord, dest: Path, source: Path, metadata: PhotoMetadata | None, mtime: float) -> tuple[PhotoRecord, Path]:
        """Move without overwriting; if the name got taken meanwhile, claim the next one."""
        try:
            while True:
                try:
                    mover.move_noreplace(source, dest, durable=False)
                    with self._unfinished_lock:
                        self._touched.update((source.parent, dest.parent))
                    return record, dest
                except FileExistsError:
                    with self._claim_lock:
                        self._reserved.discard(dest)
                        record, dest = self._reserve(record, metadata, mtime, source, skip=dest)
        finally:
            with self._claim_lock:
                self._reserved.discard(dest)

    def has_file(self, record: PhotoRecord) -> bool:
        """Whether a recorded photo's file is still where the record says (or on its way there)."""
        if record.moving_from:
            return True
        path = self.folders.file_of(record)
        return path is not None and path.is_file()

    def finalise_stage(self, record: PhotoRecord) -> None:
        with self._unfinished_lock:
            self._unfinished.append(record.id)

    # -- driving ---------------------------------------------------------------------------------
    def process(self, source: Path) -> PhotoRecord | None:
        """Ingest one inbox file. Returns its record (still carrying the intent until `flush`),
        or None when the file vanished or could not be moved (it stays in the inbox; logged).
        Raises NotSettled for a young unreadable file."""
        try:
            st = source.lstat()
            if not stat.S_ISREG(st.st_mode):  # symlinks, sockets...: not ours to move
                log.info("%s is not a regular file: left alone", source)
                return None
            task = Task(source=source, name=source.name, size=st.st_size, mtime=st.st_mtime)
            task = self.hash_stage(task)
            task = self.duplicate_stage(task)
            if task.original is None or not self.has_file(task.original):
                task = self.locate_stage(self.read_stage(task))
            record, dest = self.claim_stage(task)
            if dest is None:
                self._resolve(record)
                return record
            record, dest = self.move_stage(record, dest, source, task.metadata, task.mtime)
        except FileNotFoundError:
            log.info("%s disappeared before it could be processed", source)
            return None
        except NotSettled:
            raise
        except OSError as exc:
            log.error("cannot process %s now (left in the inbox, retried later): %s", source, exc)
            return None
        self.finalise_stage(record)
        log.info("%s -> %s/%s (%s)", source.name, self.folders.root(record.status).name, record.path, record.status.value)
        return record

    def flush(self) -> list[PhotoRecord]:
        """Clear the intents of finished moves (one fsync for all of them)."""
        with self._unfinished_lock:
            ids, self._unfinished = self._unfinished, []
            folders, self._touched = self._touched, set()
        try:
            for folder in folders:
                try:
                    fsync_dir(folder)
                except FileNotFoundError:
                    pass  # an inbox sub-folder removed meanwhile: its entry is gone either way
            done = self.store.update_many(ids, lambda r: dataclasses.replace(r, moving_from=None) if r.moving_from else None) if ids else []
        except BaseException:
            with self._unfinished_lock:  # not cleared: keep them for the next flush
                self._unfinished[:0] = ids
                self._touched |= folders
            raise
        if self._on_finalised is not None and done:
            self._on_finalised(done)
        return done

    # -- restart ---------------------------------------------------------------------------------
    def recover(self) -> int:
        """Resolve every intent a previous run left (call before watching). Returns how many."""
        intents = [r for r in self.store.all() if r.moving_from]
        for record in intents:
            try:
                # Only now, before any worker runs, can a temp copy be known to be abandoned.
                mover.remove_stale_temps((self.folders.root(record.status) / record.path).parent)
                self._resolve(record)
            except OSError as exc:
                log.error("cannot finish moving %s to %s now: %s", record.moving_from, record.path, exc)
        self.flush()
        if intents:
            log.info("recovered %d interrupted move(s)", len(intents))
        return len(intents)

    def _resolve(self, record: PhotoRecord) -> None:
        assert record.moving_from is not None and record.path is not None
        source = Path(record.moving_from)
        dest = self.folders.root(record.status) / record.path
        src_is_ours = source.is_file() and sha256_file(source) == record.sha256
        if dest.is_file() and ((source.exists() and os.path.samefile(source, dest)) or sha256_file(dest) == record.sha256):
            if src_is_ours:  # interrupted between link and unlink (or copy and unlink)
                source.unlink()
                fsync_dir(source.parent)
            self.finalise_stage(record)
        elif src_is_ours:
            st = source.stat()
            with self._claim_lock:
                if dest.exists():  # our name was taken by something else: claim another
                    record, dest = self._reserve(record, None, st.st_mtime, source, skip=dest)
                else:
                    self._reserved.add(dest)
            record, dest = self.move_stage(record, dest, source, None, st.st_mtime)
            self.finalise_stage(record)
        else:
            log.error("%s vanished while being moved to %s; recording it as failed", source, dest)
            self.store.put(dataclasses.replace(record, status=Status.FAILED, path=None, moving_from=None, error="the file disappeared while it was being moved"))
