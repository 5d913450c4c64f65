"""`daemon.py locate FILE...`: one JSON line per file; reads only, moves and records nothing.

A point read from one of our own XMP sidecars reports the source that sidecar records (manual,
ai, track, nearby, copy), as an import restores it (`location_sidecar.restore`), never "exif"."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from geolocator.config import Config
from geolocator.errors import GeolocatorError
from geolocator.locate import places
from geolocator.locate.metadata import read_metadata
from geolocator.locate.metadata.file_names import time_from_name
from geolocator.record import AIEstimate, GpsOrigin, PhotoMetadata, PhotoRecord, Source, Status

if TYPE_CHECKING:  # the AI is imported only when it is used
    from geolocator.locate.ai import AILocator

log = logging.getLogger(__name__)


def describe_file(given: str, metadata: PhotoMetadata | None, estimate: AIEstimate | None, error: str | None, restored: PhotoRecord | None = None) -> dict[str, Any]:
    """The JSON object printed for one file: `file` exactly as given. `restored`: the file's
    point with the source our sidecar gave it (`provenance`), which the line reports."""
    line: dict[str, Any] = {"file": given, "lat": None, "lon": None, "source": None, "place": None}
    if metadata is not None:
        line.update(taken_at=metadata.taken_at, altitude=metadata.altitude, camera=metadata.camera)
        named = time_from_name(Path(given).name) if metadata.taken_at is None and metadata.gps_utc is None else None
        if named is not None:  # the file records no time: its name may (as an import reads it)
            line.update(taken_at=named.taken_at, time_source=named.source)
        if metadata.lat is not None and metadata.lon is not None:
            line.update(lat=metadata.lat, lon=metadata.lon, source=Source.EXIF.value, place=places.describe(metadata.lat, metadata.lon))
        if restored is not None and restored.source is not None and restored.source is not Source.EXIF:
            line.update(source=restored.source.value, confidence=restored.confidence, radius_km=restored.radius_km)
            if restored.source is Source.AI:
                line.update(model=restored.model)
    else:
        line.update(taken_at=None, altitude=None, camera=None)
    if estimate is not None:
        line.update(confidence=estimate.confidence, radius_km=estimate.radius_km, description=estimate.description, model=estimate.model)
        if estimate.has_location:
            line.update(lat=estimate.lat, lon=estimate.lon, source=Source.AI.value, place=estimate.place)
    line["error"] = error
    return line


def main(files: list[str], config: Config, use_ai: bool, out: TextIO) -> int:
    """Print where each file was taken. Exit 1 when any file could not be read or placed for now."""
    ai = None
    if use_ai and config.ollama.enabled:
        from geolocator.locate.ai import AILocator

        ai = AILocator(config.ollama)
    failures = 0
    for given in files:
        line = locate_file(given, Path(given), ai)
        failures += line["error"] is not None
        out.write(json_line(line))
        out.flush()
    return 1 if failures else 0


def locate_file(given: str, path: Path, ai: AILocator | None) -> dict[str, Any]:
    """The object printed for the file at `path`, named `given` (the map page's `/api/locate` too)."""
    metadata = estimate = error = restored = None
    try:
        metadata = read_metadata(path)
        restored = provenance(path, metadata)
        if ai is not None and not metadata.has_location:
            estimate = ai.estimate(path)
    except GeolocatorError as exc:
        error = str(exc)
    except Exception as exc:  # a bug must not stop the remaining files
        log.exception("unexpected error on %s", given)
        error = f"internal error: {type(exc).__name__}: {exc}"
    return describe_file(given, metadata, estimate, error, restored)


def provenance(path: Path, metadata: PhotoMetadata) -> PhotoRecord | None:
    """The file's point with the source an import would give it (`restore`: our sidecar's),
    or None when the point was not read from a sidecar."""
    if metadata.lat is None or metadata.lon is None or metadata.gps_origin is not GpsOrigin.SIDECAR:
        return None
    from geolocator.locations.sidecar import restore  # here: its imports cost a run without sidecars ~30 ms

    as_read = PhotoRecord(id="", sha256="", name=path.name, path=None, status=Status.LOCATED, source=Source.EXIF, lat=metadata.lat, lon=metadata.lon)
    return restore(as_read, path, metadata)


def json_line(line: dict[str, Any]) -> str:
    return json.dumps(line, ensure_ascii=False) + "\n"
