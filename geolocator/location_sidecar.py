"""The XMP sidecar we write beside a library photo: `IMG_1.JPG.xmp` (the darktable and Immich naming).

(Sidecars that arrive in the inbox with their photo are geolocator.sidecars' business.)

A location that does not come from the file itself (manual, AI, track, nearby) is otherwise only in
our database; a sidecar lets digiKam, darktable, exiftool and Lightroom see it, without the photo's
own bytes ever changing. The point is written as standard `exif:GPSLatitude`/`exif:GPSLongitude`
("DDD,MM.mmmmmmmmk", the XMP form) with `exif:GPSVersionID` and altitude when known; where it came
from (source, confidence, radius, model, place, when written) goes in our own namespace, so on
import a manual fix stays manual and an estimate stays an estimate.

Writes are atomic and never clobber: a temporary file in the same folder is fsynced, then linked
to the sidecar name (which fails if anything appeared there) or, only when the sidecar there is
one of ours, renamed over it. Another program's sidecar is left as it is, and said so.

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
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from geolocator.fileio import open_regular
from geolocator.metadata import xmp
from geolocator.naming import SIDECAR_SUFFIX
from geolocator.record import PhotoRecord, Source

log = logging.getLogger(__name__)

NAMESPACE = "http://geolocator.invalid/ns/1.0/"
PREFIX = "geolocator"
# Sources a sidecar is written for: everything not read from the file itself.
WRITTEN_SOURCES = frozenset({Source.MANUAL, Source.AI, Source.TRACK, Source.NEARBY})
MAX_SIDECAR = 1 << 20  # ours are under 2 KB; a bigger file there is someone else's
MAX_TEXT = 500  # characters kept of a place or model name
_EXIF = "{http://ns.adobe.com/exif/1.0/}"
_OURS = "{" + NAMESPACE + "}"
_MINUTE_UNITS = 10**8  # minutes to 8 decimals: 2e-10 degrees, far below GPS precision
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LINK_UNSUPPORTED = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK})


class WriteOutcome(str, enum.Enum):
    WRITTEN = "written"  # a new sidecar
    REPLACED = "replaced"  # our earlier sidecar, now with this location
    UNCHANGED = "unchanged"  # ours already said exactly this
    FOREIGN = "foreign"  # another program's sidecar (or something not a file) is there: left alone


@dataclass(frozen=True)
class Provenance:
    """Where a sidecar's point came from, as we recorded it."""

    source: Source
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
        raise ValueError(f"a sidecar is not written for a location from the {prov.source.value} source")
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
    if not stat.S_ISREG(os.lstat(photo).st_mode):  # no sidecar for a photo that is not there
        raise FileNotFoundError(errno.ENOENT, "no photo to write a sidecar beside", str(photo))
    target = sidecar_path(photo)
    data = render(location)
    for _ in range(3):  # another writer may create the name between our look and our link
        existing = _look(target)
        if existing is None:
            if _link_new(target, data):
                return WriteOutcome.WRITTEN
            continue
        reading, old = existing
        if reading is None or reading.provenance is None:
            log.warning("%s: not written, a sidecar geolocator did not write is there; left as it is", target)
            return WriteOutcome.FOREIGN
        same_time = dataclasses.replace(location, provenance=dataclasses.replace(location.provenance, written_at=reading.provenance.written_at))
        if render(same_time) == old:
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


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_new(target: Path, data: bytes) -> bool:
    """Make `target` hold `data` if nothing is there; False when something appeared first."""
    tmp = _temporary(target, data)
    try:
        os.link(tmp, target)  # unlike rename, link never replaces an existing name
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _LINK_UNSUPPORTED:
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
    _sync_folder(target.parent)
    return True


def _replace_ours(target: Path, data: bytes) -> None:
    tmp = _temporary(target, data)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _sync_folder(target.parent)


# -- reading -------------------------------------------------------------------------------------


def _properties(data: bytes) -> dict[str, str]:
    """exif: and geolocator: properties of an XMP packet, as attributes or elements."""
    element = xmp.packet(data)
    if element is None:
        return {}
    try:
        root = SafeET.fromstring(element, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        log.debug("unparsable sidecar: %s", exc)
        return {}
    found: dict[str, str] = {}
    for node in root.iter():
        for name, value in node.attrib.items():
            if name.startswith((_EXIF, _OURS)):
                found.setdefault(name, value)
        if isinstance(node.tag, str) and node.tag.startswith((_EXIF, _OURS)):
            text = next((t.strip() for t in node.itertext() if t.strip()), "")
            if text:
                found.setdefault(node.tag, text)
    return found


def _float(text: str | None, low: float, high: float) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and low <= value <= high else None


def _provenance(props: dict[str, str]) -> Provenance | None:
    try:
        source = Source(props.get(_OURS + "Source", ""))
    except ValueError:
        return None
    if source not in WRITTEN_SOURCES:  # we never write "exif": such a sidecar was not written by us
        return None
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
    return SidecarReading(lat=fields.lat, lon=fields.lon, altitude=fields.altitude, provenance=_provenance(props))


def restored_source(reading: SidecarReading | None) -> Source | None:
    """On import: the source a point read from this sidecar keeps. Ours says manual, ai, track or
    nearby and stays that (never promoted to "exif"); None for another program's sidecar, whose
    point counts as the file's own metadata, as before."""
    if reading is None or reading.provenance is None or reading.lat is None or reading.lon is None:
        return None
    return reading.provenance.source


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
