"""Where photos live: the four folders, which one a record's path is relative to, the
thumbnail cache, and making a folder's entries durable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from geolocator.config import Config
from geolocator.record import PhotoRecord, Status


def fsync_dir(folder: Path) -> None:
    """Make the folder's entries (a rename, a link, a new file) survive a power cut."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Folders:
    inbox: Path
    library: Path
    failed: Path
    duplicates: Path
    database: Path

    @classmethod
    def from_config(cls, config: Config) -> Folders:
        p = config.paths
        return cls(p.inbox, p.library, p.failed, p.duplicates, p.database)

    def root(self, status: Status) -> Path:
        """The folder a record's `path` is relative to."""
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
        return self.root(record.status) / record.path if record.path else None

    def create(self) -> None:
        for folder in (self.inbox, self.library, self.failed, self.duplicates):
            folder.mkdir(parents=True, exist_ok=True)
