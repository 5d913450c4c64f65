"""Where a library photo's XMP sidecar is, and writing it atomically (geolocator.locations.sidecar
decides what it says).

Which file: the one of the photo's sidecar names that carries our namespace already; else the
`NAME.EXT.xmp` that is there (darktable's naming, and ours); else a `NAME.xmp` (Lightroom's and
digiKam's, beside raw files) when no other photo shares that NAME; else a new `NAME.EXT.xmp`.
Nothing is followed through a symlink or waited on as a FIFO, and at most MAX_SIDECAR + 1 bytes
are read of each.

Writes are atomic: a temporary file in the same folder is fsynced, then linked to the sidecar
name (which fails if anything appeared there) or renamed over the sidecar it was merged from,
after checking that sidecar is still what was read.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from geolocator.fileio import open_regular
from geolocator.folders import fsync_dir
from geolocator.locate.metadata import xmp
from geolocator.move.mover import LINK_UNSUPPORTED
from geolocator.move.naming import SIDECAR_SUFFIX, is_sidecar

MAX_SIDECAR = 2 << 20  # ours are under 2 KB; darktable's with a long develop history some hundred KB


def sidecar_path(photo: Path) -> Path:
    """`IMG_1.JPG` -> `IMG_1.JPG.xmp`: the name we give a new sidecar (the darktable and Immich naming)."""
    return photo.with_name(photo.name + SIDECAR_SUFFIX)


@dataclass(frozen=True)
class Existing:
    """A file at a sidecar name: its bytes (None when it is not a regular file or is too big to be ours to edit)."""

    data: bytes | None
    identity: tuple[int, int]  # (st_dev, st_ino)
    mode: int


def choose(photo: Path, marker: bytes) -> tuple[Path, Existing | None]:
    """The sidecar `photo`'s location goes to, and what is there now (None: nothing). `marker`
    (our namespace) in a file makes it the one, whatever its name."""
    whole = [sidecar_path(photo), photo.with_name(photo.name + SIDECAR_SUFFIX.upper())]
    stem = [path for path in xmp.sidecar_paths(photo) if path not in whole]
    found = {path: look(path) for path in dict.fromkeys((*whole, *stem))}
    for path, existing in found.items():
        if existing is not None and existing.data is not None and marker in existing.data:
            return path, existing
    for path in whole:
        if found[path] is not None:
            return path, found[path]
    for path in stem:
        existing = found[path]
        if existing is not None and existing.data is not None and _only_photo_named(photo):
            return path, existing
    return whole[0], None


def _only_photo_named(photo: Path) -> bool:
    """Whether `photo` is the only file but sidecars with its name before the extension (a raw and
    its JPEG share a NAME.xmp: not ours to choose which it belongs to)."""
    stem = photo.stem
    with os.scandir(photo.parent) as entries:
        return not any(entry.name != photo.name and not is_sidecar(entry.name) and Path(entry.name).stem == stem and entry.is_file(follow_symlinks=False) for entry in entries)


def look(target: Path) -> Existing | None:
    """None when nothing is at `target`; else what is there (never following a symlink, never
    blocking on a FIFO, reading at most MAX_SIDECAR + 1 bytes)."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return Existing(None, (st.st_dev, st.st_ino), st.st_mode)  # a symlink, folder or FIFO: never ours, never followed
    try:
        with open_regular(target, follow_symlinks=False) as fh:
            data = fh.read(MAX_SIDECAR + 1)
            st = os.fstat(fh.fileno())
    except FileNotFoundError:
        return None
    return Existing(data if len(data) <= MAX_SIDECAR else None, (st.st_dev, st.st_ino), st.st_mode)


def _temporary(target: Path, data: bytes, mode: int = 0o644) -> Path:
    """`data` in a new hidden file beside `target`, on disk (fsynced)."""
    tmp = target.with_name(f".geolocator-{os.urandom(6).hex()}.xmp.tmp")  # short: a photo's name may take 251 of 255 bytes
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode != 0o644:
                os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return tmp


def link_new(target: Path, data: bytes) -> bool:
    """Make `target` hold `data` if nothing is there; False when something appeared first."""
    tmp = _temporary(target, data)
    try:
        os.link(tmp, target)  # unlike rename, link never replaces an existing name
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in LINK_UNSUPPORTED:
            raise
        # No hard links here (some FUSE and SMB mounts): an exclusive create still never
        # overwrites, though a crash mid-write could leave a short file (then seen as unusable).
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        tmp.unlink()  # our own temporary name; the sidecar keeps the content
    fsync_dir(target.parent)
    return True


def replace_if_still(target: Path, data: bytes, merged_from: Existing) -> bool:
    """Rename `data` over `target` if it still is the file `merged_from` was read from, with the same
    bytes (keeping its permissions); False when it changed meanwhile. A save by another program in
    the instant between this check and the rename would still be lost: a rename cannot be made
    conditional, and a lock is not something other programs would honour."""
    tmp = _temporary(target, data, stat.S_IMODE(merged_from.mode))
    try:
        now = look(target)
        if now is None or now.identity != merged_from.identity or now.data != merged_from.data:
            tmp.unlink()
            return False
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)
    return True
