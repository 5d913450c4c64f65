"""An archive indexed in place (`[library] move = false`): which recorded file is where.

The inbox is then the root of the user's archive, and nothing in it is moved, renamed or
modified (sidecars of ours are written beside photos placed by a source other than the file).
Each record's `path` is relative to it, and its `file_stat` is (size, mtime_ns, inode) of the
file as it was read. `Archive` keeps two maps over the records, path -> id and inode -> id, so
that the watcher and `scan` can tell without reading a file:

- unchanged: its lstat is its record's `file_stat`: skipped, never hashed (a start with 100k
  files recorded reads none of them);
- renamed or moved within the tree: a path no record has, whose size, mtime and inode are those
  of a record whose own path no longer holds that file (a rename keeps all three): the record's
  path follows, again without a hash;
- anything else is read by the pipeline: hashed, then a new record, a duplicate of the copy
  recorded first (it stays where it is), or a content recorded before found at a new path (moved
  with a new inode: copied across disks); see `Pipeline._decide_in_place`.

A record whose file is gone (deleted, moved out of the tree, or its path holding other content
now) gets `missing_since`: never forgotten, its location and history stay, and it is back as soon
as its content is seen again. When a duplicate of it is still there, the record takes that copy's
path instead, and the duplicate's own record is marked missing (its file is the photo's now).

Changes are queued and written together by `flush` (one journal write): by the watcher's thread
after each burst of events, by `scan`, and by the pipeline after a group.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from geolocator.folders import Folders, path_of
from geolocator.locations.sidecar_sync import Sidecars
from geolocator.move.naming import is_sidecar
from geolocator.record import PhotoRecord, Status
from geolocator.record.store import Store, StoreError, utc_now

log = logging.getLogger(__name__)

FileStat = tuple[int, int, int]  # (size, mtime_ns, inode)
NAMES_LOGGED = 10  # files named in one log line about many


def file_stat(st: os.stat_result) -> FileStat:
    """What says a file is the one read before: a rename keeps all three, a write changes one."""
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _some(paths: list[str]) -> str:
    shown = ", ".join(paths[:NAMES_LOGGED])
    return shown + (f" and {len(paths) - NAMES_LOGGED} more" if len(paths) > NAMES_LOGGED else "")


class Archive:
    """The index of an archive's recorded files, and the changes found in it. Thread-safe."""

    def __init__(self, store: Store, folders: Folders, sidecars: Sidecars) -> None:
        self.store = store
        self.folders = folders
        self.sidecars = sidecars
        self._lock = threading.RLock()
        self._by_path: dict[str, str] = {}  # record path -> id (a hint: checked against the record)
        self._by_inode: dict[int, str] = {}
        self._due: dict[str, dict[str, Any]] = {}  # id -> fields to change, written by `flush`
        self._was_at: dict[str, str | None] = {}  # id -> its stored path when the change was decided
        self._gone: set[str] = set()  # ids whose file may be gone (a delete event): looked at by `flush`
        self._renames: list[str] = []  # paths records followed since the last `flush` (for its log line)
        self._check_all = False  # a folder went: every record is looked at by `flush`
        self._confirmed: set[str] = set()  # ids seen as they were read since the scan began
        self._scans = 0  # whole scans ended
        self._failing = False  # the last flush could not write (said once)
        self.counts: collections.Counter[str] = collections.Counter()  # since the scan began: unchanged, renamed, to read, back, missing
        self.index(store.all())

    # -- the index -------------------------------------------------------------------------------
    def index(self, records: Iterable[PhotoRecord]) -> None:
        """Know where these records' files are (as stored now)."""
        with self._lock:
            for record in records:
                if record.missing_since and self._by_path.get(record.path or "", record.id) != record.id:
                    continue  # its path is another record's now (a duplicate that took its place)
                if record.path and record.file_stat is not None:
                    self._by_path[record.path] = record.id
                    self._by_inode[record.file_stat[2]] = record.id

    def at(self, path: str) -> PhotoRecord | None:
        """The record whose file is at `path` (a record path), changes not yet written included."""
        with self._lock:
            record = self._current(self._by_path.get(path))
        return record if record is not None and record.path == path else None

    def holds(self, record: PhotoRecord) -> bool:
        """Whether the record's file is where it says, as it was read (same size, mtime and inode)."""
        if record.missing_since or not record.path or record.file_stat is None:
            return False
        try:
            st = os.lstat(self.folders.inbox / path_of(record.path))
        except OSError:
            return False
        return file_stat(st) == record.file_stat

    def _current(self, record_id: str | None) -> PhotoRecord | None:
        record = self.store.get(record_id) if record_id else None
        due = self._due.get(record_id) if record is not None and record_id else None
        return dataclasses.replace(record, **due) if record is not None and due else record

    def _change(self, record: PhotoRecord, **fields: Any) -> None:
        """Queue a change of `record` for `flush`. Caller holds the lock."""
        stored = self.store.get(record.id)
        self._was_at.setdefault(record.id, stored.path if stored is not None else None)
        self._due.setdefault(record.id, {}).update(fields)
        if "path" in fields and fields["path"] is not None:
            if record.path and self._by_path.get(record.path) == record.id:
                del self._by_path[record.path]
            self._by_path[fields["path"]] = record.id
        if fields.get("file_stat") is not None:
            self._by_inode[fields["file_stat"][2]] = record.id

    # -- what the watcher and scan ask -----------------------------------------------------------
    def unchanged(self, path: Path, st: os.stat_result) -> bool:
        """Whether the file at `path` (`st`: its lstat) needs no reading: a sidecar (read with its
        photo), a recorded file as it was read, or one renamed within the tree (its record follows)."""
        if is_sidecar(path.name):
            return True
        try:
            rel = self.folders.relative(path)
        except ValueError:  # not in the archive
            return False
        seen = file_stat(st)
        with self._lock:
            record = self._current(self._by_path.get(rel))
            if record is not None and record.path == rel and record.file_stat == seen:
                self._confirmed.add(record.id)
                self.counts["unchanged"] += 1
                if record.missing_since:
                    self._change(record, missing_since=None)
                    self.counts["back"] += 1
                return True
            other = self._current(self._by_inode.get(st.st_ino))
            if other is None or other.path == rel or other.file_stat != seen or self.holds(other):
                self.counts["to read"] += 1
                return False
            self._renamed(other, rel, seen)
            return True

    def _renamed(self, record: PhotoRecord, path: str, seen: FileStat) -> None:
        """`record`'s file is at `path` now. Caller holds the lock."""
        log.debug("%s: renamed or moved within the archive to %s", record.path, path)
        previous = self._current(self._by_path.get(path))
        if previous is not None and previous.id != record.id and previous.path == path and not previous.missing_since:
            self._missing([previous])  # renamed over another recorded file: that one's content is gone
        owed = {"sidecar_due": True} if self.sidecars.owed(record) else {}  # ours stays by the old name: one more by the new
        self._change(record, path=path, file_stat=seen, missing_since=None, **owed)
        self._renames.append(path)
        self._confirmed.add(record.id)
        self.counts["renamed"] += 1

    def moved(self, src: Path, dest: Path) -> bool:
        """A rename event within the tree: True when `dest` is a recorded file (its record follows)."""
        try:
            st = os.lstat(dest)
        except OSError:
            return False
        found = self.unchanged(dest, st)
        self.gone(src)
        return found

    def gone(self, path: Path, folder: bool = False) -> None:
        """A file (or a folder, with all below it) was deleted or moved away: `flush` marks the
        records of what is no longer there as missing."""
        with self._lock:
            if folder:
                self._check_all = True
                return
            try:
                rid = self._by_path.get(self.folders.relative(path))
            except ValueError:
                return
            if rid is not None:
                self._gone.add(rid)

    def scan_started(self) -> None:
        with self._lock:
            self._confirmed.clear()
            self.counts.clear()

    def scan_ended(self) -> None:
        """The whole archive was walked: the records not seen as they were read whose files are
        gone are marked missing, and what was found written (`flush`)."""
        with self._lock:
            unseen = set(self._by_path.values()) - self._confirmed
            if unseen and not self._confirmed and _empty(self.folders.inbox):
                log.warning("the archive %s is empty: is its disk mounted? No record is marked missing until its files are back", self.folders.inbox)
            else:
                self._gone |= unseen
        self.flush()
        found = ", ".join(f"{self.counts[key]} {key}" for key in ("unchanged", "renamed", "back", "missing", "to read"))
        said = self._scans == 0 or set(self.counts) - {"unchanged"}  # the first scan, then those that found something
        self._scans += 1
        log.log(logging.INFO if said else logging.DEBUG, "the archive %s, as scanned: %s", self.folders.inbox, found)

    def replaced(self, record: PhotoRecord) -> None:
        """Another content was read at `record`'s path: its own is no longer there."""
        with self._lock:
            self._missing([record])

    # -- writing -----------------------------------------------------------------------------------
    def pending(self) -> bool:
        return bool(self._due or self._gone or self._check_all)

    def flush(self) -> list[PhotoRecord]:
        """Mark what is gone as missing, then write every queued change with one journal write,
        then the sidecars owed beside renamed photos. Returns the records written. When the store
        cannot write (a full disk), the changes are kept for the next flush and that is logged
        once, never raised: the watcher calls this after every burst."""
        with self._lock:
            if self._check_all:
                self._gone |= set(self._by_path.values())
                self._check_all = False
            if self._gone:
                candidates = [self._current(rid) for rid in self._gone]
                self._gone = set()
                self._missing([r for r in candidates if r is not None and r.path and not r.missing_since and not self._there(r)])
            if not self._due:
                return []
            due, was_at, renamed = self._due, self._was_at, self._renames
            self._due, self._was_at, self._renames = {}, {}, []

            def change(current: PhotoRecord) -> PhotoRecord | None:
                if current.path != was_at[current.id]:  # the pipeline recorded it elsewhere meanwhile: its word stands
                    return None
                return dataclasses.replace(current, **due[current.id])

            try:
                stored = self.store.update_many(list(due), change)
            except (OSError, StoreError) as exc:
                for rid, fields in due.items():  # kept for the next flush (newer changes win)
                    self._due[rid] = {**fields, **self._due.get(rid, {})}
                    self._was_at.setdefault(rid, was_at[rid])
                self._renames[:0] = renamed
                if not self._failing:
                    log.error("cannot record what changed in the archive now (kept, and tried again): %s", exc)
                self._failing = True
                return []
            if self._failing:
                log.info("what changed in the archive is recorded now")
            self._failing = False
            self.index(stored)
        if renamed:
            log.info("%d recorded file(s) renamed or moved within the archive, their records follow: %s", len(renamed), _some(renamed))
        owed = [r for r in stored if r.sidecar_due and r.missing_since is None]
        if owed:
            self.sidecars.sync(owed)
        return stored

    def _there(self, record: PhotoRecord) -> bool:
        """Something is at the record's path (changed or not: the pipeline reads a changed file)."""
        return os.path.lexists(self.folders.inbox / path_of(record.path or ""))

    def _missing(self, records: list[PhotoRecord]) -> None:
        """Mark `records` missing, or, for one with a duplicate still in place, give it that copy's
        path (the duplicate's record is marked missing: its file is the photo's now). Caller holds the lock."""
        if not records:
            return
        ids = {record.id for record in records}
        copies: dict[str, list[str]] = collections.defaultdict(list)
        for duplicate in self.store.with_status(Status.DUPLICATE):
            if duplicate.duplicate_of in ids:
                copies[duplicate.duplicate_of].append(duplicate.id)
        at = utc_now()
        gone, kept = [], []
        for record in records:
            copy = next((c for c in map(self._current, copies[record.id]) if c is not None and self.holds(c)), None)
            if copy is None:
                self._change(record, missing_since=at)
                gone.append(record.path or record.name)
                continue
            owed = {"sidecar_due": True} if self.sidecars.owed(record) else {}
            self._change(copy, missing_since=at)
            self._change(record, path=copy.path, file_stat=copy.file_stat, missing_since=None, **owed)
            kept.append(f"{record.path} (now {copy.path})")
        self.counts["missing"] += len(gone)
        if gone:
            log.warning("%d file(s) of the archive missing, their records kept: %s", len(gone), _some(gone))
        if kept:
            log.info("%d file(s) gone from the archive whose duplicate takes their place: %s", len(kept), _some(kept))


def _empty(folder: Path) -> bool:
    """The folder has no entry at all (or is not there): an unmounted disk, not deleted photos."""
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return True
