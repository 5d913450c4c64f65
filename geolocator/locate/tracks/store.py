"""The GPS tracks the service knows, memory-mapped from a compact cache, loaded again at each start.

Each track file is recorded as a `Status.TRACK` record whose `path` names it under
library/tracks/. Its points are written once to the track cache (one `<record id>.track` file
beside the database: the tracks' columns as they are in memory, 20 bytes a point) and from then
on mapped, not read: a start maps every known track in milliseconds whatever their size, and
only the pages a lookup touches (a binary search over the times) are ever in memory, so ten
years of location history cost the service next to nothing. A cache file that is missing or
unreadable is rebuilt from the library file; one whose record is gone is simply never read.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import struct
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from geolocator.folders import Folders
from geolocator.locate.tracks.model import Track, TrackError, TrackLimits
from geolocator.locate.tracks.parse import read_track
from geolocator.record import PhotoRecord, Status

log = logging.getLogger(__name__)

# The cache file: MAGIC, the header's length (uint32, little-endian), the header (JSON: the
# tracks' names and point counts), then each column of all the tracks one after the other,
# every column starting at a multiple of 8 bytes. The columns are Track's, in its order.
_MAGIC = b"GLTRACK1"
_COLUMNS = (("times", "<f8"), ("lat_e7", "<i4"), ("lon_e7", "<i4"), ("elevation_m", "<i2"), ("accuracy_m", "<u2"))
_SUFFIX = ".track"


def _padding(size: int) -> bytes:
    return b"\0" * (-size % 8)


def write_cache(path: Path, tracks: Sequence[Track]) -> None:
    """Write `tracks` to the cache file `path` (whole or not at all: a temporary file renamed)."""
    import numpy as np

    header = json.dumps({"tracks": [{"name": t.name, "points": len(t)} for t in tracks]}).encode()
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        fh.write(_MAGIC + struct.pack("<I", len(header)) + header + _padding(len(_MAGIC) + 4 + len(header)))
        for column, dtype in _COLUMNS:
            size = 0
            for track in tracks:
                values = np.ascontiguousarray(getattr(track, column), dtype=dtype)
                fh.write(values.data.cast("B"))
                size += values.nbytes
            fh.write(_padding(size))
        # Written once, then only looked up: on disk now, and out of the page cache, where the
        # writes left it in large blocks that a lookup would map whole (2 MB for 8 bytes read).
        fh.flush()
        os.fsync(fh.fileno())
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    os.replace(tmp, path)


def map_cache(path: Path) -> tuple[Track, ...]:
    """The tracks of a cache file, their arrays mapping it read-only. Raises ValueError when the
    file is not one we wrote whole (FileNotFoundError when there is none)."""
    import numpy as np

    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < len(_MAGIC) + 4:
            raise ValueError("too short")
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    mapped.madvise(mmap.MADV_RANDOM)  # a binary search reads a page here and there: no read-ahead
    if mapped[: len(_MAGIC)] != _MAGIC:
        raise ValueError("not a track cache file")
    (header_size,) = struct.unpack_from("<I", mapped, len(_MAGIC))
    start = len(_MAGIC) + 4
    try:
        header: Any = json.loads(mapped[start : start + header_size])
        parts = [(track["name"], int(track["points"])) for track in header["tracks"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"a damaged header: {exc}") from None
    total = sum(points for _, points in parts)
    offset = start + header_size + len(_padding(start + header_size))
    columns: list[Any] = []
    for _, dtype in _COLUMNS:
        width = np.dtype(dtype).itemsize
        if offset + total * width > size:
            raise ValueError("cut short")
        columns.append(np.frombuffer(mapped, dtype=dtype, count=total, offset=offset))
        offset += total * width + len(_padding(total * width))
    if offset != size:
        raise ValueError(f"{size - offset:+,} bytes more than its header says")
    tracks, first = [], 0
    for name, points in parts:
        if points < 1:
            raise ValueError("an empty track")
        tracks.append(Track(name if isinstance(name, str) else None, *(column[first : first + points] for column in columns)))
        first += points
    return tuple(tracks)


class TrackStore:
    """Tracks by the id of their record. Thread-safe."""

    def __init__(self, folders: Folders, limits: TrackLimits = TrackLimits()) -> None:  # noqa: B008 (frozen)
        self.folders = folders
        self.limits = limits
        self._lock = threading.Lock()
        self._tracks: dict[str, tuple[Track, ...]] = {}

    def __len__(self) -> int:
        return len(self._tracks)

    def load(self, records: Iterable[PhotoRecord]) -> int:
        """Load the tracks of every track record (call after interrupted moves are recovered).
        Returns how many files were loaded; one that cannot be read is logged and skipped."""
        loaded = 0
        for record in records:
            if record.status is not Status.TRACK or record.path is None or record.id in self._tracks:
                continue
            try:
                self.load_one(record)
                loaded += 1
            except (OSError, TrackError, ValueError) as exc:
                log.error("track %s (%s) cannot be loaded: %s", record.name, record.path, exc)
        if loaded:
            log.info("loaded %d track file(s), %d points", loaded, sum(len(t) for ts in self._tracks.values() for t in ts))
        return loaded

    def load_one(self, record: PhotoRecord) -> None:
        """Load one track record's points: mapped from the cache, else read from its file and
        cached (raises why not)."""
        cached = self._cache_of(record.id)
        try:
            tracks = map_cache(cached)
        except FileNotFoundError:
            tracks = ()
        except (OSError, ValueError) as exc:
            log.warning("track cache %s is unreadable (%s): reading the track again", cached, exc)
            tracks = ()
        if not tracks:
            path = self.folders.file_of(record)
            if path is None:
                raise ValueError("the record names no file")
            self.add(record.id, read_track(path, self.limits).tracks)
            return
        with self._lock:
            self._tracks[record.id] = tracks

    def add(self, record_id: str, tracks: Sequence[Track]) -> None:
        """Keep the tracks of a track record: written to the cache and mapped from it, so the
        arrays the parser made are freed (kept in memory only when the cache cannot be written)."""
        cached = self._cache_of(record_id)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_cache(cached, tracks)
            tracks = map_cache(cached)
        except (OSError, ValueError) as exc:  # only a cache: the next start reads the track file instead
            log.warning("cannot write the track cache in %s: %s", cached.parent, exc)
        with self._lock:
            self._tracks[record_id] = tuple(tracks)

    def of(self, record_id: str) -> tuple[Track, ...]:
        with self._lock:
            return self._tracks.get(record_id, ())

    def around(self, start: datetime, end: datetime) -> list[Track]:
        """The tracks that have a point between `start` and `end` (aware) or span them."""
        t0, t1 = start.timestamp(), end.timestamp()
        with self._lock:
            every = [track for tracks in self._tracks.values() for track in tracks]
        return [track for track in every if float(track.times[0]) <= t1 and float(track.times[-1]) >= t0]

    def _cache_of(self, record_id: str) -> Path:
        return self.folders.track_cache / f"{record_id}{_SUFFIX}"
