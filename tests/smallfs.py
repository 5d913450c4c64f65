"""A real, tiny filesystem to fill up: a tmpfs mounted for one test (needs root; else skip).

`fill_space` and `fill_inodes` make it full the way a real disk gets full: ENOSPC from the
kernel, nothing simulated.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_fs(where: Path, *, size: str = "4m", inodes: int = 64) -> Iterator[Path]:
    """Mount a tmpfs of `size` bytes and `inodes` inodes at `where` for the block's duration."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},nr_inodes={inodes},mode=0755", "tmpfs", str(where)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def fill_space(folder: Path) -> Path:
    """Write one file until the filesystem refuses more bytes (ENOSPC). Returns the file."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for chunk in (b"\0" * 65536, b"\0"):  # big writes, then byte by byte: not a page left
            try:
                while True:
                    os.write(fd, chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)
    return filler


def fill_inodes(folder: Path) -> list[Path]:
    """Create empty files until the filesystem has no inode left (ENOSPC). Returns them."""
    made: list[Path] = []
    while True:
        path = folder / f"inode-{len(made)}"
        try:
            path.touch()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            return made
        made.append(path)
