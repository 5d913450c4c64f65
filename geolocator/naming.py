"""Destination naming: pure functions that decide where in the library a photo goes."""

from __future__ import annotations

import string
from datetime import datetime
from pathlib import PurePosixPath

LAYOUT_FIELDS = ("year", "month", "day")


def check_layout(layout: str) -> str | None:
    """Why `layout` is not a usable library layout, or None when it is."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(layout) if name is not None]
    except ValueError as exc:
        return f"{layout!r} is not a valid pattern ({exc})"
    unknown = [f for f in fields if f not in LAYOUT_FIELDS]
    if unknown:
        return f"unknown field {{{unknown[0]}}} in {layout!r} (use {', '.join('{' + f + '}' for f in LAYOUT_FIELDS)})"
    parts = PurePosixPath(layout).parts
    if layout.startswith("/") or ".." in parts or "\\" in layout:
        return f"{layout!r} must stay inside the library (no leading /, no .., no backslash)"
    return None


def layout_folder(layout: str, when: datetime) -> PurePosixPath:
    """The library sub-folder for a photo taken (or, failing that, modified) at `when`."""
    return PurePosixPath(layout.format(year=f"{when.year:04d}", month=f"{when.month:02d}", day=f"{when.day:02d}"))


NAME_MAX_BYTES = 255  # the limit of ext4, XFS, btrfs, APFS, NTFS (in UTF-8 bytes)


def numbered_name(name: str, number: int) -> str:
    """`IMG_1.jpg`, 2 -> `IMG_1-2.jpg`: the name tried when `name` is taken.

    The stem is shortened (never the extension, never mid-character) when the number would push
    the name past what a filesystem allows.
    """
    path = PurePosixPath(name)
    suffix = "".join(path.suffixes[-1:])
    stem = name[: len(name) - len(suffix)] if suffix else name
    tail = f"-{number}{suffix}"
    room = NAME_MAX_BYTES - len(tail.encode())
    stem = stem.encode()[: max(room, 1)].decode(errors="ignore")
    return f"{stem}{tail}"
