"""What `scan` and the service import: nothing of the tracks stack (numpy, pynmea2, ijson,
defusedxml, fitdecode, timezonefinder) for photos, the parsers once a track file comes; numpy
only to compare photos' pictures (`[location] copies`, on by default). Measured on the real
processes with `python -X importtime`, which lists every module as it is imported."""

from __future__ import annotations

import signal
from pathlib import Path

from configs import write_config
from expect import wait_until
from photos import GPS_JPEGS, copy_corpus
from processes import imported_modules, run_daemon, stop
from test_cli import TRACKS_STACK
from test_tracks_parse import gpx_text

from geolocator.record import Status
from geolocator.record.store import load_records

IMPORTTIME = ("-X", "importtime")  # every module listed on stderr as it is imported
T0 = 1_717_236_000  # 2024-06-01 10:00:00 UTC


def of_tracks_stack(modules: set[str], stack: tuple[str, ...] = TRACKS_STACK) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in stack)


PARSERS = tuple(m for m in TRACKS_STACK if m != "numpy")  # numpy also compares pictures (copies)


def scan(config: Path) -> tuple[str, set[str]]:
    proc = run_daemon("scan", "--config", str(config), cwd=config.parent, python=IMPORTTIME)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, imported_modules(proc.stderr)


def test_scan_of_photos_imports_no_track_parser_until_a_track_comes(tmp_path, corpus):
    config = write_config(tmp_path / "config.toml", settle=0.2, location={"copies": False})
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
    assert {"defusedxml", "numpy"} <= modules
    tracks = [r for r in load_records(tmp_path / "geolocator.json").values() if r.status is Status.TRACK]
    assert [r.name for r in tracks] == ["walk.gpx"] and "5 points" in (tracks[0].description or "")


def test_photos_compared_as_copies_load_numpy_and_no_track_parser(tmp_path, corpus):
    config = write_config(tmp_path / "config.toml", settle=0.2)  # copies on, the default
    for n, name in enumerate(GPS_JPEGS):
        copy_corpus(name, tmp_path / "inbox" / f"p{n}.jpg")
    out, modules = scan(config)
    assert out.startswith(f"scan: {len(GPS_JPEGS)} located")
    assert "geolocator.locate.pictures" in modules and "numpy" in modules
    assert of_tracks_stack(modules, PARSERS) == []


def test_the_service_filing_photos_imports_no_track_parser(daemon, tmp_path, corpus):
    config = write_config(tmp_path / "config.toml", settle=0.2)
    for n, name in enumerate(GPS_JPEGS):
        copy_corpus(name, tmp_path / "inbox" / f"p{n}.jpg")
    proc = daemon("--config", str(config), python=IMPORTTIME)
    wait_until(lambda: proc.poll() is not None or not any((tmp_path / "inbox").rglob("*.jpg")), 60, "the inbox to empty")
    copy_corpus(GPS_JPEGS[0], tmp_path / "inbox" / "late.jpg", extra=b"late")  # one more, through the watcher
    wait_until(lambda: proc.poll() is not None or not (tmp_path / "inbox" / "late.jpg").exists(), 60, "the late photo to be filed")
    _, err = stop(proc, signal.SIGTERM, timeout=30)
    assert proc.returncode == 0, err[-2000:]
    modules = imported_modules(err)
    assert "geolocator.service" in modules and "geolocator.pipeline" in modules
    assert of_tracks_stack(modules, PARSERS) == []
    records = load_records(tmp_path / "geolocator.json")
    assert sorted(r.status for r in records.values()) == [Status.LOCATED] * (len(GPS_JPEGS) + 1)
