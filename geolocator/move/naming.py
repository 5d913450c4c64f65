"""Destination naming: pure functions that decide where in the library a photo goes."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import PurePosixPath


def layout_folder(layout: str, when: datetime) -> PurePosixPath:
    """The library sub-folder for a photo taken (or, failing that, modified) at `when`."""
    return PurePosixPath(layout.format(year=f"{when.year:04d}", month=f"{when.month:02d}", day=f"{when.day:02d}"))


NAME_MAX_BYTES = 255  # the limit of ext4, XFS, btrfs, APFS, NTFS (in UTF-8 bytes)
SIDECAR_SUFFIX = ".xmp"
# A photo filed in the library may get a sidecar NAME.EXT.xmp: its own name leaves room for that.
PHOTO_NAME_MAX_BYTES = NAME_MAX_BYTES - len(SIDECAR_SUFFIX)


def numbered_name(name: str, number: int, limit: int = NAME_MAX_BYTES) -> str:
    """`IMG_1.jpg`, 2 -> `IMG_1-2.jpg`: the name tried when `name` is taken.

    The stem is shortened (never the extension, never mid-character) when the number would push
    the name past `limit` bytes (what a filesystem allows, by default).
    """
    return _fit(name, f"-{number}", limit)


def fit_name(name: str, limit: int = NAME_MAX_BYTES) -> str:
    """`name`, its stem shortened if it is longer than `limit` bytes (what a filesystem allows)."""
    return name if len(name.encode()) <= limit else _fit(name, "", limit)


def _fit(name: str, addition: str, limit: int = NAME_MAX_BYTES) -> str:
    """`name` with `addition` before its extension, the stem cut to keep within `limit` bytes."""
    path = PurePosixPath(name)
    suffix = "".join(path.suffixes[-1:])
    stem = name[: len(name) - len(suffix)] if suffix else name
    tail = f"{addition}{suffix}"
    room = limit - len(tail.encode())
    stem = stem.encode()[: max(room, 1)].decode(errors="ignore")
    return f"{stem}{tail}"


def readable_name(name: str) -> str:
    """A valid UTF-8 name for a file name as the OS gave it (undecodable bytes arrive as lone
    surrogates, PEP 383). Names from old ZIPs and FAT cards are mostly Windows-1252, so each
    byte that is not part of valid UTF-8 is read as Windows-1252 (U+FFFD where that has no
    character): b"A\\xe9t\\xe9.jpg" -> "Aété.jpg". Valid UTF-8 names come back unchanged."""
    raw = os.fsencode(name)
    parts: list[str] = []
    while raw:
        try:
            parts.append(raw.decode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            parts.append(raw[: exc.start].decode("utf-8"))
            parts.extend(_legacy_char(byte) for byte in raw[exc.start : exc.end])
            raw = raw[exc.end :]
    return fit_name("".join(parts))


def _legacy_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D have no character in Windows-1252
        return "\ufffd"


def is_sidecar(name: str) -> bool:
    """NAME.xmp or NAME.EXT.xmp, in either case."""
    return len(name) > len(SIDECAR_SUFFIX) and name.lower().endswith(SIDECAR_SUFFIX)


def sidecar_name(photo: str, sidecar: str, new_photo: str) -> str:
    """The name of `sidecar` (of the photo named `photo`) beside that photo filed as `new_photo`:
    NAME.EXT.xmp follows the whole name, NAME.xmp the name without its extension; the sidecar's
    own ".xmp"/".XMP" is kept. ("a.jpg", "a.jpg.xmp", "a-2.jpg") -> "a-2.jpg.xmp"."""
    tail = sidecar[-len(SIDECAR_SUFFIX) :]
    if sidecar[: -len(SIDECAR_SUFFIX)] == photo:
        return fit_name(new_photo + tail)
    return fit_name(PurePosixPath(new_photo).stem + tail)
