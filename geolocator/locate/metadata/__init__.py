"""What a photo or video says about itself: GPS, altitude, capture time, camera.

`read_metadata(path)` sniffs the format once from the first bytes, locates the metadata in the
container (containers.py, bmff.py, quicktime.py), decodes EXIF with exifread (exif.py), and only
when EXIF has no usable location looks at embedded XMP and then NAME.xmp sidecars (xmp.py).
The GPS maths is pure (gps.py, dates.py). Corrupt or unsupported files raise UnreadableImage with a
one-line reason; nothing else escapes.

Files are opened with fileio.open_regular (a FIFO named like a photo or a sidecar is refused at
once, never waited on), and every read is bounded whatever the file's size: headers and the few
small blocks we need are read by seeking, XMP packets are capped (4 per file, 8 MB each), box
and segment walks are capped, and stray bytes between JPEG segments are searched for at most
1 MiB in all. tests/test_metadata_bounds.py measures this on sparse multi-gigabyte files.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from geolocator.errors import UnreadableImage
from geolocator.fileio import NotRegularFile, open_regular
from geolocator.locate.metadata import bmff, containers, xmp
from geolocator.locate.metadata.exif import ExifFields, fields_from_values, read_tiff_blocks
from geolocator.locate.metadata.formats import HEAD_SIZE, Kind, describe_start, sniff
from geolocator.locate.metadata.layout import Layout
from geolocator.locate.metadata.quicktime import read_quicktime
from geolocator.record import GpsOrigin, PhotoMetadata

__all__ = ["Kind", "read_metadata"]

log = logging.getLogger(__name__)

_LOCATORS: dict[Kind, Callable[[BinaryIO, int], Layout]] = {
    Kind.JPEG: containers.locate_jpeg,
    Kind.TIFF: containers.locate_tiff,
    Kind.PNG: containers.locate_png,
    Kind.WEBP: containers.locate_webp,
    Kind.RAF: containers.locate_raf,
    Kind.JXL: bmff.locate_jxl,
    Kind.HEIF: bmff.locate_heif,
    Kind.CR3: bmff.locate_cr3,
}


def read_metadata(path: Path) -> PhotoMetadata:
    """Read GPS, altitude, capture time and camera from `path`.

    A recognised file without GPS gives lat/lon None. Raises UnreadableImage (and nothing else)
    for a file that is missing, empty, not a regular file, unreadable, of a format we do not
    read, or corrupt.
    """
    with _open(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(HEAD_SIZE)
        if not head:
            raise UnreadableImage("file is empty")
        kind = sniff(head)
        if kind is None:
            raise UnreadableImage(f"not a supported image or video (starts with {describe_start(head)})")
        try:
            fields, origin = _read(fh, size, kind)
        except UnreadableImage:
            raise
        except OSError as exc:
            raise UnreadableImage(f"cannot read {kind.value}: {exc.strerror or exc}") from exc
        except Exception as exc:  # exifread, struct, zlib...: a corrupt file, never a crash
            log.debug("corrupt %s %s", kind.value, path, exc_info=True)
            reason = " ".join(str(exc).split())[:200]
            raise UnreadableImage(f"corrupt {kind.value}: {type(exc).__name__}{': ' + reason if reason else ''}") from exc
    packet = None
    if fields.lat is None:
        sidecar = xmp.read_sidecar(path)
        if sidecar is not None:
            fields, origin = _merge(fields, origin, sidecar[0], GpsOrigin.SIDECAR)
            packet = sidecar[1] if origin is GpsOrigin.SIDECAR else None
    return PhotoMetadata(
        lat=fields.lat,
        lon=fields.lon,
        altitude=fields.altitude,
        taken_at=fields.taken_at,
        make=fields.make,
        model=fields.model,
        serial=fields.serial,
        gps_origin=origin if fields.lat is not None else None,
        gps_utc=fields.gps_utc,
        gps_error_m=fields.gps_error_m if fields.lat is not None else None,
        gps_sidecar=packet,
    )


def _open(path: Path) -> BinaryIO:
    try:
        return open_regular(path)
    except NotRegularFile as exc:  # a FIFO, device, socket or folder: never waited on
        raise UnreadableImage(exc.strerror or "not a regular file") from None
    except FileNotFoundError:
        raise UnreadableImage("no such file") from None
    except PermissionError:
        raise UnreadableImage("permission denied") from None
    except OSError as exc:
        raise UnreadableImage(f"cannot open: {exc.strerror or exc}") from None


def _read(fh: BinaryIO, size: int, kind: Kind) -> tuple[ExifFields, GpsOrigin]:
    if kind is Kind.QUICKTIME:
        return read_quicktime(fh, size), GpsOrigin.QUICKTIME
    layout = _LOCATORS[kind](fh, size)
    values, ifd_xmp = read_tiff_blocks(fh, size, layout.tiff)
    fields = fields_from_values(values)
    origin = GpsOrigin.EXIF
    if fields.lat is None and (layout.xmp or ifd_xmp):
        embedded = xmp.read_embedded(fh, [*layout.xmp, *ifd_xmp])
        if embedded is not None:
            fields, origin = _merge(fields, origin, embedded, GpsOrigin.XMP)
    return fields, origin


def _merge(base: ExifFields, base_origin: GpsOrigin, extra: ExifFields, extra_origin: GpsOrigin) -> tuple[ExifFields, GpsOrigin]:
    """`base` with the location of `extra` when it has one, and its other fields where `base` has none."""
    fill = {name: getattr(extra, name) for name in ("taken_at", "make", "model", "serial", "gps_utc") if getattr(base, name) is None}
    if extra.lat is not None:
        return dataclasses.replace(base, lat=extra.lat, lon=extra.lon, altitude=extra.altitude, gps_error_m=extra.gps_error_m, **fill), extra_origin
    if base.altitude is None and extra.altitude is not None:
        fill["altitude"] = extra.altitude
    return dataclasses.replace(base, **fill), base_origin
