"""Where a file itself says it was taken: the one reading shared by the import (the pipeline's
`locate` stage) and by `daemon.py locate` / the page's "Where was this taken?".

The point the metadata carries (EXIF, XMP, a sidecar, QuickTime atoms) is named offline; when it
was read from one of our own sidecars, that sidecar's provenance is restored (a library copied
to a new machine: a manual fix stays manual, an AI estimate keeps its confidence, radius and
model), judged from the very bytes the point was read from (`PhotoMetadata.gps_sidecar`: the
sidecar is read once). A point's exif:GPSHPositioningError, when the XMP gives one, is its
radius unless ours says another.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from geolocator.errors import GeolocatorError, UnreadableImage
from geolocator.record import NOWHERE, AIEstimate, GpsOrigin, Location, PhotoMetadata, Source

if TYPE_CHECKING:
    from geolocator.locate.places import PlaceName

log = logging.getLogger(__name__)

Describe = Callable[[float, float], "PlaceName"]


@dataclass(frozen=True)
class FileLocation:
    """What a file says of where it was taken: NOWHERE when it says nothing."""

    location: Location
    model: str | None = None  # the model of an AI estimate our sidecar restored
    decisions: tuple[str, ...] = ()  # why the source is not "exif" (restored from our sidecar)


def file_location(metadata: PhotoMetadata, describe: Describe) -> FileLocation:
    """The location `metadata` gives, named by `describe` (a place name is a nicety: a failure to
    name it never loses the point)."""
    if metadata.lat is None or metadata.lon is None:
        return FileLocation(NOWHERE)
    radius = metadata.gps_error_m / 1000 if metadata.gps_error_m is not None else None
    location = Location(Source.EXIF, metadata.lat, metadata.lon, metadata.altitude, radius_km=radius)
    try:
        name = describe(metadata.lat, metadata.lon)
        location = dataclasses.replace(location, place=name.label, city=name.city, region=name.region, country_code=name.country_code)
    except Exception:
        log.exception("could not name the place at %s,%s", metadata.lat, metadata.lon)
    return _restored(location, metadata)


def _restored(location: Location, metadata: PhotoMetadata) -> FileLocation:
    """`location` with the provenance of our sidecar when its point was read from one of ours."""
    packet = metadata.gps_sidecar
    if metadata.gps_origin is not GpsOrigin.SIDECAR or packet is None:
        return FileLocation(location)
    from geolocator.locations.sidecar import parse_sidecar, restored_source  # an XML parser: only for a point from a sidecar

    reading = parse_sidecar(packet.data)
    source = restored_source(reading)
    if reading is None or reading.provenance is None or source is None:
        return FileLocation(location)  # another program's point: the file's own
    prov = reading.provenance
    radius = prov.radius_km if prov.radius_km is not None else reading.error_km
    why = f"location read from {packet.name}, written by geolocator from the {source.value} source"
    return FileLocation(dataclasses.replace(location, source=source, confidence=prov.confidence, radius_km=radius), prov.model if source is Source.AI else None, (why,))


class Estimator(Protocol):
    def estimate(self, path: Path) -> AIEstimate: ...


def located_file(given: str, path: Path, ai: Estimator | None, describe: Describe) -> dict[str, Any]:
    """Where the file at `path` was taken, as `daemon.py locate` prints it and the page's
    "Where was this taken?" answers it (one JSON object, `file` as given): what it says of itself,
    else (with `ai`) the model's estimate. Never raises for the file: `error` says why not."""
    from geolocator.locate.metadata import read_metadata  # the readers load only when a file is read

    metadata = estimate = error = None
    found = FileLocation(NOWHERE)
    try:
        metadata = read_metadata(path)
        found = file_location(metadata, describe)
        if ai is not None and not metadata.has_location:
            estimate = ai.estimate(path)
    except UnreadableImage as exc:
        error = track_message(path) or str(exc)
    except GeolocatorError as exc:
        error = str(exc)
    except Exception as exc:  # a bug must not stop the remaining files
        log.exception("unexpected error on %s", given)
        error = f"internal error: {type(exc).__name__}: {exc}"
    return _line(given, metadata, found, estimate, error)


def track_message(path: Path) -> str | None:
    """What to do with a file that is no photo but a GPS track (a GPX, KML, NMEA... file), else None."""
    from geolocator.locate.tracks.parse import track_format  # only for a file that is no photo

    try:
        found = track_format(path)
    except OSError:
        return None
    if found is None:
        return None
    return f"a GPS track ({found.value}), not a photo: drop it in the inbox, and the photos taken during it are placed along it"


def _line(given: str, metadata: PhotoMetadata | None, found: FileLocation, estimate: AIEstimate | None, error: str | None) -> dict[str, Any]:
    line: dict[str, Any] = {"file": given, "lat": None, "lon": None, "source": None, "place": None}
    line.update(taken_at=metadata.taken_at if metadata else None, altitude=metadata.altitude if metadata else None, camera=metadata.camera if metadata else None)
    if metadata is not None and metadata.taken_at is None and metadata.gps_utc is None:
        from geolocator.locate.metadata.file_names import time_from_name

        named = time_from_name(Path(given).name)
        if named is not None:  # the file records no time: its name may (as an import reads it)
            line.update(taken_at=named.taken_at, time_source=named.source)
    where = found.location
    if where.has_location and where.source is not None:
        line.update(lat=where.lat, lon=where.lon, source=where.source.value, place=where.place)
        if where.source is not Source.EXIF:
            line.update(confidence=where.confidence, radius_km=where.radius_km)
        if where.source is Source.AI:
            line.update(model=found.model)
    if estimate is not None:
        line.update(confidence=estimate.confidence, radius_km=estimate.radius_km, description=estimate.description, model=estimate.model)
        if estimate.has_location:
            line.update(lat=estimate.lat, lon=estimate.lon, source=Source.AI.value, place=estimate.place)
    line["error"] = error
    return line


def json_line(line: dict[str, Any]) -> str:
    return json.dumps(line, ensure_ascii=False) + "\n"
