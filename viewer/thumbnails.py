"""JPEG thumbnails, made once per photo and kept in a cache folder beside the database. A video's
thumbnail is its first picture (`images.jpeg_copy` -> `video_frames`), cached the same way.

A record's id is a prefix of its content hash, so a thumbnail never goes stale: the cache key is
the id. Writes go to a temp file in the cache folder and are renamed into place, so a reader
never sees half a thumbnail and two threads making the same one at once do no harm.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

from PIL import Image

from geolocator.errors import UnreadableImage
from geolocator.media.images import jpeg_copy

log = logging.getLogger(__name__)

THUMB_PX = 320
QUALITY = 80


class Thumbnails:
    """`px`/`quality`: the size of the copies kept (320 px thumbnails; the photo viewer's previews are larger)."""

    def __init__(self, folder: Path, px: int = THUMB_PX, quality: int = QUALITY) -> None:
        self.folder = folder
        self.px = px
        self.quality = quality
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._unreadable: set[str] = set()  # ids whose file cannot be decoded: don't retry each request

    def path(self, record_id: str) -> Path:
        return self.folder / f"{record_id}.jpg"

    def get(self, record_id: str, source: Path) -> Path | None:
        """The cached thumbnail of `source`, made now if missing; None if the image can't be read."""
        target = self.path(record_id)
        if target.is_file():
            return target
        if record_id in self._unreadable:
            return None
        with self._locks_guard:
            lock = self._locks.setdefault(record_id, threading.Lock())
        with lock:  # one maker per id; the others wait and then find the file
            if target.is_file():
                return target
            try:
                self._make(source, target)
            except UnreadableImage as exc:
                log.info("no thumbnail: %s", exc)
                self._unreadable.add(record_id)  # don't decode it again on every request
                return None
            except OSError as exc:  # writing the cache failed (disk full?): try again next time
                log.error("cannot write the thumbnail %s: %s", target, exc)
                return None
            finally:
                with self._locks_guard:
                    self._locks.pop(record_id, None)
        return target

    def _make(self, source: Path, target: Path) -> None:
        data = jpeg_copy(source, self.px, self.quality, Image.Resampling.BICUBIC)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
