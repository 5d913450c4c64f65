"""Photos sent by the page: a multipart body read straight from the socket, each file part
written to a hidden temporary file, fsynced, then given its real name without overwriting.

The body is never spooled by anyone else: `receive` reads `wsgi.input` in chunks and feeds
them to multipart's push parser (no buffering of part bodies), so memory stays at one chunk
whatever the size. A file part goes to `.upload-<random>.part` in the target folder (a name the
watcher ignores), and only once complete and fsynced is it linked to its sanitised name
(`mover.move_noreplace`: EEXIST means taken, so `name-2`, `name-3`... are tried). A body cut
short or malformed, or a client that disconnects, removes the temporary file of the part in
progress (see `_Part.abandon`); files already placed stay where they are and are reported.
A full disk (ENOSPC, or a quota: EDQUOT) removes the part's temporary file first (removing needs
no space), reads the rest of the body without keeping it, so that the client gets the answer
rather than a broken pipe, and raises `DiskFull` (the route answers 507).

A crash (kill -9, power cut) mid-upload leaves its temporary file behind, hidden from the
watcher: `recover_temps`, run when the viewer starts, hands each one to the inbox (see there).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import multipart

from geolocator.fileio import open_regular
from geolocator.locate.metadata.formats import HEAD_SIZE, Kind, sniff
from geolocator.move.mover import move_noreplace
from geolocator.move.naming import fit_name, numbered_name
from geolocator.record import record_id
from geolocator.watch.watcher import is_ignored

CHUNK = 256 * 1024
FIELD = "file"  # the name of the parts that carry files
MAX_PARTS = 1000
MAX_CLASHES = 10_000  # name-2 ... name-10000: past that, something is wrong
TEMP_PREFIX = ".upload-"
TEMP_SUFFIX = ".part"
TEMP_RE = re.compile(rf"{re.escape(TEMP_PREFIX)}[0-9a-f]{{32}}{re.escape(TEMP_SUFFIX)}")
FALLBACK_NAME = "upload"
INTERRUPTED = "upload-interrupted"  # the name a crash's leftover is handed to the inbox under
# A leftover's suffix, from its content (its sent name is not known any more).
SUFFIXES = {
    Kind.JPEG: ".jpg", Kind.TIFF: ".tif", Kind.PNG: ".png", Kind.WEBP: ".webp", Kind.JXL: ".jxl",
    Kind.HEIF: ".heic", Kind.CR3: ".cr3", Kind.RAF: ".raf", Kind.QUICKTIME: ".mov",
}

log = logging.getLogger(__name__)


class UploadError(ValueError):
    """The request cannot be read as an upload; the message says why."""


class DiskFull(Exception):
    """The folder's disk (or the user's quota) is full: the file in progress is not kept."""


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class Received:
    """One file part: the name it was sent with, and where it went (or why it did not)."""

    sent_as: str
    saved_as: str | None = None
    id: str | None = None  # the record id its content will get (the first 16 hex digits of its SHA-256)
    size: int = 0
    error: str | None = None


def safe_name(sent: str) -> str:
    """A plain file name from what a client sent: no folders (`../../x.jpg` -> `x.jpg`, Windows
    paths too), no control or format characters, not hidden (the watcher ignores dotfiles), not
    longer than a filesystem allows. Never empty."""
    base = sent.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] not in "CZ" or ch == " ")
    base = base.strip().lstrip(".").strip()
    return fit_name(base) if base else FALLBACK_NAME


def temp_name() -> str:
    return f"{TEMP_PREFIX}{uuid.uuid4().hex}{TEMP_SUFFIX}"


def temp_is_ignored(patterns: Iterable[str]) -> bool:
    """Whether the watcher leaves our temporary files alone with these ignore patterns."""
    return is_ignored(Path(temp_name()), tuple(patterns))


def boundary_of(content_type: str) -> str:
    kind, options = multipart.parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if kind != "multipart/form-data" or not boundary:
        raise UploadError("send multipart/form-data with one or more parts named 'file'")
    return str(boundary)


def place(temp: Path, folder: Path, name: str) -> str:
    """Give the complete file `temp` the name `name` in `folder`, or `name-2`... when taken; the name used."""
    for number in range(1, MAX_CLASHES + 1):
        candidate = name if number == 1 else numbered_name(name, number)
        try:
            move_noreplace(temp, folder / candidate)
        except FileExistsError:
            continue
        return candidate
    raise UploadError(f"{name}: no free name left in the folder")


class _Part:
    """The file part being received: its temporary file and running hash."""

    def __init__(self, folder: Path, sent_as: str) -> None:
        self.sent_as = sent_as
        self.temp = folder / temp_name()
        self.file: IO[bytes] = open(self.temp, "xb")  # noqa: SIM115 - closed in finish/abandon
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray) -> None:
        self.file.write(data)
        self.hash.update(data)
        self.size += len(data)

    def finish(self) -> Path:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        return self.temp

    def abandon(self) -> None:
        """The body stopped before this part ended (cut short, malformed, the client gone). The
        temporary file is removed, not filed: it is our own copy and incomplete by construction
        (its closing boundary never came), it never had a name the watcher takes, so it never
        entered the inbox, and the client was never told it arrived: the photo is still on the
        client's side, to be sent again. Removed before it is closed: on a full disk, closing
        flushes the buffer and fails again, and a removal needs no space."""
        with contextlib.suppress(FileNotFoundError):
            self.temp.unlink()
        with contextlib.suppress(OSError):
            self.file.close()


def _read_exactly(stream: Any, length: int) -> Iterable[bytes]:
    remaining = length
    while remaining > 0:
        try:
            chunk = stream.read(min(CHUNK, remaining))
        except (ConnectionError, TimeoutError) as exc:  # the client went away: its upload, not our fault
            raise UploadError(f"the client stopped sending {remaining} bytes short of its Content-Length ({exc.strerror or exc})") from None
        if not chunk:
            raise UploadError(f"the body ended {remaining} bytes short of its Content-Length")
        remaining -= len(chunk)
        yield chunk


def receive(stream: Any, length: int, content_type: str, folder: Path, *, ignore: Iterable[str] = (), keep: bool = True) -> list[Received]:
    """Read a multipart body of `length` bytes from `stream` and put each `file` part into `folder`.

    With `keep=False` a part stays under its temporary name (for a caller that only reads it and
    then removes it: see `/api/locate`); `saved_as` is then that temporary name. A name matching
    the watcher's `ignore` patterns would never be processed, so such a part is refused (its
    `error` says why). Raises UploadError for a body that is not a readable multipart stream,
    DiskFull when the folder's disk fills up (the rest of the body is then read and dropped).
    """
    patterns = tuple(ignore)
    parser = multipart.PushMultipartParser(boundary_of(content_type), length, max_segment_count=MAX_PARTS)
    done: list[Received] = []
    current: _Part | None = None
    skipping: Received | None = None
    chunks = _read_exactly(stream, length)
    try:
        for chunk in chunks:
            for event in parser.parse(chunk):
                if isinstance(event, multipart.MultipartSegment):
                    if event.name != FIELD or event.filename is None:
                        continue  # another field: read past it
                    name = safe_name(event.filename)
                    if is_ignored(Path(name), patterns):
                        skipping = Received(event.filename, error=f"{name}: names like this are ignored in the inbox ([watch] ignore)")
                    else:
                        current = _Part(folder, event.filename)
                elif event is None:  # the end of a part
                    if current is not None:
                        temp = current.finish()
                        saved = place(temp, folder, safe_name(current.sent_as)) if keep else temp.name
                        done.append(Received(current.sent_as, saved, record_id(current.hash.hexdigest()), current.size))
                        current = None
                    elif skipping is not None:
                        done.append(skipping)
                        skipping = None
                elif current is not None:
                    current.write(event)
        parser.close()
    except multipart.MultipartError as exc:
        raise UploadError(f"not a readable multipart body: {exc}") from None
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise
        lost = current.sent_as if current is not None else "the next file"
        if current is not None:
            current.abandon()
            current = None
        with contextlib.suppress(UploadError):
            for _ in chunks:  # the client still sends: read it all, or it never reads our answer
                pass
        saved = f" ({len(done)} file{'s' if len(done) != 1 else ''} of this upload saved before)" if done else ""
        where = "the inbox" if keep else "the server's temporary folder"
        raise DiskFull(f"no space left on the disk of {where}: {safe_name(lost)} was not saved, nothing of it is kept{saved}; "
                       "free some space and send it again") from None
    finally:
        if current is not None:
            current.abandon()
    return done  # each placed name is durable already (move_noreplace fsyncs the folder)


def recover_temps(folder: Path) -> list[str]:
    """Hand the temporary files of uploads a crash cut off in `folder` to the inbox; call before
    any upload runs. Returns the names they were given.

    Such a file may be whole (the crash came between its fsync and its name) or cut short, and
    nobody can tell which; so nothing of it is deleted. When it has a second link, the crash came
    inside `place` after the photo got its name: only this extra name of the same bytes is
    removed. Else it becomes `upload-interrupted-<id>.<ext>` in the inbox and is filed like any
    file dropped there, with its record: as a photo when whole, to failed/ as incomplete (once
    unchanged for `[watch] incomplete_seconds`) when cut short.
    """
    try:
        leftovers = sorted((e for e in os.scandir(folder) if TEMP_RE.fullmatch(e.name) and e.is_file(follow_symlinks=False)), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    given = []
    for entry in leftovers:
        temp = Path(entry.path)
        if entry.stat(follow_symlinks=False).st_nlink > 1:
            temp.unlink()
            log.warning("removed %s, a second name of an upload placed before a crash", entry.name)
            continue
        with open_regular(temp) as fh:
            kind = sniff(fh.read(HEAD_SIZE))
        token = entry.name[len(TEMP_PREFIX) : len(TEMP_PREFIX) + 8]
        suffix = "" if kind is None else SUFFIXES[kind]
        name = place(temp, folder, f"{INTERRUPTED}-{token}{suffix}")
        log.warning("an upload cut off by a crash was left as %s: handed to the inbox as %s", entry.name, name)
        given.append(name)
    return given
