"""Sidecars (NAME.xmp, NAME.EXT.xmp) dropped into the inbox with their photo.

A sidecar travels with its photo: the photo's claim takes the sidecars lying beside it. One that
arrives first waits while its photo is in the inbox; one that arrives just after its photo was
filed follows it (`RecentlyFiled`); one whose photo never comes is failed after a while.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import time
from collections.abc import Collection
from pathlib import Path, PurePosixPath

from geolocator.locate.metadata.xmp import sidecar_paths
from geolocator.move.naming import SIDECAR_SUFFIX, is_sidecar


def sidecars_of(photo: Path, busy: Collection[Path] = ()) -> tuple[Path, ...]:
    """The regular files NAME.xmp / NAME.EXT.xmp beside `photo` that are not in `busy` (being
    moved already); one path per file, should the disk ignore case."""
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for candidate in sidecar_paths(photo):
        if candidate in busy:
            continue
        try:
            st = candidate.lstat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            found.append(candidate)
    return tuple(found)


def _base(sidecar: Path) -> str:
    return sidecar.name[: -len(SIDECAR_SUFFIX)]


def photo_beside(sidecar: Path, ignore: Collection[str] = ()) -> Path | None:
    """A regular file in the sidecar's folder whose sidecar it is (NAME.EXT for NAME.EXT.xmp,
    any NAME.EXT for NAME.xmp), leaving out names matching the `ignore` patterns."""
    base = _base(sidecar)
    with os.scandir(sidecar.parent) as entries:
        for entry in entries:
            name = entry.name
            if is_sidecar(name) or any(fnmatch.fnmatchcase(name, pattern) for pattern in ignore):
                continue
            if (name == base or PurePosixPath(name).stem == base) and entry.is_file(follow_symlinks=False):
                return Path(entry.path)
    return None


class RecentlyFiled:
    """Photos filed in the last `keep` seconds, by inbox folder and name, so that a sidecar that
    arrives just after its photo can follow it. Not thread-safe: callers hold a lock."""

    def __init__(self, keep: float) -> None:
        self._keep = keep
        self._by_name: dict[tuple[Path, str], tuple[str, float]] = {}  # oldest first
        self._by_stem: dict[tuple[Path, str], tuple[str, float]] = {}

    def add(self, source: Path, record_id: str) -> None:
        now = time.monotonic()
        self._prune(now)
        for index, key in ((self._by_name, (source.parent, source.name)), (self._by_stem, (source.parent, PurePosixPath(source.name).stem))):
            index.pop(key, None)  # re-inserted at the end: the dicts stay in time order
            index[key] = (record_id, now)

    def photo_of(self, sidecar: Path) -> str | None:
        """The id of the record of the photo `sidecar` belongs to, if it was filed lately."""
        self._prune(time.monotonic())
        key = (sidecar.parent, _base(sidecar))
        found = self._by_name.get(key) or self._by_stem.get(key)
        return found[0] if found else None

    def _prune(self, now: float) -> None:
        for index in (self._by_name, self._by_stem):
            while index:
                key, (_, added) = next(iter(index.items()))
                if now - added <= self._keep:
                    break
                del index[key]
