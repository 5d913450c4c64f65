"""Crash-safe moves: write the intent, move, clear the intent; finish what a crash left.

1. reserve: the complete final record, plus `moving_from` = the inbox path, is written and
   fsynced BEFORE the file moves (the "intent"). Several files can be claimed together: each
   is reserved unwritten (`write=False`), then `commit` writes all their intents with one
   journal write (one fsync) before the first of them moves;
2. move: `mover.move_noreplace` (link + unlink, or copy + link; never overwrites); when the
   reserved name was taken meanwhile, the next free one is reserved and the intent rewritten;
3. finish, then flush: once the moves and what follows them are done (the photos a track places,
   their sidecars: the pipeline's `follow`), the intent is marked finished; `moving_from` is then
   cleared, batched: the folders touched by a batch of moves are fsynced once, then one journal
   write (one fsync) clears all their intents. So an intent is never cleared before its move is
   durable and its follow-ups have run, and a photo costs about one fsync.

A crash before 1 (or before a group's `commit`) leaves the files in the inbox and no record:
they are simply redone. After 1, the
intent says where the file comes from and goes to: `recover()` (run at start, before anything
is watched) finishes the move if the file is still in the inbox, removes the inbox copy if
both exist with the same content, and hands back the records so that their follow-ups run
again (`Core.recover`) before their intents are finished and cleared.

In place (`[library] move = false`) a file's intent names the file itself as source and
destination: nothing moves, and the intent only keeps what follows its recording (the photos it
places, its sidecar) to be redone after a crash.

A photo's sidecars ride on the same intent: `sidecar_moves` lists (destination, inbox path)
pairs, moved right after the photo and cleared by the same flush. Inbox paths are stored with
`encode_path`, so a name that is not valid UTF-8 comes back as exactly the same bytes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import logging
import os
import stat
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

from geolocator.fileio import open_regular, path_as_text, path_from_text
from geolocator.folders import Folders, fsync_dir
from geolocator.move import mover
from geolocator.move.naming import NAME_MAX_BYTES, PHOTO_NAME_MAX_BYTES, readable_name, sidecar_name
from geolocator.record import PLACEABLE, PhotoRecord, Status
from geolocator.record.events import Event, Events
from geolocator.record.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")

SHORTENED = "its name was shortened to"  # the decision a photo filed under a shorter name carries


def sha256_file(path: Path) -> str:
    """The content hash of a regular file (a FIFO or device raises NotRegularFile, never blocks);
    of a symbolic link, the hash of where it points (never followed: its target is not ours)."""
    if os.path.islink(path):
        return hashlib.sha256(b"symbolic link\0" + os.fsencode(os.readlink(path))).hexdigest()
    with open_regular(path, follow_symlinks=False) as fh:
        return hashlib.file_digest(cast(io.BufferedReader, fh), "sha256").hexdigest()


def is_entry(path: Path) -> bool:
    """A regular file or a symbolic link is there (a link is moved as itself, never followed)."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return False
    return stat.S_ISREG(mode) or stat.S_ISLNK(mode)


def same_entry(a: Path, b: Path) -> bool:
    """`a` and `b` are one file (two links of it), not following symbolic links."""
    first, second = os.lstat(a), os.lstat(b)
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


_BASE64 = "base64:"


def encode_path(path: Path) -> str:
    """An absolute path as text the store can hold (JSON: valid UTF-8) and `decode_path` turns
    back into exactly the same bytes: verbatim when it is valid UTF-8, else base64 of its bytes
    (a name from a FAT card, b"A\\xe9t\\xe9.jpg"). An absolute path never starts with "base64:"."""
    if not path.is_absolute():
        raise ValueError(f"an intent needs an absolute path, got {path}")
    return path_as_text(path, _BASE64)


def decode_path(text: str) -> Path:
    if not text.startswith(("/", _BASE64)):
        raise ValueError(f"not a stored path: {text!r}")
    return path_from_text(text, _BASE64)


def source_of(intent: PhotoRecord) -> Path:
    if intent.moving_from is None:
        raise ValueError(f"record {intent.id} carries no intent")
    return decode_path(intent.moving_from)


@dataclass(frozen=True)
class _Done:
    """Moves carried out whose intent can be cleared: the photo's, and/or some sidecars'."""

    record_id: str
    moving_from: str | None
    sidecar_moves: tuple[tuple[str, str], ...]


def _replaced(items: tuple[T, ...], old: T, new: T | None) -> tuple[T, ...]:
    """`items` with `old` replaced by `new` (dropped when `new` is None)."""
    out: list[T] = []
    for item in items:
        if item != old:
            out.append(item)
        elif new is not None:
            out.append(new)
    return tuple(out)


class Intents:
    """The intents of moves in progress, the names they reserved, and the lock under which a
    destination is chosen. Safe to use from several threads."""

    def __init__(self, store: Store, folders: Folders, events: Events | None = None) -> None:
        self.store = store
        self.folders = folders
        self.lock = threading.Lock()  # choosing a destination and writing its intent are one step
        self.sources: set[Path] = set()  # inbox files (photos and sidecars) being moved; under `lock`
        self._events = events
        self._reserved: set[Path] = set()  # destinations of moves in progress; under `lock`
        self._unfinished: list[_Done] = []  # moved, intent not yet cleared
        self._touched: set[Path] = set()  # folders to fsync before clearing those intents
        self._unfinished_lock = threading.Lock()

    # -- choosing names (caller holds `lock`) -----------------------------------------------------
    def reserve(self, record: PhotoRecord, folder: Path, source: Path, sidecars: Sequence[Path] = (), skip: Path | None = None, *, write: bool = True) -> PhotoRecord:
        """Pick a free name in `folder` for the photo and its sidecars (named after it), and
        write the intent; with `write=False` the names are held and the intent is returned for
        `commit` to write (it must, before the file moves). Caller holds `lock`."""
        root = self.folders.root(record.status)
        sidecar_names = [readable_name(sidecar.name) for sidecar in sidecars]

        def companions(photo_name: str) -> list[str]:
            return [sidecar_name(record.name, name, photo_name) for name in sidecar_names]

        limit = PHOTO_NAME_MAX_BYTES if record.status in PLACEABLE else NAME_MAX_BYTES  # room for its sidecar's ".xmp"
        dest = mover.free_name(folder, record.name, self._reserved | ({skip} if skip else set()), companions, limit)
        if len(record.name.encode()) > limit and not any(d.startswith(SHORTENED) for d in record.decisions):
            record = dataclasses.replace(record, decisions=(*record.decisions, f"{SHORTENED} {dest.name}: {limit} bytes at most, so that its sidecar's name fits"))
        if not folder.is_dir():  # one stat in the common case, not a failed mkdir
            folder.mkdir(parents=True, exist_ok=True)
        moves = tuple(((folder / name).relative_to(root).as_posix(), encode_path(sidecar)) for name, sidecar in zip(companions(dest.name), sidecars, strict=True))
        pending = {path for path, _ in record.sidecar_moves}
        kept = tuple(path for path in record.sidecars if path not in pending)
        intent = dataclasses.replace(
            record,
            path=dest.relative_to(root).as_posix(),
            moving_from=encode_path(source),
            sidecars=kept + tuple(path for path, _ in moves),
            sidecar_moves=moves,
        )
        self._hold(intent)
        if not write or intent == record:
            return intent
        return self.commit([intent])[0]

    def commit(self, intents: Sequence[PhotoRecord]) -> list[PhotoRecord]:
        """Write intents reserved with `write=False`, all with one journal write (one fsync).
        When that fails nothing has moved: their names are released and the error raised.
        Caller holds `lock`."""
        try:
            return self.store.put_many(intents)
        except BaseException:
            for intent in intents:
                self._release(intent)
            raise

    def join(self, record: PhotoRecord, sidecar: Path, name: str) -> PhotoRecord:
        """Reserve `name` (or the next free one) beside a filed photo for a sidecar that came
        after it, and write the intent. Caller holds `lock`."""
        root = self.folders.root(record.status)
        dest = mover.free_name(self.destination(record).parent, name, self._reserved)
        move = (dest.relative_to(root).as_posix(), encode_path(sidecar))
        intent = self.store.put(dataclasses.replace(record, sidecars=(*record.sidecars, move[0]), sidecar_moves=(*record.sidecar_moves, move)))
        self._hold(intent)
        return intent

    def release(self, intent: PhotoRecord) -> None:
        """Give back the names of a claim that will not move now (its intent stays written: the
        move is resumed when the file is next seen, or at the next start)."""
        with self.lock:
            self._release(intent)

    def _hold(self, intent: PhotoRecord) -> None:
        for dest, source in self._names(intent):
            self._reserved.add(dest)
            self.sources.add(source)

    def _release(self, intent: PhotoRecord) -> None:
        for dest, source in self._names(intent):
            self._reserved.discard(dest)
            self.sources.discard(source)

    def _names(self, intent: PhotoRecord) -> list[tuple[Path, Path]]:
        """The (destination, inbox file) pairs an intent holds: the photo's, then its sidecars'."""
        root = self.folders.root(intent.status)
        photo = [(self.destination(intent), source_of(intent))] if intent.moving_from is not None else []
        return photo + [(root / path, decode_path(source)) for path, source in intent.sidecar_moves]

    def destination(self, intent: PhotoRecord) -> Path:
        dest = self.folders.file_of(intent)
        if dest is None:
            raise ValueError(f"record {intent.id} has no destination")
        return dest

    # -- moving ------------------------------------------------------------------------------------
    def move(self, intent: PhotoRecord) -> PhotoRecord:
        """Carry out a reserved move, the photo and then its sidecars, without overwriting; if a
        name got taken meanwhile, reserve the next one. Returns the intent as finally written,
        still in force: `finish` it once what follows the move is done, so that a crash before
        then resumes the follow-ups too."""
        source, dest = source_of(intent), self.destination(intent)
        try:
            while True:
                try:
                    mover.move_noreplace(source, dest, durable=False)
                    break
                except FileExistsError:
                    with self.lock:
                        self._release(intent)
                        intent = self.reserve(intent, dest.parent, source, [decode_path(s) for _, s in intent.sidecar_moves], skip=dest)
                        dest = self.destination(intent)
            self._touch(source.parent, dest.parent)
        except BaseException:
            with self.lock:
                self._release(intent)
            raise
        return self.move_sidecars(intent)

    def move_sidecars(self, intent: PhotoRecord) -> PhotoRecord:
        """Carry out the sidecar moves of an intent (`join`'s, or a photo's once it has moved),
        then give back the names it held (the intent is in force until `finish`)."""
        try:
            intent = self._move_sidecars(intent, intent.sidecar_moves)
        finally:
            with self.lock:
                self._release(intent)
        return intent

    def _move_sidecars(self, intent: PhotoRecord, moves: Sequence[tuple[str, str]]) -> PhotoRecord:
        root = self.folders.root(intent.status)
        for planned in moves:
            move = planned
            source, dest = decode_path(move[1]), root / move[0]
            while True:
                try:
                    mover.move_noreplace(source, dest, durable=False)
                    self._touch(source.parent, dest.parent)
                    break
                except FileExistsError:  # taken since it was reserved: the next free name
                    with self.lock:
                        self._reserved.discard(dest)
                        dest = mover.free_name(dest.parent, dest.name, self._reserved)
                        self._reserved.add(dest)
                        new = (dest.relative_to(root).as_posix(), move[1])
                        intent = self.store.put(
                            dataclasses.replace(intent, sidecars=_replaced(intent.sidecars, move[0], new[0]), sidecar_moves=_replaced(intent.sidecar_moves, move, new))
                        )
                        move = new
                except FileNotFoundError:
                    log.warning("the sidecar %s vanished before it could follow its photo", source)
                    intent = self.store.put(dataclasses.replace(intent, sidecars=_replaced(intent.sidecars, move[0], None), sidecar_moves=_replaced(intent.sidecar_moves, move, None)))
                    break
        return intent

    def _touch(self, *folders: Path) -> None:
        with self._unfinished_lock:
            self._touched.update(folders)

    def finish(self, intent: PhotoRecord) -> None:
        """The moves of `intent` and what follows them are done: its intent is cleared at the next `flush`."""
        with self._unfinished_lock:
            self._unfinished.append(_Done(intent.id, intent.moving_from, intent.sidecar_moves))

    # -- clearing ----------------------------------------------------------------------------------
    def flush(self) -> list[PhotoRecord]:
        """Clear the intents of finished moves (one fsync for all of them)."""
        with self._unfinished_lock:
            dones, self._unfinished = self._unfinished, []
            folders, self._touched = self._touched, set()
        by_id: dict[str, list[_Done]] = {}
        for done in dones:
            by_id.setdefault(done.record_id, []).append(done)

        def clear(record: PhotoRecord) -> PhotoRecord | None:
            moving_from, moves = record.moving_from, record.sidecar_moves
            for done in by_id[record.id]:
                if done.moving_from is not None and done.moving_from == moving_from:
                    moving_from = None
                moves = tuple(move for move in moves if move not in done.sidecar_moves)
            if (moving_from, moves) == (record.moving_from, record.sidecar_moves):
                return None
            return dataclasses.replace(record, moving_from=moving_from, sidecar_moves=moves)

        try:
            for folder in folders:
                with contextlib.suppress(FileNotFoundError):  # an inbox sub-folder removed meanwhile
                    fsync_dir(folder)
            cleared = self.store.update_many(list(by_id), clear) if by_id else []
        except BaseException:
            with self._unfinished_lock:  # not cleared: keep them for the next flush
                self._unfinished[:0] = dones
                self._touched |= folders
            raise
        if self._events is not None:
            self._events.send(Event.MOVES_DONE, cleared, "import")
        return cleared

    # -- after a crash -----------------------------------------------------------------------------
    def recover(self) -> list[PhotoRecord]:
        """Resolve every intent a previous run left (call before watching). Returns the records
        whose moves are now done, their intents still in force: what follows their moves may not
        have run, and must before they are `finish`ed."""
        intents = [r for r in self.store.all() if r.moving_from or r.sidecar_moves]
        resolved = []
        for intent in intents:
            if self.in_place(intent):  # recorded where it is: nothing moves, only what follows is redone
                resolved.append(intent)
                continue
            try:
                # Only now, before any worker runs, can a temp copy be known to be abandoned.
                mover.remove_stale_temps(self.destination(intent).parent)
                resolved.append(self.resolve(intent))
            except OSError as exc:
                log.error("cannot finish moving %s to %s now: %s", intent.moving_from, intent.path, exc)
        return resolved

    def in_place(self, intent: PhotoRecord) -> bool:
        """An intent of a file recorded where it is (`[library] move = false`): its source is its
        destination, so there is nothing to move, and never a copy to remove."""
        return intent.moving_from is not None and not intent.sidecar_moves and source_of(intent) == self.folders.file_of(intent)

    def resolve(self, intent: PhotoRecord) -> PhotoRecord:
        """Finish an intent whatever state its moves were left in."""
        if self.in_place(intent):
            return intent
        if intent.moving_from is not None:
            source, dest = source_of(intent), self.destination(intent)
            src_is_ours = is_entry(source) and sha256_file(source) == intent.sha256
            if is_entry(dest) and ((is_entry(source) and same_entry(source, dest)) or sha256_file(dest) == intent.sha256):
                if src_is_ours:  # interrupted between link and unlink (or copy and unlink)
                    source.unlink()
                    fsync_dir(source.parent)
            elif src_is_ours:  # the move never happened (the sidecars follow the photo: neither did theirs)
                with self.lock:
                    if dest.exists():  # our name was taken by something else: claim another
                        intent = self.reserve(intent, dest.parent, source, [decode_path(s) for _, s in intent.sidecar_moves], skip=dest)
                    else:
                        self._hold(intent)
                return self.move(intent)
            else:
                log.error("%s vanished while being moved to %s; recording it as failed", source, dest)
                failed = dataclasses.replace(intent, status=Status.FAILED, path=None, moving_from=None, sidecars=(), sidecar_moves=(), error="the file disappeared while it was being moved")
                return self.store.put(failed)
        return self._resolve_sidecars(intent)

    def _resolve_sidecars(self, intent: PhotoRecord) -> PhotoRecord:
        root = self.folders.root(intent.status)
        for move in intent.sidecar_moves:
            source, dest = decode_path(move[1]), root / move[0]
            if is_entry(source) and is_entry(dest) and (same_entry(source, dest) or sha256_file(source) == sha256_file(dest)):
                source.unlink()  # interrupted between link and unlink
                fsync_dir(source.parent)
            elif is_entry(source):
                with self.lock:
                    self._hold(intent)
                try:
                    intent = self._move_sidecars(intent, [move])
                finally:
                    with self.lock:
                        self._release(intent)
            elif not is_entry(dest):
                log.warning("the sidecar %s vanished while it was being moved", source)
                intent = self.store.put(dataclasses.replace(intent, sidecars=_replaced(intent.sidecars, move[0], None), sidecar_moves=_replaced(intent.sidecar_moves, move, None)))
        return intent
