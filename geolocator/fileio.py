"""Opening files we did not create: only regular files, never blocking.

Anything can sit in the inbox or beside a photo: a FIFO named `a.xmp` would block a plain
`open()` forever, a device or a socket would hang or fail oddly. Every read of a file that came
from outside (photos, sidecars, tracks) goes through `open_regular`.
"""

from __future__ import annotations

import base64
import errno
import fcntl
import os
import stat
from pathlib import Path
from typing import BinaryIO


class NotRegularFile(OSError):
    """The path is a FIFO, socket, device, folder or symlink: not a file we read."""


def open_regular(path: str | bytes | Path, *, follow_symlinks: bool = True) -> BinaryIO:
    """Open `path` for binary reading if, and only if, it is a regular file.

    O_NONBLOCK makes the open of a FIFO return at once instead of waiting for a writer; the
    type is then checked on the open descriptor (no race with a swap of the name), and the
    flag cleared again so reads behave normally.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:  # ELOOP under O_NOFOLLOW: the name is a symlink
            raise NotRegularFile(exc.errno, "a symbolic link, not a file", os.fsdecode(path)) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(0, f"not a regular file ({_kind(mode)})", os.fsdecode(path))
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def path_as_text(path: Path, undecodable: str) -> str:
    """A path as text JSON can hold (valid UTF-8), `path_from_text` giving back exactly the same
    bytes: verbatim when it is valid UTF-8, else `undecodable` (a prefix no such path starts
    with) and the base64 of its bytes (a name from a FAT card, b"A\\xe9t\\xe9.jpg")."""
    text = path.as_posix()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, held as lone surrogates (PEP 383)
        return undecodable + base64.urlsafe_b64encode(os.fsencode(text)).decode("ascii")
    return text


def path_from_text(text: str, undecodable: str) -> Path:
    """The path `path_as_text` wrote with the same prefix."""
    if text.startswith(undecodable):
        return Path(os.fsdecode(base64.urlsafe_b64decode(text[len(undecodable) :])))
    return Path(text)
