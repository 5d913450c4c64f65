"""The record store: TinyDB's file format, made crash-safe and fast at 100k photos.

Layout on disk (`database` = geolocator.json):
- `geolocator.json`: a TinyDB document, `{"photos": {"<doc_id>": {record}}}`, rewritten only by
  compaction (temp file, fsync, atomic replace, fsync of the folder). TinyDB opens it as is.
  Ours holds one record per line; a file in another layout (one JSON document, as TinyDB's own
  storage, a previous version or a person writes it) is read one record at a time, and written in
  ours by the next compaction.
- `geolocator.json.journal`: one JSON line per upsert since the last compaction, fsynced per
  batch. A torn last line (kill -9 mid-write) is ignored on load; replay is idempotent.

Why not TinyDB's Table API for writes: each insert/update there rewrites the whole table
(O(n) per photo). Here an upsert is one appended line; compaction runs in the background when
the journal outgrows a quarter of the records, so its cost per photo stays constant.

One process owns a database at a time (an exclusive lock file); inside it, one lock serialises
writers (pipeline workers and the viewer's manual fixes).
"""

from __future__ import annotations

import fcntl
import gc
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from tinydb import TinyDB
from tinydb.storages import Storage

from geolocator.errors import GeolocatorError
from geolocator.folders import fsync_dir
from geolocator.record import PhotoRecord, Status

log = logging.getLogger(__name__)

TABLE = "photos"
MISSING = "missing"  # the count of records whose file went (`PhotoRecord.missing_since`)
SNAPSHOT_HEAD = f'{{"{TABLE}": {{'
MIN_COMPACT_LINES = 1000


class StoreError(GeolocatorError):
    """The database cannot be opened (locked by another process, unreadable, corrupt, or its
    folder cannot be written). The user must act before geolocator can run: exit 2."""

    exit_code = 2


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def doc_id(record_id: str) -> str:
    """TinyDB wants integer document ids: derive one from the record id (60 bits of the sha256)."""
    return str(int(record_id[:15], 16))


def _snapshot_tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _new_journal(path: Path) -> Path:
    """Where the next journal is created during rotation, before it takes the live name."""
    return path.with_name(path.name + ".journal.new")


def database_files(path: Path) -> list[Path]:
    """Every file the store keeps for the database at `path` (for the watcher to leave alone)."""
    return [path, _snapshot_tmp(path), _lock_path(path), _new_journal(path), *_journals(path)]


def write_snapshot(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Atomically replace `path` with a TinyDB document holding `records`."""
    tmp = _snapshot_tmp(path)
    with tmp.open("wb") as fh:
        # One record per line: still plain JSON for TinyDB, and `load_records` can stream it.
        fh.write(SNAPSHOT_HEAD.encode())
        for index, record in enumerate(records):
            fh.write(b'%s\n"%s":%s' % (b"," if index else b"", doc_id(record["id"]).encode(), orjson.dumps(record)))
        fh.write(b"\n}}\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _read_snapshot(path: Path) -> list[PhotoRecord]:
    """Records of a snapshot, streamed line by line when it is in our layout."""
    with path.open("rb") as fh:
        if fh.readline().rstrip(b"\n") == SNAPSHOT_HEAD.encode():
            records = []
            for raw in fh:
                line = raw.rstrip(b"\n").rstrip(b",")
                if line == b"}}":
                    break
                _, _, body = line.partition(b":")  # the key is a quoted integer: no colon in it
                records.append(PhotoRecord.from_dict(orjson.loads(body)))
            else:  # cut after a complete record: every line parses, yet records are missing
                raise ValueError("it ends before its closing '}}' (cut short)")
            if fh.read().strip():
                raise ValueError("data after its closing '}}'")
            return records
        fh.seek(0)
        records = _stream_document(fh)  # written by another TinyDB storage, or by hand: one document
        if records:
            return records
        fh.seek(0)
        data = json.load(fh)  # nothing found in a streamed read: say why (or it is truly empty)
    if not isinstance(data, dict) or not isinstance(data.get(TABLE, {}), dict):
        raise ValueError(f"no '{TABLE}' table")
    return [PhotoRecord.from_dict(doc) for doc in data.get(TABLE, {}).values()]


def _stream_document(fh: BinaryIO) -> list[PhotoRecord]:
    """The records of a snapshot in another layout (TinyDB's own JSON storage, a previous
    version's, one written by hand), one at a time: loading the whole document first would leave
    the memory of its 100k dicts interleaved with the records kept, and the service would hold
    ~100 MB more until restarted. ijson (its C parser), imported only here: a database in our
    layout never needs it."""
    import ijson  # type: ignore[import-untyped]

    try:
        return [PhotoRecord.from_dict(doc) for _, doc in ijson.kvitems(fh, TABLE, use_float=True)]
    except ijson.JSONError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None


def acquire_lock(path: Path) -> BinaryIO:
    """The exclusive right to write the database at `path`; close the file to give it back."""
    lock = _lock_path(path).open("ab")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise StoreError(f"database {path} is in use by another geolocator process") from None
    return lock


def database_in_use(path: Path) -> bool:
    """Whether a running geolocator holds the database at `path`. Creates nothing: a lock file
    that does not exist is held by no one."""
    try:
        with _lock_path(path).open("rb") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except FileNotFoundError:
        return False
    except BlockingIOError:
        return True
    return False


class Journal:
    """The append-only journal, written all-or-nothing.

    A batch that fails to reach the disk (ENOSPC, EIO) is cut off again before the error is
    raised, so a change the caller was told had failed can never surface after a restart. Raw
    `os.write` calls: no buffer can hold failed bytes back for the next write to flush.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fsync_dir(path.parent)  # the file's name is durable before anything relies on it
        except OSError:
            os.close(self._fd)
            raise
        self.broken = False  # a failed batch could not be cut off: no more writes this run

    def append(self, payload: bytes) -> None:
        if self.broken:
            raise StoreError(f"journal {self.path} could not be repaired after a failed write: restart geolocator")
        start = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(self._fd, view):]
            os.fsync(self._fd)
        except OSError:
            try:
                os.ftruncate(self._fd, start)
                os.fsync(self._fd)
            except OSError:
                self.broken = True
            raise

    def renamed(self, path: Path) -> None:
        """Record that the file was renamed to `path` (the descriptor follows the file)."""
        self.path = path

    def close(self) -> None:
        os.close(self._fd)


class JournalStorage(Storage):
    """A TinyDB Storage over the snapshot and its journal.

    `TinyDB(path, storage=JournalStorage)` reads the current state (snapshot + journal) and a
    write through TinyDB's own API replaces the snapshot and empties the journal. The daemon
    uses `Store`, which appends to the journal instead.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, Any] | None:
        records = load_records(self.path)
        return {TABLE: {doc_id(rid): r.stored() for rid, r in records.items()}}

    def write(self, data: dict[str, Any]) -> None:
        with acquire_lock(self.path):  # never behind a running geolocator's back
            write_snapshot(self.path, data.get(TABLE, {}).values())
            for journal in _journals(self.path):
                journal.unlink(missing_ok=True)

    def close(self) -> None:
        pass


def _journals(path: Path) -> list[Path]:
    """Journal files in replay order: one left by an interrupted compaction, then the live one."""
    return [path.with_name(path.name + ".journal.old"), path.with_name(path.name + ".journal")]


def load_records(path: Path) -> dict[str, PhotoRecord]:
    """Read the snapshot, then replay the journals. Missing files mean an empty store."""
    collecting = gc.isenabled()
    gc.disable()  # 100k records made at once are all kept: a third less time without the collector's passes over them
    try:
        records = {record.id: record for record in _read_snapshot(path)}
    except FileNotFoundError:
        records = {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"database {path} is not a readable geolocator database (not valid JSON, or not a TinyDB file): {exc}") from None
    finally:
        if collecting:
            gc.enable()
    for journal in _journals(path):
        _replay(journal, records)
    return records


def _replay(journal: Path, records: dict[str, PhotoRecord]) -> None:
    try:
        lines = journal.read_bytes().split(b"\n")
    except FileNotFoundError:
        return
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = PhotoRecord.from_dict(orjson.loads(line))
        except (ValueError, KeyError, TypeError):
            if number == len(lines):  # a torn final write: the change it held never completed
                log.warning("ignoring an incomplete last line in %s", journal)
                continue
            raise StoreError(f"journal {journal} line {number} is corrupt") from None
        records[record.id] = record


class Store:
    """All records in memory, persisted through the journal. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_file = acquire_lock(path)
        except OSError as exc:
            raise _unwritable(path, exc) from None
        try:
            self._lock = threading.RLock()
            self._records = load_records(path)
            self._seq = 0  # bumps on every change; lets the viewer ask for what changed since
            self._changed: dict[str, int] = {}  # seq of each change since loading; a loaded record's is 0
            self._compacting: threading.Thread | None = None
            self._old_journal_path, self._journal_path = _journals(path)
            self._new_journal_path = _new_journal(path)
            self._new_journal_path.unlink(missing_ok=True)  # an interrupted rotation's, never written to
            if _holds_changes(self._old_journal_path, self._journal_path):
                self._compact_now()  # fold whatever a previous run left into the snapshot
            else:
                _probe_room(path)  # the fold's write would have found a full disk: so does this one
            self._journal = Journal(self._journal_path)
        except OSError as exc:
            self._lock_file.close()
            raise _unwritable(path, exc) from None
        except BaseException:
            self._lock_file.close()
            raise
        self._journal_lines = 0
        self._write_error: str | None = None  # why the last write failed; None once one succeeds

    # -- reads -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._records)

    def get(self, record_id: str) -> PhotoRecord | None:
        return self._records.get(record_id)

    def all(self) -> list[PhotoRecord]:
        with self._lock:
            return list(self._records.values())

    def with_status(self, *statuses: Status) -> list[PhotoRecord]:
        with self._lock:
            return [r for r in self._records.values() if r.status in statuses]

    def counts(self) -> dict[str, int]:
        """Records by status, and `missing`: those whose file went (an archive indexed in place)."""
        counts = {status.value: 0 for status in Status}
        missing = 0
        with self._lock:
            for record in self._records.values():
                counts[record.status.value] += 1
                missing += record.missing_since is not None
        counts[MISSING] = missing
        return counts

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def problem(self) -> str | None:
        """Why the store cannot write now (the service is unhealthy meanwhile), or None."""
        return self._write_error

    def changed_since(self, seq: int) -> tuple[list[PhotoRecord], int]:
        """Records changed after `seq` (every record for a negative `seq`), and the seq to ask from next time."""
        with self._lock:
            if seq < 0:
                return list(self._records.values()), self._seq
            return [self._records[rid] for rid, s in self._changed.items() if s > seq], self._seq

    # -- writes ------------------------------------------------------------------------------
    def put(self, record: PhotoRecord) -> PhotoRecord:
        return self.put_many([record])[0]

    def put_many(self, records: Iterable[PhotoRecord]) -> list[PhotoRecord]:
        """Upsert records; durable (fsynced) when this returns. Returns the stored copies."""
        now = utc_now()
        stored = [record.stamped(now) for record in records]
        payload = b"".join(orjson.dumps(r.stored()) + b"\n" for r in stored)
        with self._lock:
            try:
                self._journal.append(payload)  # all or nothing; raises before memory changes
            except OSError as exc:
                self._write_error = f"cannot write the database {self._journal.path}: {exc.strerror or exc}"
                raise
            except StoreError as exc:
                self._write_error = str(exc)
                raise
            self._write_error = None
            for copy in stored:
                self._seq += 1
                self._records[copy.id] = copy
                self._changed[copy.id] = self._seq
            self._journal_lines += len(stored)
            if self._journal_lines > max(MIN_COMPACT_LINES, len(self._records) // 4):
                self._start_compaction()
        return stored

    def update(self, record_id: str, change: Callable[[PhotoRecord | None], PhotoRecord | None]) -> PhotoRecord | None:
        """Read-modify-write one record atomically: `change(current)` returns the new record, or
        None to leave it as it is. Writers that take seconds between reading and writing (the AI
        worker) use this so they never undo a change made meanwhile (a manual fix)."""
        with self._lock:
            current = self._records.get(record_id)
            new = change(current)
            if new is None or new is current:
                return current
            return self.put(new)

    def update_many(self, record_ids: Iterable[str], change: Callable[[PhotoRecord], PhotoRecord | None]) -> list[PhotoRecord]:
        """`update` for many records, written with one fsync. Missing ids are skipped."""
        with self._lock:
            changed = []
            for record_id in record_ids:
                current = self._records.get(record_id)
                new = change(current) if current is not None else None
                if new is not None and new is not current:
                    changed.append(new)
            return self.put_many(changed) if changed else []

    # -- compaction --------------------------------------------------------------------------
    def _start_compaction(self) -> None:
        """Rotate the journal and write the snapshot in the background. Caller holds the lock."""
        if self._compacting is not None and self._compacting.is_alive():
            return
        try:
            self._rotate()
        except OSError as exc:  # no space or inodes now: the live journal goes on, retried later
            log.warning("cannot rotate the journal of %s now (%s); it keeps growing until there is room", self.path, exc.strerror or exc)
            return
        self._journal_lines = 0
        # Records are immutable, so a shallow copy is a consistent snapshot to serialise outside the lock.
        snapshot = list(self._records.values())
        self._compacting = threading.Thread(target=self._finish_compaction, args=(snapshot,), name="store-compaction")
        self._compacting.start()

    def _rotate(self) -> None:
        """Move the live journal's lines to the old journal and start an empty live one.

        The new journal is created first, under a name replay ignores; until it exists, nothing
        changes and writes go on to the live journal. The live descriptor is closed only once
        the new one has taken the live name, so a write never meets a closed descriptor.
        """
        fresh = Journal(self._new_journal_path)
        try:
            if self._old_journal_path.exists():
                # An earlier compaction failed: add this journal behind its (all or nothing;
                # a line replayed twice sets the same record twice, harmlessly).
                old = Journal(self._old_journal_path)
                try:
                    old.append(self._journal_path.read_bytes())
                finally:
                    old.close()
            else:
                os.replace(self._journal_path, self._old_journal_path)
            os.replace(self._new_journal_path, self._journal_path)
        except BaseException:
            fresh.close()
            self._new_journal_path.unlink(missing_ok=True)
            raise
        fresh.renamed(self._journal_path)
        self._journal.close()
        self._journal = fresh

    def _finish_compaction(self, snapshot: list[PhotoRecord]) -> None:
        try:
            write_snapshot(self.path, (r.stored() for r in snapshot))
            self._old_journal_path.unlink(missing_ok=True)
        except OSError:
            log.exception("compacting %s failed; the journal keeps every change", self.path)

    def _compact_now(self) -> None:
        write_snapshot(self.path, (r.stored() for r in self._records.values()))
        self._drop_journals()

    def _drop_journals(self) -> None:
        """Remove both journals: the snapshot holds everything they did."""
        self._old_journal_path.unlink(missing_ok=True)
        self._journal_path.unlink(missing_ok=True)

    def close(self) -> None:
        """Wait for a running compaction, fold the journal into the snapshot, release the lock.

        Folding is only tidying: when it fails (a full disk), every change is still in the
        journal and the next start folds it, so closing always completes.
        """
        with self._lock:
            if self._compacting is not None:
                self._compacting.join()
            self._journal.close()
            try:
                if _holds_changes(self._old_journal_path, self._journal_path) or not self.path.exists():
                    self._compact_now()
                else:  # the journals are empty: the snapshot is not rewritten (seconds at a million records)
                    self._drop_journals()
            except OSError as exc:
                log.warning("could not fold the journal into %s (%s); the journal keeps every change", self.path, exc.strerror or exc)
            finally:
                self._lock_file.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


PROBE_BYTES = 4096  # a block: a store that cannot write one cannot record a photo


def _probe_room(path: Path) -> None:
    """Raise OSError (ENOSPC, EDQUOT, EROFS, ...) unless the database's folder takes one block more
    (written, fsynced, removed): started on a full disk, a store says so at once, in one line."""
    probe = path.with_name(path.name + ".probe")
    try:
        with probe.open("wb") as f:
            f.write(bytes(PROBE_BYTES))
            f.flush()
            os.fsync(f.fileno())
    finally:
        probe.unlink(missing_ok=True)


def _holds_changes(*journals: Path) -> bool:
    """Whether any of these journals holds a line (a missing or empty one holds none)."""
    return any(j.exists() and j.stat().st_size > 0 for j in journals)


def _unwritable(path: Path, exc: OSError) -> StoreError:
    return StoreError(f"cannot write the database {path}: {exc.strerror or exc}: free some space or fix its folder's permissions")


def open_tinydb(path: Path) -> TinyDB:
    """The database as a plain TinyDB (for scripts and tests): `open_tinydb(p).table("photos")`."""
    return TinyDB(path, storage=JournalStorage)
