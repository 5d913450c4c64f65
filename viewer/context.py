"""What every route shares: the process's Core (store, folders, config, `Locations`), the page's
token, the AI worker (its state, its wake), and the record/file lookups."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import bottle

from geolocator.config import Config
from geolocator.core import Core
from geolocator.folders import Folders
from geolocator.locations.changes import Locations
from geolocator.record import PhotoRecord
from geolocator.record.store import Store
from viewer.rows import FolderNames, folder_names
from viewer.thumbnails import Thumbnails

if TYPE_CHECKING:
    from geolocator.locations.ai_queue import AIWorker

ID_RE = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class Context:
    core: Core
    thumbs: Thumbnails
    names: FolderNames  # our folders' absolute paths, hidden from what the API sends
    ai: AIWorker | None  # the AI worker of this process; None for the map alone, or the AI turned off
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # Changes on restart: tells the page its seq is from another run.
    instance: str = field(default_factory=lambda: secrets.token_hex(8))

    @classmethod
    def create(cls, core: Core, ai: AIWorker | None = None) -> Context:
        """`ai` None: no AI worker runs in this process (the map alone); a due photo waits for the
        service's worker to find it."""
        return cls(core, Thumbnails(core.folders.thumbnails), folder_names(core.folders), ai)

    def wake_ai(self) -> None:
        """A photo is due now ("Retry now", "Ask the AI again"): every server may be asked at once."""
        if self.ai is not None:
            self.ai.retry_now()

    @property
    def store(self) -> Store:
        return self.core.store

    @property
    def config(self) -> Config:
        return self.core.config

    @property
    def folders(self) -> Folders:
        return self.core.folders

    @property
    def locations(self) -> Locations:
        return self.core.locations

    def record_or_404(self, rid: str) -> PhotoRecord:
        record = self.store.get(rid) if ID_RE.match(rid) else None
        if record is None:
            raise bottle.HTTPError(404, "no such photo")
        return record

    def file_of(self, record: PhotoRecord) -> tuple[Path, Path] | None:
        """(root, path relative to it) of the record's file, only if it is a file inside the root.

        For the files we read ourselves (thumbnails, `has_file`); what we send goes through
        `bottle.static_file`, which checks containment again. Resolved, so a symlink cannot lead out."""
        path = self.folders.file_of(record)  # None for a record without a file (or one gone missing)
        if path is None:
            return None
        root = self.folders.root(record.status).resolve()
        try:
            full = path.resolve()
        except (OSError, ValueError):
            return None
        if not full.is_relative_to(root) or not full.is_file():
            return None
        return root, full.relative_to(root)

    def file_or_404(self, rid: str) -> tuple[PhotoRecord, Path, Path]:
        record = self.record_or_404(rid)
        located = self.file_of(record)
        if located is None:
            raise bottle.HTTPError(404, "no file for this photo")
        return record, *located
