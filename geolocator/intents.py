"""Crash-safe moves: write the intent, move, clear the intent; finish what a crash left.

1. reserve: the complete final record, plus `moving_from` = the inbox path, is written and
   fsynced BEFORE the file moves (the "intent");
2. move: `mover.move_noreplace` (link + unlink, or copy + link; never overwrites); when the
   reserved name was taken meanwhile, the next free one is reserved and the intent rewritten;
3. flush: `moving_from` is cleared, batched: the folders touched by a batch of moves are
   fsynced once, then one journal write (one fsync) clears all their intents. So an intent is
   never cleared before its move is durable, and a photo costs about one fsync.

A crash before 1 leaves the file in the inbox and no record: it is simply redone. After 1, the
intent says where the file comes from and goes to: `recover()` (run at start, before anything
is watched) finishes the move if the file is still in the inbox, removes the inbox copy if
both exist with the same content, and clears the intent once the file is at its destination.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import io
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import cast

from geolocator import mover
from geolocator.fileio import open_regular
from geolocator.folders import Folders, fsync_dir
from geolocator.record import PhotoRecord, Status
from geolocator.store import Store

log = logging.getLogger(__name__)


def sha256_file(path: Path) -> str:
    """The content hash of a regular file (a FIFO or device raises NotRegularFile, never blocks)."""
    with open_regular(path, follow_symlinks=False) as fh:
        return hashlib.file_digest(cast(io.BufferedReader, fh), "sha256").hexdigest()


_BASE64 = "base64:"


def encode_path(path: Path) -> str:
    """An absolute path as text the store can hold (JSON: valid UTF-8) and `decode_path` turns
    back into exactly the same bytes: verbatim when it is valid UTF-8, else base64 of its bytes
    (a name from a FAT card, b"A\\xe9t\\xe9.jpg"). An absolute path never starts with "base64:"."""
    if not path.is_absolute():
        raise ValueError(f"an intent needs an absolute path, got {path}")
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, held as lone surrogates (PEP 383)
        return _BASE64 + base64.urlsafe_b64encode(os.fsencode(path)).decode("ascii")
    return text


def decode_path(text: str) -> Path:
    if text.startswith(_BASE64):
        return Path(os.fsdecode(base64.urlsafe_b64decode(text[len(_BASE64) :])))
    if not text.startswith("/"):
        raise ValueError(f"not a stored path: {text!r}")
    return Path(text)


def source_of(intent: PhotoRecord) -> Path:
    if intent.moving_from is None:
        raise ValueError(f"record {intent.id} carries no intent")
    return decode_path(intent.moving_from)


class Intents:
    """The intents of moves in progress, the names they reserved, and the lock under which a
    destination is chosen. Safe to use from several threads."""

    def __init__(self, store: Store, folders: Folders, on_finalised: Callable[[list[PhotoRecord]], None] | None = None) -> None:
        self.store = store
        self.folders = folders
        self.lock = threading.Lock()  # choosing a destination and writing its intent are one step
        self._on_finalised = on_finalised
        self._reserved: set[Path] = set()  # destinations of moves in progress
        self._unfinished: list[str] = []  # moved, intent not yet cleared
        self._touched: set[Path] = set()  # folders to fsync before clearing those intents
        self._unfinished_lock = threading.Lock()

    def reserve(self, record: PhotoRecord, folder: Path, source: Path, skip: Path | None = None) -> PhotoRecord:
        """Pick a free name in `folder` and write the intent. Caller holds `lock`."""
        root = self.folders.root(record.status)
        dest = mover.free_name(folder, record.name, self._reserved | ({skip} if skip else set()))
        folder.mkdir(parents=True, exist_ok=True)
        intent = dataclasses.replace(record, path=dest.relative_to(root).as_posix(), moving_from=encode_path(source))
        if intent != record:
            intent = self.store.put(intent)
        self._reserved.add(dest)
        return intent

    def destination(self, intent: PhotoRecord) -> Path:
        dest = self.folders.file_of(intent)
        if dest is None:
            raise ValueError(f"record {intent.id} has no destination")
        return dest

    def move(self, intent: PhotoRecord) -> PhotoRecord:
        """Carry out a reserved move without overwriting; if the name got taken meanwhile,
        reserve the next one. Returns the intent as finally written."""
        source, dest = source_of(intent), self.destination(intent)
        try:
            while True:
                try:
                    mover.move_noreplace(source, dest, durable=False)
                    break
                except FileExistsError:
                    with self.lock:
                        self._reserved.discard(dest)
                        intent = self.reserve(intent, dest.parent, source, skip=dest)
                        dest = self.destination(intent)
        finally:
            with self.lock:
                self._reserved.discard(dest)
        with self._unfinished_lock:
            self._touched.update((source.parent, dest.parent))
        self._finished(intent)
        return intent

    def _finished(self, intent: PhotoRecord) -> None:
        with self._unfinished_lock:
            self._unfinished.append(intent.id)

    def flush(self) -> list[PhotoRecord]:
        """Clear the intents of finished moves (one fsync for all of them)."""
        with self._unfinished_lock:
            ids, self._unfinished = self._unfinished, []
            folders, self._touched = self._touched, set()
        try:
            for folder in folders:
                with contextlib.suppress(FileNotFoundError):  # an inbox sub-folder removed meanwhile
                    fsync_dir(folder)
            done = self.store.update_many(ids, lambda r: dataclasses.replace(r, moving_from=None) if r.moving_from else None) if ids else []
        except BaseException:
            with self._unfinished_lock:  # not cleared: keep them for the next flush
                self._unfinished[:0] = ids
                self._touched |= folders
            raise
        if self._on_finalised is not None and done:
            self._on_finalised(done)
        return done

    def recover(self) -> int:
        """Resolve every intent a previous run left (call before watching). Returns how many."""
        intents = [r for r in self.store.all() if r.moving_from]
        for intent in intents:
            try:
                # Only now, before any worker runs, can a temp copy be known to be abandoned.
                mover.remove_stale_temps(self.destination(intent).parent)
                self.resolve(intent)
            except OSError as exc:
                log.error("cannot finish moving %s to %s now: %s", intent.moving_from, intent.path, exc)
        self.flush()
        if intents:
            log.info("recovered %d interrupted move(s)", len(intents))
        return len(intents)

    def resolve(self, intent: PhotoRecord) -> PhotoRecord:
        """Finish an intent whatever state its move was left in."""
        source, dest = source_of(intent), self.destination(intent)
        src_is_ours = source.is_file() and sha256_file(source) == intent.sha256
        if dest.is_file() and ((source.exists() and os.path.samefile(source, dest)) or sha256_file(dest) == intent.sha256):
            if src_is_ours:  # interrupted between link and unlink (or copy and unlink)
                source.unlink()
                fsync_dir(source.parent)
            self._finished(intent)
            return intent
        if src_is_ours:
            with self.lock:
                if dest.exists():  # our name was taken by something else: claim another
                    intent = self.reserve(intent, dest.parent, source, skip=dest)
                else:
                    self._reserved.add(dest)
            return self.move(intent)
        log.error("%s vanished while being moved to %s; recording it as failed", source, dest)
        return self.store.put(dataclasses.replace(intent, status=Status.FAILED, path=None, moving_from=None, error="the file disappeared while it was being moved"))
