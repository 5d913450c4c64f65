"""kill -9 while a GPS track places the photos filed before it: the placements and their sidecars
resume at the next start, to completion (issue 16: a re-placement killed after 4 s left 13k of
20k photos never placed, and one killed later left every sidecar unwritten for good).

The real daemon as a process, photos with capture times written into real JPEGs, a GPX file
renamed into the inbox, SIGKILL once the first sidecars are on disk."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from configs import write_config
from expect import wait_until
from PIL import Image
from processes import DAEMON, daemon_env

from geolocator.locations.sidecar import read_sidecar
from geolocator.record import Source, Status
from geolocator.record.store import load_records

pytestmark = pytest.mark.timeout(240)

PHOTOS = 800
START = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def dated_jpeg(seed: int, taken_utc: datetime) -> bytes:
    """A small JPEG whose EXIF says when it was taken, in Munich's summer time (+02:00)."""
    image = Image.new("RGB", (32, 24), ((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256))
    exif = Image.Exif()
    local = taken_utc + timedelta(hours=2)
    exif.get_ifd(0x8769).update({0x9003: local.strftime("%Y:%m:%d %H:%M:%S"), 0x9011: "+02:00"})  # DateTimeOriginal, OffsetTimeOriginal
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue() + seed.to_bytes(4, "big")


def gpx(minutes: int) -> str:
    points = "".join(
        f'<trkpt lat="{48.1 + i * 1e-4:.6f}" lon="{11.5 + i * 1e-4:.6f}"><time>{(START + timedelta(minutes=i)):%Y-%m-%dT%H:%M:%SZ}</time></trkpt>' for i in range(minutes + 1)
    )
    return f'<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{points}</trkseg></trk></gpx>'


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """The service, its log to a file (a pipe nobody reads would fill and stop it)."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, *DAEMON[1:], "--config", str(config)], cwd=config.parent, env=daemon_env(), stdout=out, stderr=out)


def sidecars(library: Path) -> list[Path]:
    return list(library.glob("2024/06/*.xmp"))


@pytest.mark.slow
def test_a_kill_during_a_tracks_replacement_resumes_it_and_its_sidecars_at_the_next_start(tmp_path):
    config = write_config(tmp_path / "config.toml", settle=0.2)
    inbox, library = tmp_path / "inbox", tmp_path / "library"
    inbox.mkdir()
    for n in range(PHOTOS):
        (inbox / f"IMG_{n:05d}.jpg").write_bytes(dated_jpeg(n, START + timedelta(seconds=30 + n * 2)))
    scanned = subprocess.run([sys.executable, *DAEMON[1:], "scan", "--config", str(config)], cwd=tmp_path, env=daemon_env(), capture_output=True, text=True, timeout=180)
    assert f"{PHOTOS} unlocated" in scanned.stdout, scanned.stdout + scanned.stderr

    log = tmp_path / "daemon.log"
    proc = start(config, log)
    try:
        wait_until(lambda: " ready: " in log.read_text(errors="replace") or proc.poll() is not None, 60, "the service ready")
        staged = tmp_path / "walk.gpx"
        staged.write_text(gpx(minutes=60))
        os.replace(staged, inbox / "walk.gpx")
        wait_until(lambda: len(sidecars(library)) >= 20 or proc.poll() is not None, 120, "the first sidecars of the re-placement written")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    at_kill = len(sidecars(library))
    assert at_kill < PHOTOS, "the kill came after the re-placement ended: nothing was tested"

    proc = start(config, log)
    try:
        wait_until(lambda: len(sidecars(library)) == PHOTOS or proc.poll() is not None, 180, f"all {PHOTOS} sidecars after the restart")
        wait_until(lambda: " ready: " in log.read_text(errors="replace").split("recovered", 1)[-1] or proc.poll() is not None, 60, "the restarted service ready")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text(errors="replace")[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    records = load_records(tmp_path / "geolocator.json")
    photos = [r for r in records.values() if r.status is not Status.TRACK]
    assert len(photos) == PHOTOS and all(r.source is Source.TRACK and not r.sidecar_due and not r.moving_from for r in photos)
    for record in photos[:: PHOTOS // 50]:  # every sidecar says the point of its record, from the track
        said = read_sidecar(library / f"{record.path}.xmp")
        assert said is not None and said.provenance is not None and said.provenance.source is Source.TRACK
        assert (round(said.lat or 0, 6), round(said.lon or 0, 6)) == (round(record.lat or 0, 6), round(record.lon or 0, 6))
