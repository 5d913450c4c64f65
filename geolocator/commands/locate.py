"""`daemon.py locate FILE...`: one JSON line per file; reads only, moves and records nothing.

A point read from one of our own XMP sidecars reports the source that sidecar records (manual,
ai, track, nearby, copy), as an import restores it (`geolocator.locations.from_file`), never "exif"."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from geolocator.config import Config
from geolocator.locate import places
from geolocator.locations.from_file import Estimator, json_line, located_file


def main(files: list[str], config: Config, use_ai: bool, out: TextIO) -> int:
    """Print where each file was taken. Exit 1 when any file could not be read or placed for now."""
    ai: Estimator | None = None
    if use_ai and config.ollama.enabled:
        from geolocator.locate.ai import AILocator  # the ollama client loads only when it is used

        ai = AILocator(config.ollama)
    failures = 0
    for given in files:
        line = located_file(given, Path(given), ai, places.name)
        failures += line["error"] is not None
        out.write(json_line(line))
        out.flush()
    return 1 if failures else 0
