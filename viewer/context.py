"""What every route shares: the store, the folders, the page's token, the sidecars, the AI
worker's wake, the Placer, and the record/file lookups."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import bottle

from geolocator.config import Config
from geolocator.folders import Folders
from geolocator.locate import places
from geolocator.locations.placing import Placer, placer_for
from geolocator.locations.sidecar import Sidecars
from geolocator.record import PhotoRecord
from geolocator.record.store import Store
from viewer.rows import FolderNames, folder_names
from viewer.thumbnails import Thumbnails

ID_RE = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class Context:
    store: Store
    config: Config
    folders: Folders
    thumbs: Thumbnails
    names: FolderNames  # our folders' absolute paths, hidden from what the API sends
    sidecars: Sidecars
    wake_ai: Callable[[], None]  # the AI worker: a photo is due now ("Retry now", "Ask the AI again")
    placer: Callable[[], Placer]  # places the photos around one changed by hand (the service's own)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # Changes on restart: tells the page its seq is from another run.
    instance: str = field(default_factory=lambda: secrets.token_hex(8))

    @classmethod
    def create(cls, store: Store, config: Config, wake_ai: Callable[[], None] | None = None) -> Context:
        """`wake_ai` None: no AI worker runs in this process (the map alone); a due photo waits
        for the service's worker to find it."""
        folders = Folders.from_config(config)
        sidecars = Sidecars.for_config(store, config, folders)
        placer = placer_for(store, config, places.name)
        return cls(store, config, folders, Thumbnails(folders.thumbnails), folder_names(folders), sidecars, wake_ai or _no_worker, placer)

    def record_or_404(self, rid: str) -> PhotoRecord:
        record = self.store.get(rid) if ID_RE.match(rid) else None
        if record is None:
            raise bottle.HTTPError(404, "no such photo")
        return record

    def file_of(self, record: PhotoRecord) -> tuple[Path, Path] | None:
        """(root, path relative to it) of the record's file, only if it is a file inside the root.

        For the files we read ourselves (thumbnails, `has_file`); what we send goes through
        `bottle.static_file`, which checks containment again. Resolved, so a symlink cannot lead out."""
        if not record.path:
            return None
        root = self.folders.root(record.status).resolve()
        try:
            full = (root / record.path).resolve()
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


def _no_worker() -> None:
    """The wake of an AI worker that is not in this process."""
