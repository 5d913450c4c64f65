"""Capture time from the file name, for files whose metadata is gone: the patterns (pure), and
what the pipeline makes of them on real files in a real store (never over a time in the file;
a UTC name and a local one placed on a track, a UTC name by the photos taken around it; a date
alone filed under its month, placed by nothing)."""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest
from configs import make_config
from copies_made import encoded, upright
from exiftool_process import exiftool
from test_pipeline import pipeline_env
from test_tracks_service import along, gpx, utc

from geolocator.locate.metadata.file_names import NameClock, time_from_name
from geolocator.pipeline import Pipeline
from geolocator.record import Source, Status
from geolocator.record.store import Store

NAMES = [
    ("PXL_20240615_093000123.jpg", datetime(2024, 6, 15, 9, 30, 0), NameClock.UTC, "Pixel camera", "2024-06-15T09:30:00+00:00"),
    ("PXL_20240615_093000123.MP.jpg", datetime(2024, 6, 15, 9, 30, 0), NameClock.UTC, "Pixel camera", "2024-06-15T09:30:00+00:00"),
    ("IMG_20240615_113000.jpg", datetime(2024, 6, 15, 11, 30, 0), NameClock.LOCAL, "Android camera", "2024-06-15T11:30:00"),
    ("VID_20240615_113000.mp4", datetime(2024, 6, 15, 11, 30, 0), NameClock.LOCAL, "Android camera", "2024-06-15T11:30:00"),
    ("signal-2024-06-15-113000.jpg", datetime(2024, 6, 15, 11, 30, 0), NameClock.LOCAL, "Signal", "2024-06-15T11:30:00"),
    ("signal-2024-06-15-11-30-00-123.jpg", datetime(2024, 6, 15, 11, 30, 0), NameClock.LOCAL, "Signal", "2024-06-15T11:30:00"),
    ("Screenshot_20240615-113000.png", datetime(2024, 6, 15, 11, 30, 0), NameClock.LOCAL, "Android screenshot", "2024-06-15T11:30:00"),
    ("Screenshot_2024-06-15-11-30-00-123_com.android.chrome.jpg", datetime(2024, 6, 15, 11, 30, 0), NameClock.LOCAL, "Android screenshot", "2024-06-15T11:30:00"),
    ("Screenshot 2024-06-15 at 11.30.00.png", datetime(2024, 6, 15, 11, 30, 0), NameClock.LOCAL, "macOS screenshot", "2024-06-15T11:30:00"),
    ("IMG-20240615-WA0003.jpg", datetime(2024, 6, 15), NameClock.DATE_ONLY, "WhatsApp", "2024-06-15"),
    ("VID-20240615-WA0012.mp4", datetime(2024, 6, 15), NameClock.DATE_ONLY, "WhatsApp", "2024-06-15"),
    ("20240615_113000.jpg", datetime(2024, 6, 15, 11, 30, 0), NameClock.LOCAL, "Samsung camera", "2024-06-15T11:30:00"),
    ("20240615_113000(0).jpg", datetime(2024, 6, 15, 11, 30, 0), NameClock.LOCAL, "Samsung camera", "2024-06-15T11:30:00"),
    ("photo_2024-06-15_11-30-00.jpg", datetime(2024, 6, 15, 11, 30, 0), NameClock.LOCAL, "Telegram", "2024-06-15T11:30:00"),
]


@pytest.mark.parametrize(("name", "wall", "clock", "app", "taken_at"), NAMES)
def test_each_pattern_gives_its_time_and_how_to_read_it(name, wall, clock, app, taken_at):
    found = time_from_name(name)
    assert found is not None
    assert (found.wall, found.clock, found.app, found.taken_at) == (wall, clock, app, taken_at)
    assert found.source == f"the file name {name} ({app}: {clock.value})"


@pytest.mark.parametrize("name", [
    "IMG_1234.HEIC", "DSCN0010.jpg", "holiday 2024.jpg", "IMG_20241345_113000.jpg", "20240631_113000.jpg",  # no such day
    "IMG_20240615_253000.jpg", "PXL_18000615_093000123.jpg", "20240615_1130001.jpg", "2024061511300.jpg",  # no such hour, year; more digits
])
def test_names_that_say_no_time_give_none(name):
    assert time_from_name(name) is None




@pytest.fixture
def env(tmp_path):
    yield from pipeline_env(make_config(tmp_path))


def filed(pipeline: Pipeline, store: Store, path: Path):
    old = time.time() - 3600
    os.utime(path, (old, old))
    record = pipeline.process(path)
    pipeline.flush()
    assert record is not None
    return store.get(record.id)


def stripped(dest: Path, seed_name: str = "jpg/gps/DSCN0021.jpg") -> Path:
    """A photo with no metadata at all (its GPS and times stripped, as apps do)."""
    dest.write_bytes(encoded(upright(seed_name), "JPEG", 80))
    return dest


def test_a_utc_name_and_a_local_name_are_placed_on_a_track(env):
    config, store, pipeline = env
    (config.paths.inbox / "walk.gpx").write_text(gpx(along(utc("2024-06-01T10:00:00"), 60)))
    filed(pipeline, store, config.paths.inbox / "walk.gpx")
    pixel = filed(pipeline, store, stripped(config.paths.inbox / "PXL_20240601_102000123.jpg"))
    assert (pixel.status, pixel.source, pixel.time_basis) == (Status.LOCATED, Source.TRACK, "file_name")
    assert pixel.taken_utc == "2024-06-01T10:20:00+00:00" and pixel.taken_at == "2024-06-01T10:20:00+00:00"
    assert pixel.decisions[0] == "capture time from the file name PXL_20240601_102000123.jpg (Pixel camera: UTC)"
    assert pixel.path == "2024/06/PXL_20240601_102000123.jpg"
    android = filed(pipeline, store, stripped(config.paths.inbox / "IMG_20240601_124000.jpg", "jpg/gps/DSCN0025.jpg"))  # Munich: 10:40Z
    assert (android.status, android.source, android.time_basis) == (Status.LOCATED, Source.TRACK, "track_zone")
    assert android.taken_utc == "2024-06-01T10:40:00+00:00" and android.time_source.startswith("the file name IMG_20240601_124000.jpg (Android camera")


def test_a_utc_name_is_placed_by_the_photos_taken_around_it(env, corpus):
    config, store, pipeline = env
    for name, moment in (("before.jpg", "2024:06:01 12:10:00"), ("after.jpg", "2024:06:01 12:30:00")):  # 10:10Z and 10:30Z, in Italy
        path = config.paths.inbox / name
        shutil.copyfile(corpus / "exif-samples" / "jpg" / "gps" / "DSCN0010.jpg", path)
        exiftool("-q", "-overwrite_original", f"-DateTimeOriginal={moment}", "-OffsetTimeOriginal=+02:00", str(path))
        assert filed(pipeline, store, path).source is Source.EXIF
    pixel = filed(pipeline, store, stripped(config.paths.inbox / "PXL_20240601_102000123.jpg"))  # another picture, 10:20Z by its name
    before = next(r for r in store.all() if r.name == "before.jpg")
    assert (pixel.status, pixel.source, pixel.copy_of, pixel.time_basis) == (Status.LOCATED, Source.NEARBY, None, "file_name")
    assert (pixel.lat, pixel.lon) == pytest.approx((before.lat, before.lon), abs=1e-6)


def test_a_date_alone_files_the_photo_under_its_month_and_places_nothing(env):
    config, store, pipeline = env
    (config.paths.inbox / "walk.gpx").write_text(gpx(along(utc("2024-06-15T00:00:00"), 60)))  # would cover midnight
    filed(pipeline, store, config.paths.inbox / "walk.gpx")
    whatsapp = filed(pipeline, store, stripped(config.paths.inbox / "IMG-20240615-WA0003.jpg"))
    assert (whatsapp.status, whatsapp.source, whatsapp.taken_utc) == (Status.UNLOCATED, None, None)
    assert whatsapp.taken_at == "2024-06-15" and whatsapp.path == "2024/06/IMG-20240615-WA0003.jpg"
    assert any(d.startswith("only a date, from the file name IMG-20240615-WA0003.jpg (WhatsApp: date only)") for d in whatsapp.decisions)


def test_never_over_a_time_in_the_file(env, corpus):
    config, store, pipeline = env
    shutil.copyfile(corpus / "exif-samples" / "jpg" / "Canon_40D.jpg", config.paths.inbox / "PXL_20240615_093000123.jpg")
    own = filed(pipeline, store, config.paths.inbox / "PXL_20240615_093000123.jpg")
    assert own.taken_at == "2008-05-30T15:56:01" and own.time_source is None and own.time_basis is None
    assert own.path == "2008/05/PXL_20240615_093000123.jpg"
