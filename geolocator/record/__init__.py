"""The typed record that travels through the pipeline and is what the store keeps."""

from __future__ import annotations

import dataclasses
import enum
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class Status(str, enum.Enum):
    LOCATED = "located"
    UNLOCATED = "unlocated"  # the AI looked and could not place it
    PENDING = "pending"  # waiting for the AI (Ollama unreachable): retried with backoff
    FAILED = "failed"  # unreadable file: moved to failed/
    DUPLICATE = "duplicate"  # same content as an earlier record: moved to duplicates/
    TRACK = "track"  # not a photo: a GPS track file (GPX, KML, NMEA, ...) kept in library/tracks/


# The photos we place (in the library, with or without a location); failed, duplicate and track
# files have no location of their own.
PLACEABLE = frozenset({Status.LOCATED, Status.UNLOCATED, Status.PENDING})
# Why a photo has no location (its `error`), when nothing went wrong.
WAITING_FOR_AI = "waiting for the AI"
AI_DISABLED = "no location in the file, and the AI is turned off ([ollama] enabled = false)"


class Source(str, enum.Enum):
    EXIF = "exif"  # any metadata the file carries: EXIF, XMP, sidecar, QuickTime atoms
    AI = "ai"
    MANUAL = "manual"
    TRACK = "track"  # interpolated on a GPS track (GPX, KML, NMEA, GeoJSON, Takeout)
    NEARBY = "nearby"  # from located photos taken just before and after
    COPY = "copy"  # the location of the photo it is a copy of (the same picture: geolocator.locations.copies)


class GpsOrigin(str, enum.Enum):
    """Where in or beside a file its point was read."""

    EXIF = "exif"
    XMP = "xmp"  # an XMP packet inside the file
    SIDECAR = "sidecar"  # NAME.xmp / NAME.EXT.xmp beside it
    QUICKTIME = "quicktime"  # a video's location atoms


@dataclass(frozen=True)
class SidecarPacket:
    """An XMP sidecar as read beside a file (at most its reader's bound): read once, both for the
    point and for who wrote it (`geolocator.locations.sidecar.parse_sidecar`)."""

    name: str
    data: bytes


@dataclass(frozen=True)
class PhotoMetadata:
    """What a file says about itself. lat/lon are both None when it carries no usable location."""

    lat: float | None = None
    lon: float | None = None
    altitude: float | None = None
    taken_at: str | None = None  # ISO 8601, with the UTC offset when the file records one
    make: str | None = None
    model: str | None = None
    serial: str | None = None  # the body's serial number (EXIF BodySerialNumber): with `camera`, which camera
    gps_origin: GpsOrigin | None = None  # where the point was read
    gps_utc: datetime | None = None  # the GPS time stamp (UTC, aware), when the file carries one
    gps_error_m: float | None = None  # how far off the point may be, in metres (XMP exif:GPSHPositioningError)
    gps_sidecar: SidecarPacket | None = None  # the sidecar the point was read from (gps_origin SIDECAR)

    @property
    def has_location(self) -> bool:
        return self.lat is not None and self.lon is not None


    @property
    def camera(self) -> str | None:
        parts = [p for p in (self.make, self.model) if p]
        if len(parts) == 2 and parts[1].lower().startswith(parts[0].lower()):
            return parts[1]  # "Canon" + "Canon EOS 40D" -> "Canon EOS 40D"
        return " ".join(parts) or None


@dataclass(frozen=True, slots=True)
class Location:
    """Where a photo was taken, by which source, how sure, and what the place is called.

    The ten location fields are declared here once: a `PhotoRecord` and each entry of its history
    (`LocationChange`) are Locations with more fields, stored flat. Change a record's location
    only through `geolocator.locations` (`Locations`), which applies the ranking and the history.
    `source` None with no point: no location (pending for the AI, or unlocated).
    """

    source: Source | None = None
    lat: float | None = None
    lon: float | None = None
    altitude: float | None = None
    place: str | None = None  # the label: "Neighbourhood, City, Region, Country"
    city: str | None = None  # the label's fields, for searching and grouping
    region: str | None = None
    country_code: str | None = None
    confidence: float | None = None  # 0..1 for estimates (AI); None for a point read or placed
    radius_km: float | None = None  # uncertainty radius (AI, track, nearby)

    @property
    def has_location(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def location(self) -> Location:
        """The location part alone (of a record or history entry): a plain `Location`."""
        return Location(**{name: getattr(self, name) for name in LOCATION_FIELDS})


LOCATION_FIELDS = tuple(f.name for f in dataclasses.fields(Location))
NOWHERE = Location()  # no location at all


@dataclass(frozen=True, slots=True, kw_only=True)
class AIEstimate(Location):
    """The outcome of asking the vision model: a Location (source ai, with its confidence, radius
    and place as resolved), or none when the model could not place it; and what it said."""

    description: str | None
    model: str
    prompt_version: str
    raw_answer: str  # the model's text, exactly as received
    decisions: tuple[str, ...] = ()  # why each decision was taken, in order


class ChangeKind(str, enum.Enum):
    EARLIER = "earlier"  # the location the record had before its history was kept
    SET = "set"  # a new location (manual, AI, track, nearby, file)
    REVERT = "revert"  # an earlier location restored


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationChange(Location):
    """One entry of a record's location history: the location it took on, when, and by whom.

    `n` numbers the entries (never reused, even once old ones are dropped); `prev` is the `n`
    of the entry a revert goes back to, so repeated reverts walk back rather than toggle.
    lat/lon None means the record was left without a location; `status` then says whether it
    waited for the AI (pending) or not (unlocated), so a revert restores exactly that.
    """

    n: int
    prev: int | None
    kind: ChangeKind
    at: str  # ISO 8601 time of the change
    by: str  # who or what made it: "page", "cli", "ai", "track", "nearby", "import"...
    status: Status | None = None  # the record's status then (None in entries written before it was kept)
    why: str | None = None  # what prompted it, when not the usual (a camera's clock corrected)

    def to_dict(self) -> dict[str, Any]:
        """The stored form; None values are left out to keep long histories small."""
        data = {name: getattr(self, name) for name in _CHANGE_FIELDS}
        data["kind"] = self.kind.value
        data["source"] = self.source.value if self.source else None
        data["status"] = self.status.value if self.status else None
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocationChange:
        source, status = data.get("source"), data.get("status")
        values: dict[str, Any] = {name: data.get(name) for name in _CHANGE_FIELDS}
        values["kind"] = ChangeKind(data["kind"])
        values["source"] = Source(source) if source else None
        values["status"] = Status(status) if status else None
        return cls(**values)


_CHANGE_FIELDS = tuple(f.name for f in dataclasses.fields(LocationChange))


@dataclass(frozen=True, slots=True)
class ClockSync:
    """A person's word on when a photo was taken ("Fix this camera's clock" on the map page): a
    sync point for its camera's clock (geolocator.locations.clocks), kept on the photo so that it
    lasts, and applies to the photos of that camera filed later."""

    utc: str  # ISO 8601 (aware): the true time of the photo
    first_day: str  # ISO dates: the wall-clock days of the camera's photos it times
    last_day: str
    how: str  # where the true time came from: the track point clicked, or a time typed
    at: str  # when it was given

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClockSync:
        return cls(**{f.name: str(data[f.name]) for f in dataclasses.fields(cls)})


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoRecord(Location):
    """One photo (or track file), keyed by the sha256 of its content: its `Location` and the rest
    of what we know of it. Stored as a flat JSON object.

    Immutable: change one with `dataclasses.replace`, so a stored record is never altered behind
    the store's back.
    """

    id: str
    sha256: str
    name: str  # original file name as it arrived in the inbox
    path: str | None  # relative to the library (or to failed/ or duplicates/, per status); in place, to the inbox (Folders.root)
    status: Status
    taken_at: str | None = None
    camera: str | None = None
    camera_serial: str | None = None  # the body's serial number, when the file gives it: part of which camera it is
    description: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    ai_raw: str | None = None
    ai_decisions: tuple[str, ...] = ()
    history: tuple[LocationChange, ...] = ()  # every location it took on, oldest first (geolocator.locations.history)
    taken_utc: str | None = None  # ISO 8601 capture time in UTC, when some basis gave it
    time_basis: str | None = None  # which: a geolocator.locations.capture_time.TimeBasis value
    time_source: str | None = None  # where `taken_at` came from when the file records none: "the file name ...", "its original ..."
    decisions: tuple[str, ...] = ()  # why a track, nearby or copy placement was (or was not) taken
    declined: tuple[Source, ...] = ()  # sources the user reverted away from: never applied again on their own
    clock_sync: ClockSync | None = None  # a sync point for its camera's clock, given on the map page
    sidecar_due: bool = False  # intent: its XMP sidecar must be brought in step with its location
    error: str | None = None  # why it failed, is pending or unlocated: one line
    warning: str | None = None  # what is odd about a file recorded all the same: "truncated: JPEG without its end marker ..."
    duplicate_of: str | None = None
    phash: str | None = None  # its picture's perceptual signature (geolocator.locate.pictures); "" too plain to compare; OWED: to be hashed
    copy_of: str | None = None  # the id of the photo it was found a copy of (its location is then that one's, source copy)
    attempts: int = 0  # AI attempts so far
    retry_at: str | None = None  # ISO time of the next AI attempt, for pending records
    moving_from: str | None = None  # intent: set (to the inbox path) until the move to `path` is done
    sidecars: tuple[str, ...] = ()  # the photo's .xmp sidecars that came with it, relative like `path`
    sidecar_moves: tuple[tuple[str, str], ...] = ()  # intent: (sidecar path, its inbox path) until moved
    file_stat: tuple[int, int, int] | None = None  # in place: (size, mtime_ns, inode) of its file as last read: unchanged, not read again
    missing_since: str | None = None  # in place: when its file was found gone (the record and its history stay)
    added_at: str = ""
    updated_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _FIELD_NAMES}
        data["status"] = self.status.value
        data["source"] = self.source.value if self.source else None
        for name, stored_form in _STORED_FORMS:
            value = data[name]
            data[name] = None if value is None else stored_form(value)
        return data

    def stored(self) -> dict[str, Any]:
        """The form the store writes: `to_dict` without the fields at their default (most of a
        record's 45 are None or empty), which `from_dict` fills in again. Half the bytes to
        write, and to parse again at start-up. Only the fields kept are converted (as `to_dict`
        does): building the whole dict first cost twice as much."""
        data = {}
        for name in _FIELD_NAMES:
            value = getattr(self, name)
            if value != _DEFAULTS.get(name, _REQUIRED_FIELD):
                data[name] = value
        data["status"] = self.status.value
        if self.source:
            data["source"] = self.source.value
        for name, stored_form in _STORED_FORMS:
            if name in data:
                data[name] = stored_form(data[name])
        return data

    def stamped(self, now: str) -> PhotoRecord:
        """The copy the store keeps: updated `now`, and added `now` unless it was before. Made
        slot by slot: `dataclasses.replace` (through the frozen `__init__`, 45 fields) was half
        of what putting 100k records cost."""
        copy = object.__new__(PhotoRecord)
        for name, set_slot in _SLOT_SETTERS:
            set_slot(copy, getattr(self, name))
        _SLOT_SETTERS_BY_NAME["updated_at"](copy, now)
        if not self.added_at:
            _SLOT_SETTERS_BY_NAME["added_at"](copy, now)
        return copy

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhotoRecord:
        """A record from its stored form (`stored` or `to_dict`); unknown keys are ignored, missing
        optional ones defaulted. Fills the slots directly rather than through the frozen
        `__init__` (`_loader`): loading 100k records is part of start-up."""
        try:
            return _load(data)
        except KeyError:
            missing = _REQUIRED - data.keys()
            if missing:
                raise KeyError(f"record lacks {', '.join(sorted(missing))}") from None
            raise


def _set_converted(record: PhotoRecord, data: dict[str, Any]) -> None:
    """The fields of `record` that are not stored as they are (tuples, nested records), when one holds something."""
    history = data["history"]
    _SLOT_SETTERS_BY_NAME["history"](record, tuple(LocationChange.from_dict(change) for change in history) if history else ())
    _SLOT_SETTERS_BY_NAME["ai_decisions"](record, tuple(data["ai_decisions"] or ()))
    _SLOT_SETTERS_BY_NAME["sidecars"](record, tuple(data["sidecars"] or ()))
    _SLOT_SETTERS_BY_NAME["sidecar_moves"](record, tuple((str(path), str(source)) for path, source in data["sidecar_moves"] or ()))
    _SLOT_SETTERS_BY_NAME["decisions"](record, tuple(data["decisions"] or ()))
    _SLOT_SETTERS_BY_NAME["declined"](record, tuple(_SOURCES.get(s) or Source(s) for s in data["declined"] or ()))
    sync = data["clock_sync"]
    _SLOT_SETTERS_BY_NAME["clock_sync"](record, ClockSync.from_dict(sync) if sync else None)
    seen = data["file_stat"]
    _SLOT_SETTERS_BY_NAME["file_stat"](record, (int(seen[0]), int(seen[1]), int(seen[2])) if seen else None)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(PhotoRecord))
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(PhotoRecord) if f.default is not dataclasses.MISSING}
_REQUIRED = frozenset(_FIELD_NAMES) - _DEFAULTS.keys()
_REQUIRED_FIELD = object()  # never equal to a value: a required field is always stored
_SLOT_SETTERS = tuple((name, getattr(PhotoRecord, name).__set__) for name in _FIELD_NAMES)
_SLOT_SETTERS_BY_NAME = dict(_SLOT_SETTERS)
# Text that many photos share (where they were taken, with what; all default None): interned when loaded.
_REPEATED = ("place", "city", "region", "country_code", "camera", "camera_serial", "time_basis", "model", "prompt_version")
_CONVERTED = ("history", "ai_decisions", "sidecars", "sidecar_moves", "decisions", "declined", "clock_sync", "file_stat")  # stored as lists or objects
# What `to_dict` writes for a field at its default: `stored` leaves those out, `from_dict` puts them back.
_STORED_DEFAULTS = {name: [] if name in _CONVERTED and default is not None else default for name, default in _DEFAULTS.items()}
# How `to_dict` and `stored` write the fields that are not kept as they are (status and source aside; None stays None).
_STORED_FORMS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("history", lambda history: [change.to_dict() for change in history]),
    ("ai_decisions", list), ("sidecars", list), ("decisions", list),
    ("sidecar_moves", lambda moves: [list(move) for move in moves]),
    ("declined", lambda declined: [source.value for source in declined]),
    ("clock_sync", lambda sync: sync.to_dict()),
)  # fmt: skip
_STATUSES = {status.value: status for status in Status}
_SOURCES = {source.value: source for source in Source}


def _loader() -> Callable[[dict[str, Any]], PhotoRecord]:
    """`PhotoRecord.from_dict`: one line per field, made here from the field list (as `dataclasses`
    makes `__init__`), each reading the stored record merged over `_STORED_DEFAULTS`. A loop over
    the 45 fields, with a `dict.get` and a tuple unpacked for each, cost twice as much at
    start-up. A required field missing raises KeyError; an unknown status or source ValueError."""
    scope: dict[str, Any] = {
        "new": object.__new__, "cls": PhotoRecord, "defaults": _STORED_DEFAULTS, "intern": sys.intern, "converted": _set_converted,
        "statuses": _STATUSES, "sources": _SOURCES, "Status": Status, "Source": Source,
    }  # fmt: skip
    lines = ["def load(data):", "    values = defaults | data", "    record = new(cls)"]
    for index, (name, set_slot) in enumerate(_SLOT_SETTERS):
        scope[f"set_{index}"] = set_slot
        if name in _REPEATED:  # one copy of each in memory (~40 MB less at 100k records)
            lines += [f"    value = values[{name!r}]", f"    set_{index}(record, intern(value) if value.__class__ is str else value)"]
        elif name == "status":  # by value from a dict: calling the Enum costs as much again
            lines += ["    value = values['status']", f"    set_{index}(record, statuses.get(value) or Status(value))"]
        elif name == "source":
            lines += ["    value = values['source']", f"    set_{index}(record, (sources.get(value) or Source(value)) if value else None)"]
        elif name in _CONVERTED:  # empty in most records: its default here, else set by `converted`
            lines.append(f"    set_{index}(record, {_DEFAULTS[name]!r})")
        else:
            lines.append(f"    set_{index}(record, values[{name!r}])")
    held = " or ".join(f"values[{name!r}]" for name in _CONVERTED)
    lines += [f"    if {held}:", "        converted(record, values)", "    return record"]
    exec("\n".join(lines), scope)  # noqa: S102 -- our own field names, made once at import
    load: Callable[[dict[str, Any]], PhotoRecord] = scope["load"]
    return load


_load = _loader()


OWED = "owed"  # the `phash` of a photo filed with GPS of its own, its picture not hashed yet (geolocator.locations.copies)


def record_id(sha256: str) -> str:
    """The short, URL-safe id of a record: the first 16 hex digits of its content hash."""
    return sha256[:16]
