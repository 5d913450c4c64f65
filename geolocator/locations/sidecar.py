"""The XMP sidecar that carries a library photo's location to other programs. (Sidecars that
arrive in the inbox with their photo are geolocator.move.sidecars' business.)

A location that does not come from the file itself (manual, track, nearby, copy; AI estimates only with
`[library] sidecars_ai`) is otherwise only in our database; the sidecar lets digiKam, darktable,
exiftool and Lightroom see it, without the photo's own bytes ever changing. The point is written
as standard `exif:GPSLatitude`/`exif:GPSLongitude` ("DDD,MM.mmmmmmmmk", the XMP form) with
`exif:GPSVersionID`, the altitude when known and `exif:GPSHPositioningError` (metres) when the
location has an uncertainty radius; where it came from (source, confidence, radius, model, place,
when written) goes in our own namespace, so on import a manual fix stays manual and an estimate
stays an estimate.

Merged, never replaced: a sidecar already there (ours edited by darktable, digiKam or exiftool,
or another program's own) keeps every byte we do not own; only our namespace's properties and
the GPS properties we write change (`geolocator.locations.xmp_merge`). GPS that another program
or the user wrote is their word: we never overwrite it, and a withdrawal takes out only the GPS
our Source says we wrote. A file there that is not XMP we can edit (not well-formed, a DTD, too
big, a symlink or a FIFO) is left as it is; the photo's record still holds the location.

Which file, and how it is written (atomically, never through a symlink): see
geolocator.locations.sidecar_files. A sidecar another program saved between our read and our
rename is read and merged again.

`geolocator.locations.sidecar_sync.Sidecars` keeps a photo's sidecar in step with its record,
after every change of its location (`Locations.apply`), reading the record as stored at that
moment. When the record's location is no longer one we state (reverted to the file's own, or to none, or an AI estimate without
`sidecars_ai`), our properties are rewritten to say so, without a point (`Withdrawal`), rather
than the file deleted: we never delete a file, and a sidecar without our point cannot make
another tool show the old one.
"""

from __future__ import annotations

import enum
import errno
import logging
import math
import os
import re
import stat
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from geolocator.fileio import open_regular
from geolocator.locate.metadata import xmp
from geolocator.locations import xmp_merge
from geolocator.locations.sidecar_files import MAX_SIDECAR, Existing, choose, link_new, replace_if_still
from geolocator.locations.sidecar_files import sidecar_path as sidecar_path  # where a new one goes; re-exported
from geolocator.locations.xmp_merge import NotMergeable, QName
from geolocator.record import PhotoRecord, Source, Status

log = logging.getLogger(__name__)

NAMESPACE = "http://geolocator.invalid/ns/1.0/"
PREFIX = "geolocator"
EXIF_NAMESPACE = "http://ns.adobe.com/exif/1.0/"
# Sources a sidecar is written for: everything not read from the file itself.
WRITTEN_SOURCES = frozenset({Source.MANUAL, Source.AI, Source.TRACK, Source.NEARBY, Source.COPY})
NO_LOCATION = "none"  # geolocator:Source of a withdrawn sidecar whose photo has no location now
MAX_TEXT = 500  # characters kept of a place or model name
# The exif: properties we write; a change of location rewrites them all, a withdrawal takes them out.
GPS_WRITTEN = ("GPSVersionID", "GPSLatitude", "GPSLongitude", "GPSMapDatum", "GPSAltitude", "GPSAltitudeRef", "GPSHPositioningError")
_EXIF = "{" + EXIF_NAMESPACE + "}"
_GPS_NAMES = frozenset(_EXIF + name for name in GPS_WRITTEN)
_OURS = "{" + NAMESPACE + "}"
_PREFIXES = {EXIF_NAMESPACE: "exif", NAMESPACE: PREFIX}
_MINUTE_UNITS = 10**8  # minutes to 8 decimals: 2e-10 degrees, far below GPS precision
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# A new sidecar: an empty packet the location is merged into, so new and existing files are written alike.
_EMPTY = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="geolocator">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    '  <rdf:Description rdf:about=""\n'
    f'    xmlns:exif="{EXIF_NAMESPACE}"\n'
    f'    xmlns:{PREFIX}="{NAMESPACE}"/>\n'
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>\n'
).encode()


class WriteOutcome(str, enum.Enum):
    WRITTEN = "written"  # a new sidecar
    MERGED = "merged"  # the sidecar there now says this location (or withdrawal); all else in it kept
    UNCHANGED = "unchanged"  # it already said exactly this
    FOREIGN = "foreign"  # its location is another program's (or, to withdraw, nothing of ours is in it): left alone
    UNUSABLE = "unusable"  # something there we cannot edit (not XMP, not well-formed, too big, not a file): left alone
    ABSENT = "absent"  # no sidecar there, and none needed (a withdrawal never creates one)


@dataclass(frozen=True)
class Provenance:
    """Where a sidecar's point came from, as we recorded it. `source` is None, or EXIF, only in
    a withdrawn sidecar of ours, which carries no point."""

    source: Source | None
    written_at: str  # ISO 8601
    confidence: float | None = None
    radius_km: float | None = None
    model: str | None = None
    place: str | None = None


@dataclass(frozen=True)
class SidecarLocation:
    lat: float
    lon: float
    altitude: float | None
    provenance: Provenance


@dataclass(frozen=True)
class Withdrawal:
    """What our sidecar says once the photo's location is not ours to state: the file's own
    (`source` EXIF) or none at all (`source` None). It carries no point."""

    source: Source | None
    written_at: str


@dataclass(frozen=True)
class SidecarReading:
    """What a sidecar says: its point (None when it has none), its exif:GPSHPositioningError (in
    km, None when it has none) and our provenance (None when the sidecar is not one of ours)."""

    lat: float | None
    lon: float | None
    altitude: float | None
    provenance: Provenance | None
    error_km: float | None = None


@dataclass(frozen=True)
class Plan:
    """What to do with a photo's sidecar: write `data` (outcome WRITTEN or MERGED), or nothing
    (any other outcome), for `reason`."""

    outcome: WriteOutcome
    data: bytes = b""
    reason: str = ""


def location_for(record: PhotoRecord, written_at: str, *, ai: bool = False) -> SidecarLocation | None:
    """What to write beside `record`'s photo, or None: its location came from the file, it has
    none, or it is an AI estimate and `ai` (`[library] sidecars_ai`) is off. An estimate is
    written only with its radius: without one it would look like a GPS fix to other programs."""
    if record.source not in WRITTEN_SOURCES or record.lat is None or record.lon is None:
        return None
    if record.source is Source.AI and not (ai and record.radius_km is not None):
        return None
    return SidecarLocation(
        lat=record.lat,
        lon=record.lon,
        altitude=record.altitude,
        provenance=Provenance(
            source=record.source,
            written_at=written_at,
            confidence=record.confidence,
            radius_km=record.radius_km,
            model=record.model if record.source is Source.AI else None,
            place=record.place,
        ),
    )


def withdrawal_for(record: PhotoRecord, written_at: str) -> Withdrawal:
    """What our sidecar beside `record`'s photo says when `location_for` has nothing to write."""
    located = record.status is Status.LOCATED and record.lat is not None and record.source is Source.EXIF
    return Withdrawal(Source.EXIF if located else None, written_at)


# -- what to write (pure) -------------------------------------------------------------------------


def _coordinate(value: float, positive: str, negative: str) -> str:
    units = round(abs(value) * 60 * _MINUTE_UNITS)
    degrees, minute_units = divmod(units, 60 * _MINUTE_UNITS)
    minutes, fraction = divmod(minute_units, _MINUTE_UNITS)
    return f"{degrees},{minutes}.{fraction:08d}{negative if value < 0 else positive}"


def _metres(km: float) -> str:
    """A radius in km as metres to the centimetre, a rational as exiftool writes it: 25 -> "25000/1"."""
    ratio = Fraction(round(km * 100_000), 100)
    return f"{ratio.numerator}/{ratio.denominator}"


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)[:MAX_TEXT]


def _ours(name: str) -> QName:
    return (NAMESPACE, name)


def _gps(name: str) -> QName:
    return (EXIF_NAMESPACE, name)


def _manages_ours(name: QName) -> bool:
    return name[0] == NAMESPACE


def _manages_ours_and_gps(name: QName) -> bool:
    return name[0] == NAMESPACE or (name[0] == EXIF_NAMESPACE and name[1] in GPS_WRITTEN)


def location_values(location: SidecarLocation) -> dict[QName, str]:
    """The properties that say `location`, in the order they are added. Pure."""
    if not (math.isfinite(location.lat) and -90 <= location.lat <= 90 and math.isfinite(location.lon) and -180 <= location.lon <= 180):
        raise ValueError(f"not a point on Earth: {location.lat}, {location.lon}")
    prov = location.provenance
    if prov.source not in WRITTEN_SOURCES:
        raise ValueError(f"a sidecar is not written for a location from the {prov.source.value if prov.source else 'no'} source")
    values = {
        _gps("GPSVersionID"): "2.3.0.0",
        _gps("GPSLatitude"): _coordinate(location.lat, "N", "S"),
        _gps("GPSLongitude"): _coordinate(location.lon, "E", "W"),
        _gps("GPSMapDatum"): "WGS-84",
    }
    if location.altitude is not None and math.isfinite(location.altitude):
        values[_gps("GPSAltitude")] = f"{round(abs(location.altitude) * 100)}/100"
        values[_gps("GPSAltitudeRef")] = "1" if location.altitude < 0 else "0"
    radius = prov.radius_km
    if radius is not None and math.isfinite(radius) and 0 <= radius <= xmp.MAX_ERROR_M / 1000:
        values[_gps("GPSHPositioningError")] = _metres(radius)
    values |= {_ours("Source"): prov.source.value, _ours("WrittenAt"): prov.written_at}
    for name, number in (("Confidence", prov.confidence), ("RadiusKm", radius)):
        if number is not None and math.isfinite(number):
            values[_ours(name)] = repr(float(number))
    for name, text in (("Model", prov.model), ("Place", prov.place)):
        if text and _text(text):
            values[_ours(name)] = _text(text)
    return values


def withdrawal_values(withdrawal: Withdrawal) -> dict[QName, str]:
    """Our properties once the location is not ours to state: no point. Pure."""
    if withdrawal.source not in (Source.EXIF, None):
        raise ValueError(f"a location from the {withdrawal.source.value} source is written with its point")
    said = withdrawal.source.value if withdrawal.source is not None else NO_LOCATION
    return {_ours("Source"): said, _ours("WrittenAt"): withdrawal.written_at}


def render(location: SidecarLocation) -> bytes:
    """A new sidecar's bytes: an XMP packet saying `location`. Pure."""
    return xmp_merge.merge(_EMPTY, location_values(location), _manages_ours_and_gps, _PREFIXES)


def plan(existing: bytes | None, wanted: SidecarLocation | Withdrawal) -> Plan:
    """What to do with the sidecar holding `existing` (None: there is none) to make it say
    `wanted`, merging into what is there. Pure.

    GPS in it that we did not write (no Source of ours claims it) is another program's or the
    user's word: a location is not written over it, and a withdrawal leaves it."""
    if existing is None:
        if isinstance(wanted, Withdrawal):
            return Plan(WriteOutcome.ABSENT)
        return Plan(WriteOutcome.WRITTEN, render(wanted))
    new_values = withdrawal_values(wanted) if isinstance(wanted, Withdrawal) else location_values(wanted)
    try:
        packet = xmp_merge.scan(existing)
    except NotMergeable as exc:
        return Plan(WriteOutcome.UNUSABLE, reason=str(exc))
    props = {f"{{{namespace}}}{local}": value for (namespace, local), value in packet.values().items()}  # ElementTree's form
    names = packet.names()
    gps_there = _gps("GPSLatitude") in names or _gps("GPSLongitude") in names
    prov = _provenance(props, xmp.fields_from_properties(props).lat is not None)
    gps_ours = prov is not None and prov.source in WRITTEN_SOURCES
    if isinstance(wanted, Withdrawal):
        if not any(_manages_ours(name) for name in names):
            return Plan(WriteOutcome.FOREIGN, reason="nothing of geolocator's is in it")
        managed = _manages_ours_and_gps if gps_ours else _manages_ours
    else:
        if gps_there and not gps_ours:
            return Plan(WriteOutcome.FOREIGN, reason="it holds a location geolocator did not write")
        managed = _manages_ours_and_gps
    try:
        said_at = props.get(_OURS + "WrittenAt")
        if said_at is not None and xmp_merge.edit(packet, new_values | {_ours("WrittenAt"): said_at}, managed, _PREFIXES, check=False) == existing:
            return Plan(WriteOutcome.UNCHANGED)
        return Plan(WriteOutcome.MERGED, xmp_merge.edit(packet, new_values, managed, _PREFIXES))
    except NotMergeable as exc:
        return Plan(WriteOutcome.UNUSABLE, reason=str(exc))


# -- which file, and writing it ---------------------------------------------------------------------


def write_sidecar(photo: Path, location: SidecarLocation) -> WriteOutcome:
    """Merge `location` into `photo`'s sidecar, or write a new one. Raises OSError when the photo is
    not there or the folder cannot be written (the caller logs it: the photo and its record are
    fine without a sidecar)."""
    return _write(photo, location)


def withdraw_sidecar(photo: Path, withdrawal: Withdrawal) -> WriteOutcome:
    """Make our properties in `photo`'s sidecar, if it has any, say `withdrawal` (no point).
    Nothing is created where there is no sidecar; a sidecar with nothing of ours is left alone."""
    return _write(photo, withdrawal)


def _write(photo: Path, wanted: SidecarLocation | Withdrawal) -> WriteOutcome:
    """Read, merge and rename. Our own writers take turns (the process's one `Sidecars` holds its
    lock around each); another program's save between our read and our rename is caught by
    `replace_if_still`, and the merge is done again."""
    if not stat.S_ISREG(os.lstat(photo).st_mode):  # no sidecar for a photo that is not there
        raise FileNotFoundError(errno.ENOENT, "no photo to write a sidecar beside", str(photo))
    for _ in range(3):  # another program may change the file between our read and our rename
        target, existing = choose(photo, NAMESPACE.encode())
        step = _plan_for(existing, wanted)
        if step.outcome is WriteOutcome.WRITTEN:
            if link_new(target, step.data):
                return step.outcome
        elif step.outcome is WriteOutcome.MERGED and existing is not None and existing.data is not None:
            if replace_if_still(target, step.data, existing):
                return step.outcome
        else:
            _say(target, step, isinstance(wanted, Withdrawal))
            return step.outcome
    raise OSError(errno.EEXIST, "the sidecar keeps changing under us", str(target))


def _plan_for(existing: Existing | None, wanted: SidecarLocation | Withdrawal) -> Plan:
    if existing is not None and existing.data is None:
        return Plan(WriteOutcome.UNUSABLE, reason="not a regular file, or too big")
    return plan(existing.data if existing else None, wanted)


def _say(target: Path, step: Plan, withdrawing: bool) -> None:
    if step.outcome in (WriteOutcome.FOREIGN, WriteOutcome.UNUSABLE) and not withdrawing:
        log.warning("%s: the location was not written: %s (a sidecar geolocator did not write, left as it is)", target, step.reason)
    elif step.outcome is WriteOutcome.UNUSABLE:
        log.info("%s: not withdrawn: %s; left as it is", target, step.reason)


# -- reading -------------------------------------------------------------------------------------


def _properties(data: bytes) -> dict[str, str]:
    """exif: and geolocator: properties of an XMP packet, as attributes or elements."""
    return xmp.properties(data, lambda name: name.startswith((_EXIF, _OURS)))


def _float(text: str | None, low: float, high: float) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and low <= value <= high else None


def _provenance(props: dict[str, str], has_point: bool) -> Provenance | None:
    said = props.get(_OURS + "Source", "")
    try:
        source = None if said == NO_LOCATION else Source(said)
    except ValueError:
        return None
    if source not in WRITTEN_SOURCES and (has_point or _OURS + "Source" not in props):
        return None  # we write "exif" and "none" only without a point: with one, it is not ours
    return Provenance(
        source=source,
        written_at=props.get(_OURS + "WrittenAt", ""),
        confidence=_float(props.get(_OURS + "Confidence"), 0.0, 1.0),
        radius_km=_float(props.get(_OURS + "RadiusKm"), 0.0, 40_075.0),
        model=(props.get(_OURS + "Model") or "")[:MAX_TEXT] or None,
        place=(props.get(_OURS + "Place") or "")[:MAX_TEXT] or None,
    )


_PACKET_NAMES = ("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}", "{adobe:ns:meta/}", "{http://www.w3.org/XML/1998/namespace}")


def holds_only_ours(data: bytes) -> bool:
    """Whether an XMP packet says nothing but what we write (our namespace, the GPS we write):
    a sidecar of ours that no other program has added to, which the record can make again."""
    names = xmp.properties(data, lambda name: not name.startswith(_PACKET_NAMES))
    return bool(names) and all(name.startswith(_OURS) or name in _GPS_NAMES for name in names)


def parse_sidecar(data: bytes) -> SidecarReading | None:
    """What an XMP sidecar's bytes say, or None when they are not XMP. Pure."""
    props = _properties(data)
    if not props:
        return None
    fields = xmp.fields_from_properties(props)
    error_km = fields.gps_error_m / 1000 if fields.gps_error_m is not None else None
    return SidecarReading(fields.lat, fields.lon, fields.altitude, _provenance(props, fields.lat is not None), error_km)


def restored_source(reading: SidecarReading | None) -> Source | None:
    """On import: the source a point read from this sidecar keeps. Ours says manual, ai, track or
    nearby and stays that (never promoted to "exif"); None for another program's sidecar, whose
    point counts as the file's own metadata, as before."""
    if reading is None or reading.provenance is None or reading.lat is None or reading.lon is None:
        return None
    return reading.provenance.source if reading.provenance.source in WRITTEN_SOURCES else None


def read_sidecar(sidecar: Path) -> SidecarReading | None:
    """What the sidecar file at `sidecar` says; None when there is none or it is not XMP.
    Never follows a symlink or blocks on a FIFO; reads at most MAX_SIDECAR bytes."""
    try:
        with open_regular(sidecar, follow_symlinks=False) as fh:
            data = fh.read(MAX_SIDECAR + 1)
    except OSError as exc:
        log.debug("%s: not read: %s", sidecar, exc)
        return None
    if len(data) > MAX_SIDECAR:
        return None
    return parse_sidecar(data)
