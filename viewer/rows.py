"""The shapes the viewer sends: map rows, counts, GeoJSON features, public records. Pure functions.

`map_row` is the one definition of a row of the map; the page reads columns by name from
`MAP_COLUMNS` and takes rows only from the server (a manual fix answers with the new row).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import threading
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from geolocator.folders import Folders
from geolocator.record import PhotoRecord, Source, Status
from geolocator.store import Store

# Columns of /api/map rows, in order.
MAP_COLUMNS = ("id", "status", "source", "lat", "lon", "date", "name", "radius_km", "error")
# What the API shows of a record: every field but the server-side intent (`moving_from`, an absolute path).
FolderNames = tuple[tuple[str, str], ...]
PUBLIC_FIELDS = tuple(f.name for f in dataclasses.fields(PhotoRecord) if f.name != "moving_from")


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def map_row(r: PhotoRecord, names: FolderNames = ()) -> list[Any]:
    located = r.status is Status.LOCATED
    return [
        r.id,
        r.status.value,
        r.source.value if r.source else None,
        _round(r.lat) if located else None,
        _round(r.lon) if located else None,
        r.taken_at[:10] if r.taken_at else None,
        r.name,
        _round(r.radius_km, 2) if located and r.source is Source.AI else None,
        None if located else hide_folders(r.error, names),
    ]


def counts(records: list[PhotoRecord]) -> dict[str, int]:
    out = {status.value: 0 for status in Status}
    out.update({f"located_{source.value}": 0 for source in Source})
    for r in records:
        out[r.status.value] += 1
        if r.status is Status.LOCATED and r.source:
            out[f"located_{r.source.value}"] += 1
    return out


def feature(r: PhotoRecord) -> dict[str, Any]:
    props = {k: getattr(r, k) for k in ("name", "place", "taken_at", "camera", "confidence", "radius_km", "description", "model")}
    props["source"] = r.source.value if r.source else None
    props["thumb"] = f"/thumb/{r.id}"
    props["image"] = f"/image/{r.id}"
    return {"type": "Feature", "id": r.id, "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]}, "properties": props}


def _relative(path: str | None) -> str | None:
    """A record's path as the API shows it: relative inside its folder, or nothing."""
    if not path:
        return None
    p = PurePosixPath(path)
    return None if p.is_absolute() or ".." in p.parts else path


def folder_names(folders: Folders) -> FolderNames:
    """(absolute path, short name) of each of our folders, longest first, as written and resolved."""
    pairs = set()
    for folder in (folders.inbox, folders.library, folders.failed, folders.duplicates, folders.database.parent):
        for form in (folder, folder.resolve()):
            pairs.add((str(form), folder.name))
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def hide_folders(text: str | None, names: FolderNames) -> str | None:
    """A message without this machine's folder paths: `/srv/photos/inbox/a.jpg` becomes `inbox/a.jpg`."""
    if not text or "/" not in text:
        return text
    for path, name in names:
        text = text.replace(path, name)
    return text


def public_record(r: PhotoRecord, names: FolderNames) -> dict[str, Any]:
    d = r.to_dict()
    out = {f: d[f] for f in PUBLIC_FIELDS}
    out["path"] = _relative(r.path)
    out["error"] = hide_folders(r.error, names)
    return out


def to_json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


class SeqCache:
    """One encoded body per store seq: 100k rows are serialised once, not once per request."""

    def __init__(self, build: Callable[[list[PhotoRecord], int], Any]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._key: int | None = None
        self._value: tuple[bytes, bytes] | None = None

    def get(self, store: Store) -> tuple[bytes, bytes]:
        """(body, gzipped body) for the store as it is now."""
        with self._lock:
            if self._key != store.seq or self._value is None:
                records, seq = store.changed_since(-1)  # everything, with the seq it matches, atomically
                body = to_json(self._build(records, seq))
                self._key, self._value = seq, (body, gzip.compress(body, compresslevel=5))
            return self._value
