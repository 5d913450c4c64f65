"""Where photos live: the four folders, which one a record's path is relative to, the
thumbnail cache, and making a folder's entries durable.

With `[library] move = false` (in place) the inbox is the root of the user's archive: every
record's path, whatever its status, is relative to it, and nothing is moved out of it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from geolocator.config import Config
from geolocator.fileio import path_as_text, path_from_text
from geolocator.record import PhotoRecord, Status


def fsync_dir(folder: Path) -> None:
    """Make the folder's entries (a rename, a link, a new file) survive a power cut."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sessions_path(database: Path) -> Path:
    """The map page's sessions (viewer.sessions), beside the database: `geolocator.sessions`."""
    return database.with_name(f"{database.stem}.sessions")


# A relative path whose bytes are not UTF-8 (a name from a FAT card) is kept as this prefix and
# the base64 of its bytes: a relative path never starts with "/", so none is taken for another.
_UNDECODABLE = "/base64:"


def path_text(relative: Path) -> str:
    """A path relative to a root as text the store can hold, `path_of` giving back the same bytes."""
    return path_as_text(relative, _UNDECODABLE)


def path_of(text: str) -> Path:
    """The relative path `path_text` wrote."""
    return path_from_text(text, _UNDECODABLE)


@dataclass(frozen=True)
class Folders:
    inbox: Path
    library: Path
    failed: Path
    duplicates: Path
    database: Path
    move: bool = True  # False: the inbox is an archive indexed in place (`[library] move`)

    @classmethod
    def from_config(cls, config: Config) -> Folders:
        p = config.paths
        return cls(p.inbox, p.library, p.failed, p.duplicates, p.database, config.library.move)

    def root(self, status: Status) -> Path:
        """The folder a record's `path` is relative to: the inbox for every record in place."""
        if not self.move:
            return self.inbox
        if status is Status.FAILED:
            return self.failed
        if status is Status.DUPLICATE:
            return self.duplicates
        return self.library

    @property
    def thumbnails(self) -> Path:
        """The map's thumbnail cache: beside the database, made on first use."""
        return self.database.parent / "thumbnails"

    @property
    def tracks(self) -> Path:
        """Where track files (GPX, KML, ...) are kept: library/tracks/ (no photo layout makes it)."""
        return self.library / "tracks"

    @property
    def track_cache(self) -> Path:
        """Compact copies of the tracks' points, beside the database, so a start loads them fast."""
        return self.database.parent / "trackcache"

    def file_of(self, record: PhotoRecord) -> Path | None:
        """Where the record's file is; None when it has none (or, in place, it went missing)."""
        if not record.path or record.missing_since:
            return None
        return self.root(record.status) / path_of(record.path)

    def relative(self, path: Path) -> str:
        """In place: the record path of a file in the inbox (`path_text` of it relative to the inbox)."""
        return path_text(path.relative_to(self.inbox))

    def create(self) -> None:
        """The folders files go to (in place only the inbox: nothing is made inside an archive)."""
        for folder in (self.inbox, self.library, self.failed, self.duplicates) if self.move else (self.inbox,):
            folder.mkdir(parents=True, exist_ok=True)
