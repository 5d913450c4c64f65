"""Whole folder trees as values, compared with file contents (as organize's tests do):

    assert tree(tmp_path) == {"library": {"2008": {"10": {"a.jpg": content}}}, "failed": {}, "inbox": {}}

A folder is a dict of its entries, a regular file a `Content` equal to its bytes (or to their
sha256 in hex), a symlink `Link(target)`, a FIFO the string "fifo". A failed comparison prints
big files as their size and digest, not as their bytes.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

PREVIEW = 64  # contents up to this size are shown as bytes in a failed comparison


class Content:
    """A file's bytes: equal to the same bytes, to their sha256 hex digest, or to another Content."""

    __slots__ = ("data", "sha256")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sha256 = hashlib.sha256(data).hexdigest()

    def __eq__(self, other: object) -> bool:
        match other:
            case Content():
                return self.data == other.data
            case bytes():
                return self.data == other
            case str():
                return self.sha256 == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.data)

    def __repr__(self) -> str:
        if len(self.data) <= PREVIEW:
            return repr(self.data)
        return f"<{len(self.data)} bytes sha256:{self.sha256[:12]}>"


@dataclass(frozen=True)
class Link:
    target: str


def tree(root: Path) -> dict[str, object]:
    """Every entry below `root`, recursively, never following symlinks."""
    entries: dict[str, object] = {}
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):
            entries[entry.name] = tree(Path(entry.path))
        elif stat.S_ISLNK(mode):
            entries[entry.name] = Link(os.readlink(entry.path))
        elif stat.S_ISREG(mode):
            entries[entry.name] = Content(Path(entry.path).read_bytes())
        elif stat.S_ISFIFO(mode):
            entries[entry.name] = "fifo"
        else:
            entries[entry.name] = f"special file {stat.filemode(mode)}"
    return entries


def files_under(root: Path) -> list[Path]:
    """Every regular file below `root` (none if it does not exist), sorted."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def file_names(root: Path) -> list[str]:
    """The regular files below `root` as sorted relative POSIX paths."""
    return sorted(p.relative_to(root).as_posix() for p in files_under(root))


def sha256(data: bytes | Path) -> str:
    """The hex digest of bytes, or of a file's bytes."""
    return hashlib.sha256(data.read_bytes() if isinstance(data, Path) else data).hexdigest()


def nest(flat: dict[str, object]) -> dict[str, object]:
    """The expected tree from relative paths: {"2008/10/a.jpg": data} -> {"2008": {"10": {"a.jpg": data}}}."""
    root: dict[str, object] = {}
    for path, value in flat.items():
        *folders, name = path.split("/")
        node = root
        for folder in folders:
            node = node.setdefault(folder, {})  # type: ignore[assignment]
        node[name] = value
    return root
