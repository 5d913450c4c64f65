"""Where the built place index lives, and building it when it is not there yet.

The index is named by a hash of its source files (`Sources.content_key`), in
`~/.cache/geolocator/places/` (GEOLOCATOR_CACHE moves it): checkouts with the same data share
one, and none is ever deleted. `make places` (run by `make run` and `make test`) builds it at
set-up: `python -m geolocator.locate.places.cache`; a start without it builds it first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from geolocator.locate.places.index import FORMAT_VERSION, INDEX_FOLDER, Sources


def cache_dir() -> Path:
    """GEOLOCATOR_CACHE, else $XDG_CACHE_HOME/geolocator, else ~/.cache/geolocator."""
    if override := os.environ.get("GEOLOCATOR_CACHE"):
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "geolocator"


def index_path(sources: Sources, folder: Path) -> Path:
    """Where the index of these sources is (built or not). Hashing the sources' 5 MB at every
    start would cost ~15 ms, so the hash is kept in a small file named after their paths, sizes
    and modification times (`stat_key`), written the first time these files are seen."""
    places = folder / INDEX_FOLDER
    known = places / f"sources-{sources.stat_key()}.key"
    try:
        key = known.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        key = ""
    if not key.startswith(f"places-v{FORMAT_VERSION}{sys.byteorder[0]}-"):
        key = sources.content_key()
        try:
            places.mkdir(parents=True, exist_ok=True)
            _write_aside(known, key.encode("ascii"))
        except OSError:
            pass  # a cache we cannot write: the hash is worked out again next time
    return places / f"{key}.idx"


def _write_aside(path: Path, data: bytes) -> None:
    """Write a file whole or not at all: a reader never sees half of it."""
    import tempfile  # here: written once per source version, not at every start

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def ensure_index(sources: Sources, folder: Path) -> Path:
    """The index file for these sources, built first if it is not there yet. Other indexes in the
    folder are left alone: another checkout or version may be using them."""
    path = index_path(sources, folder)
    if path.is_file():
        return path
    # Imported here: building (gzip, json, csv) happens once per source version, and every other
    # start opens the file without loading any of it.
    from geolocator.locate.places.build import build

    path.parent.mkdir(parents=True, exist_ok=True)
    _write_aside(path, build(sources))
    return path


if __name__ == "__main__":
    ensure_index(Sources.installed(), cache_dir())
