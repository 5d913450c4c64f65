"""What `scan` and the service import: nothing of the tracks stack (numpy, gpxpy, pynmea2, ijson,
defusedxml, timezonefinder) for photos, the parsers once a track file comes. Measured on the real
processes with `python -X importtime`, which lists every module as it is imported."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from expect import expect
from photos import GPS_JPEGS, copy_corpus
from test_cli import TRACKS_STACK
from test_tracks_parse import gpx_text

from geolocator.record import Status
from geolocator.store import load_records

REPO = Path(__file__).resolve().parent.parent
DAEMON = [sys.executable, "-X", "importtime", str(REPO / "daemon.py")]
T0 = 1_717_236_000  # 2024-06-01 10:00:00 UTC


def imported(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:") and "|" in line}


def of_tracks_stack(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in TRACKS_STACK)


def write_config(root: Path) -> Path:
    config = root / "config.toml"
    config.write_text("[watch]\nsettle_seconds = 0.2\n[ollama]\nenabled = false\n[viewer]\nenabled = false\n")
    return config


def scan(config: Path) -> tuple[str, set[str]]:
    proc = subprocess.run([*DAEMON, "scan", "--config", str(config)], capture_output=True, text=True, timeout=120, cwd=config.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, imported(proc.stderr)


def test_scan_of_photos_imports_no_track_parser_until_a_track_comes(tmp_path, corpus):
    config = write_config(tmp_path)
    for n, name in enumerate(GPS_JPEGS):
        copy_corpus(name, tmp_path / "inbox" / f"p{n}.jpg")
    out, modules = scan(config)
    assert out.startswith(f"scan: {len(GPS_JPEGS)} located")
    assert "geolocator.pipeline" in modules  # the measurement itself works
    assert of_tracks_stack(modules) == []

    walk = [(T0 + 60 * i, 48.85 + i * 0.001, 2.29 + i * 0.001) for i in range(5)]
    (tmp_path / "inbox" / "walk.gpx").write_text(gpx_text(walk))
    out, modules = scan(config)
    assert out.startswith("scan: 0 located")  # the track is filed as a track, not counted as a photo
    assert {"gpxpy", "numpy"} <= modules
    tracks = [r for r in load_records(tmp_path / "geolocator.json").values() if r.status is Status.TRACK]
    assert [r.name for r in tracks] == ["walk.gpx"] and "5 points" in (tracks[0].description or "")


def test_the_service_filing_photos_imports_no_track_parser(tmp_path, corpus):
    config = write_config(tmp_path)
    for n, name in enumerate(GPS_JPEGS):
        copy_corpus(name, tmp_path / "inbox" / f"p{n}.jpg")
    proc = subprocess.Popen([*DAEMON, "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        expect(lambda: proc.poll() is not None or not any((tmp_path / "inbox").rglob("*.jpg")), timeout=60, what="the inbox to empty")
        copy_corpus(GPS_JPEGS[0], tmp_path / "inbox" / "late.jpg", extra=b"late")  # one more, through the watcher
        expect(lambda: proc.poll() is not None or not (tmp_path / "inbox" / "late.jpg").exists(), timeout=60, what="the late photo to be filed")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-2000:]
    modules = imported(err)
    assert "geolocator.service" in modules and "geolocator.pipeline" in modules
    assert of_tracks_stack(modules) == []
    records = load_records(tmp_path / "geolocator.json")
    assert sorted(r.status for r in records.values()) == [Status.LOCATED] * (len(GPS_JPEGS) + 1)
