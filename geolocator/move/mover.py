"""Moving files without ever overwriting or losing one (beets' `util.move`, made atomic).

- Same filesystem: `os.link(src, dest)` then `unlink(src)`. `link` fails with EEXIST when
  `dest` exists, so "is the name free?" and "take it" are one atomic step: two workers, or a
  user, can never overwrite each other. Where hard links are not supported (FAT, some network
  shares) `renameat2(RENAME_NOREPLACE)` does the same in one call.
- Another filesystem: copy into a temporary file in the destination folder, fsync it, link it
  into place (again failing on EEXIST), fsync the folder, and only then remove the source.

At every instant the content exists completely at the source, at the destination, or at both
(never neither); `geolocator.pipeline` records an intent before calling `move_noreplace` so a
restart knows which.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from geolocator.fileio import open_regular
from geolocator.folders import fsync_dir
from geolocator.move.naming import NAME_MAX_BYTES, fit_name, numbered_name

log = logging.getLogger(__name__)

TEMP_PREFIX = ".geolocator-"
TEMP_SUFFIX = ".partial"

_RENAME_NOREPLACE = 1
_AT_FDCWD = -100
# What os.link raises where a filesystem has no hard links (FAT, some FUSE and SMB mounts).
LINK_UNSUPPORTED = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS})


def free_name(
    folder: Path,
    name: str,
    taken: set[Path] | frozenset[Path] = frozenset(),
    companions: Callable[[str], Iterable[str]] = lambda name: (),
    limit: int = NAME_MAX_BYTES,
) -> Path:
    """The first of `name`, `name-2`, `name-3`... (each at most `limit` bytes) that neither exists
    in `folder` nor is in `taken` (names reserved by moves in progress), and whose `companions`
    (the names its sidecars will get) are free too. Only a hint: `move_noreplace` is the check."""
    number = 1
    while True:
        candidate = folder / (fit_name(name, limit) if number == 1 else numbered_name(name, number, limit))
        wanted = [candidate, *(folder / other for other in companions(candidate.name))]
        if not any(path in taken or os.path.lexists(path) for path in wanted):
            return candidate
        number += 1


def _renameat2_noreplace(src: Path, dest: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    if renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dest), _RENAME_NOREPLACE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(dest))


def _place(existing: Path, dest: Path) -> bool:
    """Give the file at `existing` the name `dest` without overwriting anything.

    Returns True when `existing` still needs unlinking (it was linked), False when it was renamed.
    Raises FileExistsError when `dest` is taken.
    """
    try:
        os.link(existing, dest, follow_symlinks=False)
        return True
    except OSError as exc:
        if exc.errno not in LINK_UNSUPPORTED:
            raise
    try:
        _renameat2_noreplace(existing, dest)
        return False
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOSYS):
            raise
    # Neither links nor RENAME_NOREPLACE (rare): claim the name with O_EXCL, then replace our own
    # empty placeholder. A crash in between leaves an empty placeholder, never a lost photo.
    os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    os.replace(existing, dest)
    return False


def _copy_to_temp(src: Path, folder: Path) -> Path:
    tmp = folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}{TEMP_SUFFIX}"
    try:
        with open_regular(src, follow_symlinks=False) as fin, open(tmp, "xb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
            fout.flush()
            os.fsync(fout.fileno())
        shutil.copystat(src, tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def move_noreplace(src: Path, dest: Path, durable: bool = True) -> None:
    """Move `src` to exactly `dest`; FileExistsError (and nothing changed) when `dest` exists.

    Durable when it returns: the destination folder and the source folder are fsynced. With
    `durable=False` a same-filesystem move leaves that to the caller (who can fsync each folder
    once for a batch of moves); a copy across filesystems is always made durable before the
    source is removed.
    """
    try:
        linked = _place(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        tmp = _copy_to_temp(src, dest.parent)
        try:
            _place(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)  # linked: drop the temp name; renamed: already gone
        linked = durable = True  # the source is still there: the copy must be safe first
    if durable:
        fsync_dir(dest.parent)
    if linked:
        src.unlink()
    if durable:
        fsync_dir(src.parent)


def remove_stale_temps(folder: Path) -> int:
    """Delete temporary copies a crash left in `folder` (their sources were never removed)."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX) and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)
            removed += 1
    return removed
