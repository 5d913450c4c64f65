"""Shared helpers for the independent checks: the product is driven only as a user drives it.

Nothing here imports `geolocator` or `viewer`: the daemon runs as a separate process
(`daemon.py scan/run/locate`) on a config in a temporary folder, and its answers are read from
what it prints, its HTTP API and the files it writes (the TinyDB JSON, library/, failed/,
duplicates/). Ground truth comes from exiftool, gpxpy/pynmea2 and our own arithmetic.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
DAEMON = REPO / "daemon.py"
PYTHON = sys.executable
FOLDERS = ("library", "failed", "duplicates")
T = TypeVar("T")


@dataclass(frozen=True)
class Result:
    """One line of the table: a check's name, whether it held, and what was seen."""

    area: str
    name: str
    ok: bool
    detail: str = ""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def exiftool(*args: str | os.PathLike[str], check: bool = True) -> str:
    done = subprocess.run(["exiftool", *map(str, args)], capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise RuntimeError(f"exiftool {' '.join(map(str, args))}: {done.stderr.strip()}")
    return done.stdout


def exiftool_gps(path: Path) -> tuple[float, float] | None:
    """The position exiftool reads (signed decimal degrees, refs applied), or None."""
    out = json.loads(exiftool("-j", "-n", "-G", "-GPSLatitude", "-GPSLongitude", path, check=False) or "[{}]")[0]
    lat = out.get("Composite:GPSLatitude", out.get("XMP:GPSLatitude"))
    lon = out.get("Composite:GPSLongitude", out.get("XMP:GPSLongitude"))
    if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
        return float(lat), float(lon)
    return None


def exiftool_altitude(path: Path) -> float | None:
    """GPS altitude as exiftool reads it (negative below sea level), or None."""
    out = json.loads(exiftool("-j", "-n", "-Composite:GPSAltitude", path, check=False) or "[{}]")[0]
    value = out.get("GPSAltitude")
    return float(value) if isinstance(value, (int, float)) else None


def tag_gps(path: Path, lat: float, lon: float, *extra: str) -> None:
    """Write EXIF GPS with hemisphere refs, as a camera or phone does."""
    exiftool(
        "-q", "-overwrite_original",
        f"-GPSLatitude={abs(lat)}", f"-GPSLatitudeRef={'N' if lat >= 0 else 'S'}",
        f"-GPSLongitude={abs(lon)}", f"-GPSLongitudeRef={'E' if lon >= 0 else 'W'}",
        *extra, path,
    )


def jpeg(path: Path, colour: tuple[int, int, int] = (90, 120, 160), size: tuple[int, int] = (96, 64), **save: Any) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, "JPEG", quality=90, **save)
    return path


@dataclass
class Workspace:
    """A config in a temporary folder, as a new user would set one up."""

    root: Path
    toml: str = "[ollama]\nenabled = false\n[viewer]\nenabled = false\n"  # no model, no page: scan only
    config: Path = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.root / "config.toml"
        self.root.mkdir(parents=True, exist_ok=True)
        self.config.write_text(self.toml, encoding="utf-8")
        self.inbox.mkdir(parents=True, exist_ok=True)

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def daemon(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, str(DAEMON), *args, "--config", str(self.config)],
            capture_output=True, text=True, timeout=timeout, cwd=self.root,
        )

    def scan(self, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.daemon("scan", timeout=timeout)

    def records(self) -> list[dict[str, Any]]:
        db = self.root / "geolocator.json"
        if not db.exists():
            return []
        data = json.loads(db.read_text(encoding="utf-8"))
        return list(data.get("photos", {}).values())

    def filed(self) -> dict[str, list[Path]]:
        """Every file in library/, failed/ and duplicates/, by sha256 (our own XMP sidecars left out)."""
        out: dict[str, list[Path]] = {}
        for folder in FOLDERS:
            base = self.root / folder
            if not base.exists():
                continue
            for p in base.rglob("*"):
                if p.is_file() and not p.is_symlink() and not p.name.endswith(".xmp") and ".cache" not in p.parts:
                    out.setdefault(sha256(p), []).append(p)
        return out

    def inbox_left(self) -> list[str]:
        return sorted(str(p.relative_to(self.inbox)) for p in self.inbox.rglob("*") if not p.is_dir() or p.is_symlink())


def temp_root(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"geoloc-indep-{prefix}-"))


def remove_tree(root: Path) -> None:
    if os.environ.get("INDEP_KEEP"):  # INDEP_KEEP=1: leave the temporary folders, to look at after a failure
        print(f"kept {root}", file=sys.stderr)
        return
    # Undo chattr +i / read-only modes the fault checks set, so the temp folder can go.
    subprocess.run(["chattr", "-R", "-i", str(root)], capture_output=True)
    for p in [root, *root.rglob("*")]:
        if not p.is_symlink():
            with contextlib.suppress(OSError):
                p.chmod(0o755 if p.is_dir() else 0o644)
    shutil.rmtree(root, ignore_errors=True)


def locate(paths: list[Path], cwd: Path) -> dict[str, dict[str, Any]]:
    """`daemon.py locate --no-ai` on many files at once: its JSON lines, keyed by the file printed."""
    done = subprocess.run(
        [PYTHON, str(DAEMON), "locate", "--no-ai", *map(str, paths)],
        capture_output=True, text=True, timeout=300, cwd=cwd,
    )
    out: dict[str, dict[str, Any]] = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            out[row["file"]] = row
    return out


def until(condition: Callable[[], T | None], timeout: float, interval: float = 0.1) -> T | None:
    """Poll `condition` until it returns something truthy (returned) or `timeout` seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while True:
        got = condition()
        if got:
            return got
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) in metres."""
    from math import asin, cos, radians, sin, sqrt

    lat1, lon1, lat2, lon2 = map(radians, (*a, *b))
    h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * asin(sqrt(min(1.0, h)))
