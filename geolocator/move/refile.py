"""A copy filed as a duplicate, at the user's word: moved from the library into duplicates/ (in
place, `[library] move = false`, only its record changes: nothing in the archive moves).

A photo placed as the copy of another (geolocator.locations.copies) is kept in the library beside
its original, unless the user says it is only a duplicate of it (the map page's "File as
duplicate"). Then it moves as an inbox file would: its intent (the record as it will be, with
`moving_from` its library path) is written before the file moves, the move never overwrites
(`Intents.move`), and the intent is cleared once done, so a crash resumes it at the next start
(`Intents.recover`). Its sidecars go with it: those it came with and ours (NAME.EXT.xmp), not a
NAME.xmp another photo of that NAME may share. Its record keeps its id, and says it is a
duplicate of its original.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from geolocator.errors import GeolocatorError
from geolocator.folders import Folders
from geolocator.move.intents import Intents, is_entry
from geolocator.move.naming import SIDECAR_SUFFIX
from geolocator.record import PLACEABLE, PhotoRecord, Source, Status
from geolocator.record.store import Store

FILED_AS_DUPLICATE = "filed as a duplicate of its original by hand"


class NotRefiled(GeolocatorError):
    """The photo cannot be filed as a duplicate (the reason says why)."""


def file_as_duplicate(store: Store, folders: Folders, intents: Intents, record_id: str) -> PhotoRecord:
    """Move the copy `record_id` into duplicates/ (in place: leave it where it is), its record
    saying whose duplicate it is. Raises NotRefiled when it is not a copy in the library, or is
    being moved."""
    with intents.lock:
        current = store.get(record_id)
        if current is None:
            raise NotRefiled("no such photo")
        original = store.get(current.copy_of) if current.copy_of else None
        if current.status not in PLACEABLE or current.source is not Source.COPY or original is None:
            raise NotRefiled(f"{current.name} is not a copy of a photo in the library")
        if current.moving_from or current.sidecar_moves:
            raise NotRefiled(f"{current.name} is being moved: try again in a moment")
        photo = folders.file_of(current)
        if photo is None or not is_entry(photo):
            raise NotRefiled(f"{current.name} is not in the library where it was filed")
        duplicate = dataclasses.replace(
            current, status=Status.DUPLICATE, duplicate_of=original.id, sidecars=(), sidecar_due=False, retry_at=None,
            error=f"a copy of {original.name} ({original.id}): {FILED_AS_DUPLICATE}",
        )  # fmt: skip
        if not folders.move:  # in place: the file stays where it is, as a duplicate found there does
            return store.put(dataclasses.replace(duplicate, sidecars=current.sidecars))
        intent = intents.reserve(duplicate, folders.duplicates, photo, _sidecars(current, photo, folders))
    moved = intents.move(intent)
    intents.finish(moved)
    intents.flush()
    return store.get(record_id) or moved


def _sidecars(record: PhotoRecord, photo: Path, folders: Folders) -> list[Path]:
    """The sidecars that go with the photo: those it came with, and ours beside it."""
    root = folders.root(record.status)
    found = [root / path for path in record.sidecars] + [photo.with_name(photo.name + SIDECAR_SUFFIX), photo.with_name(photo.name + SIDECAR_SUFFIX.upper())]
    return [path for path in dict.fromkeys(found) if is_entry(path) and not os.path.islink(path)]
