"""The GPS tracks the service knows, held in memory for fast lookups, loaded again at each start.

Each track file is recorded as a `Status.TRACK` record whose `path` names it under
library/tracks/. Its points live here as numpy arrays (32 bytes a point), and a compact copy is
written to the track cache (one .npz per record, beside the database) so that a start loads them
without parsing GPX or a year of Takeout JSON again. A cache file that is missing or unreadable
is rebuilt from the library file; one whose record is gone is simply never read.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from geolocator.folders import Folders
from geolocator.locate.tracks.model import Track, TrackError, TrackLimits
from geolocator.locate.tracks.parse import read_track
from geolocator.record import PhotoRecord, Status

log = logging.getLogger(__name__)

_ARRAYS = ("times", "lats", "lons", "elevations", "accuracies")


# numpy is imported in the two functions below, not at the top: a service or scan that meets no
# track never loads it (~0.1 s of every start-up otherwise).
def _to_npz(tracks: Sequence[Track]) -> bytes:
    import numpy as np

    arrays = {f"{name}{i}": getattr(track, name) for i, track in enumerate(tracks) for name in _ARRAYS}
    names = json.dumps([track.name for track in tracks]).encode()
    buffer = io.BytesIO()
    np.savez(buffer, names=np.frombuffer(names, dtype=np.uint8), **arrays)
    return buffer.getvalue()


def _from_npz(path: Path) -> tuple[Track, ...]:
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        names = json.loads(data["names"].tobytes())
        tracks = []
        for i, name in enumerate(names):
            values = [data[f"{array}{i}"] for array in _ARRAYS]
            for value in values:
                value.setflags(write=False)
            tracks.append(Track(name, *values))
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
        """Load one track record's points: from the cache, else from its file (raises why not)."""
        cached = self.folders.track_cache / f"{record.id}.npz"
        try:
            tracks = _from_npz(cached)
        except FileNotFoundError:
            tracks = ()
        except (OSError, ValueError, KeyError) as exc:
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
        """Keep the tracks of a track record, and their compact copy for the next start."""
        with self._lock:
            self._tracks[record_id] = tuple(tracks)
        folder = self.folders.track_cache
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{record_id}.npz.tmp"
            tmp.write_bytes(_to_npz(tracks))
            os.replace(tmp, folder / f"{record_id}.npz")
        except OSError as exc:  # only a cache: the next start reads the track file instead
            log.warning("cannot write the track cache in %s: %s", folder, exc)

    def of(self, record_id: str) -> tuple[Track, ...]:
        with self._lock:
            return self._tracks.get(record_id, ())

    def around(self, start: datetime, end: datetime) -> list[Track]:
        """The tracks that have a point between `start` and `end` (aware) or span them."""
        t0, t1 = start.timestamp(), end.timestamp()
        with self._lock:
            every = [track for tracks in self._tracks.values() for track in tracks]
        return [track for track in every if float(track.times[0]) <= t1 and float(track.times[-1]) >= t0]
