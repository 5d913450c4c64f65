"""The shapes the viewer sends: map rows, counts, GeoJSON features, public records. Pure functions.

`map_columns` is the one definition of a row of the map (`map_row` is one of them); the page
reads columns by name from `MAP_COLUMNS` and takes rows only from the server (a manual fix
answers with the new row).
`map_payload` sends the same rows as columns in one binary body, for a whole library at once
(in `newest_first` order, as the full answer of /api/map):

    b"GLM1" | header length (uint32 LE) | header JSON | pad to 8 | column sections, each padded to 8

The header holds instance, seq, counts, `n` rows and, per column in `MAP_COLUMNS` order,
{"name", "kind", "offset", "bytes"} (offset from the end of the padded header; the sections of
`POINT_COLUMNS` come first) and:
- `text`, `opt_text`: UTF-8 values joined by NUL (`opt_text`: None is the empty string; a NUL or
  a lone surrogate in a value is replaced);
- `enum`: one uint8 per row indexing `values` (255 is None);
- `fixed`: one int32 LE per row, the value times `scale` (-2**31 is None): exact for rounded values.
"""

from __future__ import annotations

import dataclasses
import enum
import gzip
import json
import struct
import threading
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from geolocator.folders import Folders
from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import MISSING, Store

# Columns of /api/map rows, in order.
MAP_COLUMNS = ("id", "status", "source", "lat", "lon", "date", "name", "radius_km", "error", "clock")


class Kind(enum.Enum):
    TEXT = "text"
    OPT_TEXT = "opt_text"
    ENUM = "enum"
    FIXED = "fixed"


# How each column of `MAP_COLUMNS` travels in `map_payload`: its kind, and the scale of a fixed one.
MAP_KINDS: dict[str, tuple[Kind, int]] = {
    "id": (Kind.TEXT, 0), "status": (Kind.ENUM, 0), "source": (Kind.ENUM, 0), "lat": (Kind.FIXED, 10**6),
    "lon": (Kind.FIXED, 10**6), "date": (Kind.OPT_TEXT, 0), "name": (Kind.TEXT, 0), "radius_km": (Kind.FIXED, 100),
    "error": (Kind.OPT_TEXT, 0), "clock": (Kind.ENUM, 0),
}
# Sent first: a page can cluster the photos while the other columns are still coming.
POINT_COLUMNS = ("status", "source", "lat", "lon")
PAYLOAD_MAGIC = b"GLM1"
FIXED_NONE = -(2**31)
ENUM_NONE = 255
# What the API shows of a record: every field but the server-side intent (absolute inbox paths).
FolderNames = tuple[tuple[str, str], ...]
PUBLIC_FIELDS = tuple(f.name for f in dataclasses.fields(PhotoRecord) if f.name not in ("moving_from", "sidecar_moves", "file_stat"))


# A capture day a camera cannot have meant: its clock was wrong (never set, reset to its epoch, a
# battery change). Such a day is shown flagged ("camera clock?"), listed after the plausible ones
# and left out of the timeline's range.
EARLIEST_DAY = "1990-01-01"
AHEAD, BEHIND = "ahead", "behind"  # values of the "clock" column: after tomorrow, before EARLIEST_DAY


def camera_clocks(days: list[str | None], today: date) -> list[str | None]:
    """For each capture day: AHEAD after tomorrow (time zones aside, nobody took it yet), BEHIND
    before 1990, None for a plausible day or none."""
    tomorrow = (today + timedelta(days=1)).isoformat()
    return [None if day is None else AHEAD if day > tomorrow else BEHIND if day < EARLIEST_DAY else None for day in days]


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def map_columns(records: list[PhotoRecord], names: FolderNames = ()) -> list[list[Any]]:
    """The map rows of `records` as columns, in `MAP_COLUMNS` order: the one definition of a map
    row. (Column by column, a million rows take a quarter of the time row by row does; enum
    values are read as `_value_`: the `.value` property alone costs as much.)"""
    located = [r.status is Status.LOCATED for r in records]
    days = [_day(r) for r in records]
    return [
        [r.id for r in records],
        [r.status._value_ for r in records],
        [r.source._value_ if r.source else None for r in records],
        [_round(r.lat) if ok else None for r, ok in zip(records, located, strict=True)],
        [_round(r.lon) if ok else None for r, ok in zip(records, located, strict=True)],
        days,
        [r.name for r in records],
        [_round(r.radius_km, 2) if ok and r.source is Source.AI else None for r, ok in zip(records, located, strict=True)],
        [None if ok else hide_folders(r.error, names) for r, ok in zip(records, located, strict=True)],
        camera_clocks(days, date.today()),
    ]


def map_rows(records: list[PhotoRecord], names: FolderNames = ()) -> list[list[Any]]:
    return [list(row) for row in zip(*map_columns(records, names), strict=True)] if records else []


def map_row(r: PhotoRecord, names: FolderNames = ()) -> list[Any]:
    return [column[0] for column in map_columns([r], names)]


def newest_first(records: list[PhotoRecord]) -> list[PhotoRecord]:
    """The order of the page's lists: capture day, newest first, then the days a camera clock got
    wrong (`camera_clocks`), then the undated; within a day, name in UTF-16 code unit order, as
    JavaScript compares strings. The page filters rows sent in this order without sorting them again."""
    days = [_day(r) for r in records]
    order = newest_first_order(days, [r.name for r in records], camera_clocks(days, date.today()))
    return [records[i] for i in order]


def newest_first_order(days: list[str | None], names: list[str], clocks: list[str | None]) -> list[int]:
    """The positions of rows in `newest_first` order, from their capture days, names and clock flags."""
    # Code point order is UTF-16 order but for characters past U+FFFF: encode only when there are some.
    astral = any(not name.isascii() and max(name) > "\uffff" for name in names)
    by_name = sorted(range(len(names)), key=(lambda i: _utf16(names[i])) if astral else names.__getitem__)
    # The plausible days, then the flagged ones, then none: each day's key ranked by a first character.
    keys = ["0" if day is None else ("1" if clock else "2") + day for day, clock in zip(days, clocks, strict=True)]
    return sorted(by_name, key=keys.__getitem__, reverse=True)  # stable: names stay in order within a day


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")


def _day(r: PhotoRecord) -> str | None:
    return r.taken_at[:10] if r.taken_at else None


def counts(records: list[PhotoRecord]) -> dict[str, int]:
    out = {status.value: 0 for status in Status}
    out.update({f"located_{source.value}": 0 for source in Source})
    out[MISSING] = 0
    for r in records:
        out[r.status._value_] += 1
        if r.status is Status.LOCATED and r.source:
            out[f"located_{r.source._value_}"] += 1
        if r.missing_since is not None:
            out[MISSING] += 1
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


def _pad8(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 8)


def _column(kind: Kind, scale: int, values: list[Any], order: np.ndarray) -> tuple[bytes, dict[str, Any]]:
    """One column's section, its values taken in `order`, and what the header says of it."""
    match kind:
        case Kind.TEXT | Kind.OPT_TEXT:
            texts = [values[i] for i in order.tolist()]
            try:
                text = "\0".join(texts)  # all text: a million values in milliseconds
            except TypeError:  # None (no value), or another type: each converted, ten times slower
                texts = ["" if v is None else str(v) for v in texts]
                text = "\0".join(texts)
            if text.count("\0") != max(len(texts) - 1, 0):  # NUL separates values: one inside a value is replaced
                text = "\0".join(t.replace("\0", "\ufffd") for t in texts)
            return text.encode("utf-8", "replace"), {}
        case Kind.ENUM:
            names = sorted({v for v in values if v is not None})
            if len(names) >= ENUM_NONE:
                raise ValueError(f"too many distinct values for an enum column: {len(names)}")
            code: dict[Any, int] = {v: i for i, v in enumerate(names)}
            code[None] = ENUM_NONE
            return np.frombuffer(bytes([code[v] for v in values]), dtype=np.uint8)[order].tobytes(), {"values": names}
        case Kind.FIXED:
            floats = np.array(values, dtype=np.float64)[order]  # None is NaN
            with np.errstate(invalid="ignore"):
                ints = np.where(np.isnan(floats), FIXED_NONE, np.round(floats * scale)).astype("<i4")
            return ints.tobytes(), {"scale": scale}


def map_payload(columns: list[list[Any]], head: dict[str, Any]) -> bytes:
    """`columns` (from `map_columns`, in any order) as the body described above, its rows in
    `newest_first` order; `head` joins the header.

    The columns are best made in the store's order and sorted here: reading a million records in
    the order they were loaded is three times quicker than in `newest_first` order, which visits
    them all over memory."""
    column = {name: columns[MAP_COLUMNS.index(name)] for name in ("date", "name", "clock")}
    order = np.array(newest_first_order(column["date"], column["name"], column["clock"]), dtype=np.intp)
    sections: list[bytes] = []
    described: dict[str, dict[str, Any]] = {}
    offset = 0
    for name in sorted(MAP_COLUMNS, key=lambda c: c not in POINT_COLUMNS):  # the points' columns first
        kind, scale = MAP_KINDS[name]
        data, extra = _column(kind, scale, columns[MAP_COLUMNS.index(name)], order)
        described[name] = {"name": name, "kind": kind.value, "offset": offset, "bytes": len(data), **extra}
        sections.append(_pad8(data))
        offset += len(sections[-1])
    header = to_json({**head, "n": len(columns[0]), "columns": [described[name] for name in MAP_COLUMNS]})
    return b"".join((_pad8(PAYLOAD_MAGIC + struct.pack("<I", len(header)) + header), *sections))


def to_json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


class SeqCache:
    """One encoded body per store seq: 100k rows are serialised once, not once per request.

    `build(records, seq)` makes the body; it is kept only gzipped (at `level`): every browser
    accepts gzip, and a million photos' payload is 60 MB before it, 21 MB after. With
    `stale=True` (for bodies that carry their seq, after which the page asks only for what
    changed), a request that finds the store changed gets the last body at once while the next
    one is made in the background: at a million photos a body takes seconds, and photos may be
    filed every second. `prime` starts making one ahead. Requests that come while a body is being
    made wait for it rather than making a second one."""

    def __init__(self, build: Callable[[list[PhotoRecord], int], bytes], level: int = 5, *, stale: bool = False) -> None:
        self._build = build
        self._level = level
        self._stale = stale
        self._changed = threading.Condition()
        self._key: int | None = None
        self._value: bytes | None = None
        self._building = False

    def prime(self, store: Store) -> None:
        """Start making the body for the store as it is now, unless one is made or being made."""
        with self._changed:
            if self._key != store.seq and not self._building:
                self._start(store)

    def get(self, store: Store) -> bytes:
        """The gzipped body for the store as it is now (or, stale, as it was when last made)."""
        with self._changed:
            if self._value is not None and self._key == store.seq:
                return self._value
            if self._stale:
                if not self._building:
                    self._start(store)
                self._changed.wait_for(lambda: self._value is not None or not self._building)
                if self._value is not None:
                    return self._value
            self._key, self._value = self._make(store)  # not stale, or the background build failed
            return self._value

    def _start(self, store: Store) -> None:
        self._building = True
        threading.Thread(target=self._refresh, args=(store,), name="map-payload", daemon=True).start()

    def _make(self, store: Store) -> tuple[int, bytes]:
        records, seq = store.changed_since(-1)  # everything, with the seq it matches, atomically
        return seq, gzip.compress(self._build(records, seq), compresslevel=self._level)

    def _refresh(self, store: Store) -> None:
        try:
            key, value = self._make(store)
            with self._changed:
                self._key, self._value = key, value
        finally:
            with self._changed:
                self._building = False
                self._changed.notify_all()
