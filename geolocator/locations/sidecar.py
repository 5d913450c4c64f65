"""The XMP sidecar we write beside a library photo: `IMG_1.JPG.xmp` (the darktable and Immich naming).

(Sidecars that arrive in the inbox with their photo are geolocator.move.sidecars' business.)

A location that does not come from the file itself (manual, AI, track, nearby) is otherwise only in
our database; a sidecar lets digiKam, darktable, exiftool and Lightroom see it, without the photo's
own bytes ever changing. The point is written as standard `exif:GPSLatitude`/`exif:GPSLongitude`
("DDD,MM.mmmmmmmmk", the XMP form) with `exif:GPSVersionID` and altitude when known; where it came
from (source, confidence, radius, model, place, when written) goes in our own namespace, so on
import a manual fix stays manual and an estimate stays an estimate.

Writes are atomic and never clobber: a temporary file in the same folder is fsynced, then linked
to the sidecar name (which fails if anything appeared there) or, only when the sidecar there is
one of ours, renamed over it. Another program's sidecar is left as it is, and said so.

`Sidecars.sync` is the one place that keeps a photo's sidecar in step with its record, called
after a record is stored wherever its location changes (a manual fix, an AI estimate, a track or
nearby placement, a revert, "ask the AI again"). It reads the record as stored at that moment,
under one lock, so the last sync always writes the latest location. When the record's location
is no longer one we state (reverted to the file's own, or to none), our sidecar is rewritten to
say so, without a point (`Withdrawal`), rather than deleted: we never delete a file, and a
sidecar without a point cannot make another tool show the old one.

The XML is written by hand from a fixed template: ElementTree would need a process-wide
namespace registration to produce the `exif:`/`geolocator:` prefixes other tools expect.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import errno
import logging
import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from geolocator.fileio import open_regular
from geolocator.folders import fsync_dir
from geolocator.locate.metadata import xmp
from geolocator.move.mover import LINK_UNSUPPORTED
from geolocator.move.naming import SIDECAR_SUFFIX
from geolocator.record import GpsOrigin, PhotoMetadata, PhotoRecord, Source, Status

log = logging.getLogger(__name__)

NAMESPACE = "http://geolocator.invalid/ns/1.0/"
PREFIX = "geolocator"
# Sources a sidecar is written for: everything not read from the file itself.
WRITTEN_SOURCES = frozenset({Source.MANUAL, Source.AI, Source.TRACK, Source.NEARBY})
NO_LOCATION = "none"  # geolocator:Source of a withdrawn sidecar whose photo has no location now
PLACED_STATUSES = frozenset({Status.LOCATED, Status.UNLOCATED, Status.PENDING})  # photos, in the library
MAX_SIDECAR = 1 << 20  # ours are under 2 KB; a bigger file there is someone else's
MAX_TEXT = 500  # characters kept of a place or model name
_EXIF = "{http://ns.adobe.com/exif/1.0/}"
_OURS = "{" + NAMESPACE + "}"
_MINUTE_UNITS = 10**8  # minutes to 8 decimals: 2e-10 degrees, far below GPS precision
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class WriteOutcome(str, enum.Enum):
    WRITTEN = "written"  # a new sidecar
    REPLACED = "replaced"  # our earlier sidecar, now with this location
    UNCHANGED = "unchanged"  # ours already said exactly this
    FOREIGN = "foreign"  # another program's sidecar (or something not a file) is there: left alone
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
    """What a sidecar says: its point (None when it has none) and our provenance (None when the
    sidecar is not one of ours)."""

    lat: float | None
    lon: float | None
    altitude: float | None
    provenance: Provenance | None


def sidecar_path(photo: Path) -> Path:
    """`IMG_1.JPG` -> `IMG_1.JPG.xmp`."""
    return photo.with_name(photo.name + SIDECAR_SUFFIX)


def location_for(record: PhotoRecord, written_at: str) -> SidecarLocation | None:
    """What to write beside `record`'s photo, or None: its location came from the file, or it has none."""
    if record.source not in WRITTEN_SOURCES or record.lat is None or record.lon is None:
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


# -- writing -------------------------------------------------------------------------------------


def _coordinate(value: float, positive: str, negative: str) -> str:
    units = round(abs(value) * 60 * _MINUTE_UNITS)
    degrees, minute_units = divmod(units, 60 * _MINUTE_UNITS)
    minutes, fraction = divmod(minute_units, _MINUTE_UNITS)
    return f"{degrees},{minutes}.{fraction:08d}{negative if value < 0 else positive}"


def _attribute(value: str) -> str:
    text = _NOT_XML.sub("", value)[:MAX_TEXT]
    return escape(text, {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _number(value: float) -> str:
    return repr(float(value))


def render(location: SidecarLocation) -> bytes:
    """The sidecar's bytes: an XMP packet. Pure."""
    if not (math.isfinite(location.lat) and -90 <= location.lat <= 90 and math.isfinite(location.lon) and -180 <= location.lon <= 180):
        raise ValueError(f"not a point on Earth: {location.lat}, {location.lon}")
    prov = location.provenance
    if prov.source not in WRITTEN_SOURCES:
        raise ValueError(f"a sidecar is not written for a location from the {prov.source.value if prov.source else 'no'} source")
    attributes = [
        ("exif:GPSVersionID", "2.3.0.0"),
        ("exif:GPSLatitude", _coordinate(location.lat, "N", "S")),
        ("exif:GPSLongitude", _coordinate(location.lon, "E", "W")),
        ("exif:GPSMapDatum", "WGS-84"),
    ]
    if location.altitude is not None and math.isfinite(location.altitude):
        attributes += [("exif:GPSAltitude", f"{round(abs(location.altitude) * 100)}/100"), ("exif:GPSAltitudeRef", "1" if location.altitude < 0 else "0")]
    attributes += [(f"{PREFIX}:Source", prov.source.value), (f"{PREFIX}:WrittenAt", prov.written_at)]
    for name, number in (("Confidence", prov.confidence), ("RadiusKm", prov.radius_km)):
        if number is not None and math.isfinite(number):
            attributes.append((f"{PREFIX}:{name}", _number(number)))
    for name, text in (("Model", prov.model), ("Place", prov.place)):
        if text:
            attributes.append((f"{PREFIX}:{name}", text))
    return _packet(attributes)


def render_withdrawal(withdrawal: Withdrawal) -> bytes:
    """A sidecar of ours without a point, saying the location is the file's own or none. Pure."""
    if withdrawal.source not in (Source.EXIF, None):
        raise ValueError(f"a location from the {withdrawal.source.value} source is written with its point")
    said = withdrawal.source.value if withdrawal.source is not None else NO_LOCATION
    return _packet([(f"{PREFIX}:Source", said), (f"{PREFIX}:WrittenAt", withdrawal.written_at)])


def _packet(attributes: list[tuple[str, str]]) -> bytes:
    lines = "\n".join(f'    {name}="{_attribute(value)}"' for name, value in attributes)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="geolocator">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:exif="http://ns.adobe.com/exif/1.0/"\n'
        f'    xmlns:{PREFIX}="{NAMESPACE}"\n'
        f"{lines}/>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>\n'
    ).encode()


def write_sidecar(photo: Path, location: SidecarLocation) -> WriteOutcome:
    """Write `location` to `photo`'s sidecar, unless a sidecar that is not ours is there.

    Raises OSError when the photo is not there or the folder cannot be written (the caller logs
    it: the photo and its record are fine without a sidecar).
    """

    def said_already(prov: Provenance, old: bytes) -> bool:
        same_time = dataclasses.replace(location, provenance=dataclasses.replace(location.provenance, written_at=prov.written_at))
        return render(same_time) == old

    return _write(photo, render(location), said_already, create=True)


def withdraw_sidecar(photo: Path, withdrawal: Withdrawal) -> WriteOutcome:
    """Rewrite our sidecar beside `photo`, if one is there, to say `withdrawal` (no point).
    Nothing is created where there is no sidecar; another program's is left alone."""
    def said_already(prov: Provenance, old: bytes) -> bool:
        return render_withdrawal(dataclasses.replace(withdrawal, written_at=prov.written_at)) == old

    return _write(photo, render_withdrawal(withdrawal), said_already, create=False)


def _write(photo: Path, data: bytes, unchanged: Callable[[Provenance, bytes], bool], *, create: bool) -> WriteOutcome:
    if not stat.S_ISREG(os.lstat(photo).st_mode):  # no sidecar for a photo that is not there
        raise FileNotFoundError(errno.ENOENT, "no photo to write a sidecar beside", str(photo))
    target = sidecar_path(photo)
    for _ in range(3):  # another writer may create the name between our look and our link
        existing = _look(target)
        if existing is None:
            if not create:
                return WriteOutcome.ABSENT
            if _link_new(target, data):
                return WriteOutcome.WRITTEN
            continue
        reading, old = existing
        if reading is None or reading.provenance is None:
            if create:  # a withdrawal had nothing to say beside another program's sidecar
                log.warning("%s: not written, a sidecar geolocator did not write is there; left as it is", target)
            return WriteOutcome.FOREIGN
        if unchanged(reading.provenance, old):
            return WriteOutcome.UNCHANGED
        _replace_ours(target, data)
        return WriteOutcome.REPLACED
    raise OSError(errno.EEXIST, "the sidecar name keeps changing under us", str(target))


def _look(target: Path) -> tuple[SidecarReading | None, bytes] | None:
    """None when nothing is at `target`; else what it says (None: not a sidecar we can read) and its bytes."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(mode):
        return None, b""  # a symlink, folder or FIFO: never ours, never followed
    try:
        with open_regular(target, follow_symlinks=False) as fh:
            data = fh.read(MAX_SIDECAR + 1)
    except FileNotFoundError:
        return None
    if len(data) > MAX_SIDECAR:
        return None, b""
    return parse_sidecar(data), data


def _temporary(target: Path, data: bytes) -> Path:
    """`data` in a new hidden file beside `target`, on disk (fsynced)."""
    tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return tmp


def _link_new(target: Path, data: bytes) -> bool:
    """Make `target` hold `data` if nothing is there; False when something appeared first."""
    tmp = _temporary(target, data)
    try:
        os.link(tmp, target)  # unlike rename, link never replaces an existing name
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in LINK_UNSUPPORTED:
            raise
        # No hard links here (some FUSE and SMB mounts): an exclusive create still never
        # overwrites, though a crash mid-write could leave a short file (then seen as foreign).
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        tmp.unlink()  # our own temporary name; the sidecar keeps the content
    fsync_dir(target.parent)
    return True


def _replace_ours(target: Path, data: bytes) -> None:
    tmp = _temporary(target, data)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)


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


def parse_sidecar(data: bytes) -> SidecarReading | None:
    """What an XMP sidecar's bytes say, or None when they are not XMP. Pure."""
    props = _properties(data)
    if not props:
        return None
    fields = xmp.fields_from_properties(props)
    return SidecarReading(lat=fields.lat, lon=fields.lon, altitude=fields.altitude, provenance=_provenance(props, fields.lat is not None))


def restored_source(reading: SidecarReading | None) -> Source | None:
    """On import: the source a point read from this sidecar keeps. Ours says manual, ai, track or
    nearby and stays that (never promoted to "exif"); None for another program's sidecar, whose
    point counts as the file's own metadata, as before."""
    if reading is None or reading.provenance is None or reading.lat is None or reading.lon is None:
        return None
    return reading.provenance.source if reading.provenance.source in WRITTEN_SOURCES else None


def restore(record: PhotoRecord, photo: Path, metadata: PhotoMetadata | None) -> PhotoRecord:
    """On import: `record`, located from `photo`'s metadata, with the provenance of our sidecar
    restored when that is where its point was read (a library copied to a new machine): a manual
    fix stays manual, an AI estimate keeps its confidence, radius and model. The sidecar that
    gave the point is the one carrying that same point (the reader takes the first of the
    names that has one); another program's point stays the file's own."""
    if metadata is None or metadata.gps_origin is not GpsOrigin.SIDECAR or record.source is not Source.EXIF:
        return record
    for candidate in xmp.sidecar_paths(photo):
        reading = read_sidecar(candidate)
        source = restored_source(reading)
        if reading is None or reading.provenance is None or source is None or (reading.lat, reading.lon) != (record.lat, record.lon):
            continue
        prov = reading.provenance
        log.info("%s: its sidecar says the location is %s: kept so", record.name, source.value)
        return dataclasses.replace(
            record, source=source, confidence=prov.confidence, radius_km=prov.radius_km,
            model=prov.model if source is Source.AI else record.model,
            decisions=(*record.decisions, f"location read from {candidate.name}, written by geolocator from the {source.value} source"),
        )  # fmt: skip
    return record


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
