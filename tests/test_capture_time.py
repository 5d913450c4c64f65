"""Capture time in UTC from photos exiftool writes, with and without OffsetTimeOriginal, a GPS
time stamp, and the time zone at a track's position (a daylight-saving change included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import exifread
import pytest
from exiftool_process import exiftool
from photos import write_jpeg
from test_tracks_parse import gpx_text

from geolocator.config import parse_utc_offset
from geolocator.locate.metadata import read_metadata
from geolocator.locate.tracks.model import Track
from geolocator.locate.tracks.parse import read_track
from geolocator.locations.capture_time import TimeBasis, capture_time, gps_timestamp, zone_at

PARIS = (48.8584, 2.2945)


def _photo(tmp_path: Path, name: str, seed: int, *tags: str) -> Path:
    path = write_jpeg(tmp_path / name, seed)
    exiftool("-q", "-overwrite_original", *tags, str(path))
    return path


def _gps_utc(path: Path) -> datetime | None:
    """What the metadata reader must provide: GPSDateStamp + GPSTimeStamp, read here with exifread."""
    with path.open("rb") as fh:
        tags = exifread.process_file(fh, details=False)
    stamp = tags.get("GPS GPSTimeStamp")
    date_stamp = tags.get("GPS GPSDate")
    if stamp is None or date_stamp is None:
        return None
    return gps_timestamp(str(date_stamp), [float(v.num) / float(v.den) for v in stamp.values])


def _paris_track(tmp_path: Path, start: datetime, minutes: int) -> Track:
    points = [((start + timedelta(minutes=m)).timestamp(), PARIS[0] + m * 1e-4, PARIS[1]) for m in range(0, minutes + 1, 5)]
    path = tmp_path / f"paris-{start:%m%d%H%M}.gpx"
    path.write_text(gpx_text(points))
    (track,) = read_track(path).tracks
    return track


def test_offset_time_original_wins(tmp_path: Path) -> None:
    photo = _photo(tmp_path, "a.jpg", 1, "-DateTimeOriginal=2024:06:01 12:00:00", "-OffsetTimeOriginal=+02:00", "-GPSDateStamp=2024:06:01", "-GPSTimeStamp=09:00:00")
    meta = read_metadata(photo)
    assert meta.taken_at == "2024-06-01T12:00:00+02:00"
    found = capture_time(meta.taken_at, gps_utc=_gps_utc(photo), camera_utc_offset=timedelta(hours=5))
    assert found is not None and found.basis is TimeBasis.FILE_OFFSET
    assert found.utc == datetime(2024, 6, 1, 10, 0, tzinfo=UTC) and found.local_day.isoformat() == "2024-06-01"
    assert found.decisions == ("UTC offset +02:00 recorded in the file",)


def test_gps_time_stamp_gives_the_offset(tmp_path: Path) -> None:
    # The camera's clock runs 40 s ahead of GPS: the offset is still a whole +09:00 (Tokyo).
    photo = _photo(tmp_path, "b.jpg", 2, "-DateTimeOriginal=2024:06:01 19:00:40", "-GPSDateStamp=2024:06:01", "-GPSTimeStamp=10:00:00")
    meta = read_metadata(photo)
    assert meta.taken_at == "2024-06-01T19:00:40"
    found = capture_time(meta.taken_at, gps_utc=_gps_utc(photo))
    assert found is not None and found.basis is TimeBasis.GPS_TIME
    assert found.utc == datetime(2024, 6, 1, 10, 0, 40, tzinfo=UTC)
    assert "UTC+09:00" in found.decisions[0]
    # A stale GPS fix (3 h 07 min off any whole offset) is passed over, with the reason kept.
    stale = _photo(tmp_path, "c.jpg", 3, "-DateTimeOriginal=2024:06:01 19:00:00", "-GPSDateStamp=2024:06:01", "-GPSTimeStamp=06:53:00")
    fallback = capture_time(read_metadata(stale).taken_at, gps_utc=_gps_utc(stale), camera_utc_offset=timedelta(hours=9))
    assert fallback is not None and fallback.basis is TimeBasis.CAMERA_OFFSET
    assert fallback.utc == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    assert "stale fix, not used" in fallback.decisions[0] and "camera_utc_offset +09:00" in fallback.decisions[1]
    # Only the GPS stamp: it is the time.
    only_gps = capture_time(None, gps_utc=datetime(2024, 6, 1, 10, 0, tzinfo=UTC))
    assert only_gps is not None and only_gps.basis is TimeBasis.GPS_TIME and only_gps.local is None


def test_zone_at_the_track_position_across_a_dst_change(tmp_path: Path) -> None:
    # Paris, 31 March 2024: clocks go from 02:00 CET to 03:00 CEST at 01:00 UTC.
    track = _paris_track(tmp_path, datetime(2024, 3, 30, 23, 0, tzinfo=UTC), 180)
    before = _photo(tmp_path, "before.jpg", 4, "-DateTimeOriginal=2024:03:31 01:30:00")
    after = _photo(tmp_path, "after.jpg", 5, "-DateTimeOriginal=2024:03:31 03:30:00")
    found_before = capture_time(read_metadata(before).taken_at, tracks=[track], zone_at=zone_at)
    found_after = capture_time(read_metadata(after).taken_at, tracks=[track], zone_at=zone_at)
    assert found_before is not None and found_before.basis is TimeBasis.TRACK_ZONE
    assert found_before.utc == datetime(2024, 3, 31, 0, 30, tzinfo=UTC)
    assert "Europe/Paris (UTC+01:00)" in found_before.decisions[0]
    assert found_after is not None and found_after.utc == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    assert "Europe/Paris (UTC+02:00)" in found_after.decisions[0]
    skipped = capture_time("2024-03-31T02:30:00", tracks=[track], zone_at=zone_at)
    assert skipped is not None and skipped.utc == datetime(2024, 3, 31, 1, 30, tzinfo=UTC) and "does not exist" in skipped.decisions[1]


def test_a_repeated_hour_is_settled_by_the_track(tmp_path: Path) -> None:
    # Paris, 27 October 2024: 02:30 happens at 00:30 UTC and again at 01:30 UTC.
    second_pass = _paris_track(tmp_path, datetime(2024, 10, 27, 1, 10, tzinfo=UTC), 40)
    found = capture_time("2024-10-27T02:30:00", tracks=[second_pass], zone_at=zone_at)
    assert found is not None and found.utc == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)
    assert "happens twice" in found.decisions[1]
    first_pass = _paris_track(tmp_path, datetime(2024, 10, 27, 0, 10, tzinfo=UTC), 40)
    found = capture_time("2024-10-27T02:30:00", tracks=[first_pass], zone_at=zone_at)
    assert found is not None and found.utc == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


def test_a_track_elsewhere_in_time_then_the_configured_offset(tmp_path: Path) -> None:
    track = _paris_track(tmp_path, datetime(2024, 6, 1, 8, 0, tzinfo=UTC), 60)
    photo = _photo(tmp_path, "late.jpg", 6, "-DateTimeOriginal=2024:06:01 20:00:00")
    taken = read_metadata(photo).taken_at
    assert capture_time(taken, tracks=[track], zone_at=zone_at) is None
    found = capture_time(taken, tracks=[track], zone_at=zone_at, camera_utc_offset=timedelta(hours=-5))
    assert found is not None and found.basis is TimeBasis.CAMERA_OFFSET and found.utc == datetime(2024, 6, 2, 1, 0, tzinfo=UTC)
    assert found.decisions[0].startswith("no track covers")
    assert capture_time(None, camera_utc_offset=timedelta(0)) is None


def test_zone_lookup_and_gps_stamp_values() -> None:
    assert zone_at(*PARIS) == "Europe/Paris"
    assert zone_at(35.6812, 139.7671) == "Asia/Tokyo"
    assert gps_timestamp("2024:06:01", [23, 59, 59.5]) == datetime(2024, 6, 1, 23, 59, 59, 500000, tzinfo=UTC)
    assert gps_timestamp("2024:06:01", [24, 0, 0]) is None
    assert gps_timestamp("    :  :  ", [1, 2, 3]) is None
    assert gps_timestamp(None, [1, 2, 3]) is None


@pytest.mark.parametrize("text", ["", "not a date"])
def test_unreadable_time(text: str) -> None:
    assert capture_time(text, camera_utc_offset=timedelta(hours=1)) is None


def test_configured_offset_text() -> None:
    assert parse_utc_offset("+02:00") == timedelta(hours=2)
    assert parse_utc_offset("-0530") == -timedelta(hours=5, minutes=30)
    assert parse_utc_offset("Z") == timedelta(0)
    for bad in ["2", "+25:00", "CET", ""]:
        with pytest.raises(ValueError, match="not a UTC offset"):
            parse_utc_offset(bad)


def test_a_photo_with_gps_and_no_offset_takes_the_zone_at_its_own_position(tmp_path: Path) -> None:
    # A phone photo in Munich (summer: UTC+02:00, winter: UTC+01:00) and in New York, without
    # OffsetTimeOriginal or a GPS time stamp: the zone at its own GPS point gives the offset.
    summer = _photo(tmp_path, "summer.jpg", 7, "-DateTimeOriginal=2024:06:01 12:30:00", "-GPSLatitude=48.137", "-GPSLatitudeRef=N", "-GPSLongitude=11.575", "-GPSLongitudeRef=E")
    meta = read_metadata(summer)
    assert meta.taken_at == "2024-06-01T12:30:00" and meta.gps_utc is None and meta.lat is not None and meta.lon is not None
    found = capture_time(meta.taken_at, position=(meta.lat, meta.lon), zone_at=zone_at)
    assert found is not None and found.basis is TimeBasis.OWN_ZONE
    assert found.utc == datetime(2024, 6, 1, 10, 30, tzinfo=UTC)
    assert found.decisions == ("time zone Europe/Berlin (UTC+02:00) at the photo's own position",)
    winter = capture_time("2024-01-15T12:30:00", position=(48.137, 11.575), zone_at=zone_at)
    assert winter is not None and winter.utc == datetime(2024, 1, 15, 11, 30, tzinfo=UTC)
    new_york = capture_time("2024-06-01T12:30:00", position=(40.7484, -73.9857), zone_at=zone_at)
    assert new_york is not None and new_york.utc == datetime(2024, 6, 1, 16, 30, tzinfo=UTC) and "America/New_York (UTC-04:00)" in new_york.decisions[0]
    # The file's own offset and a GPS time stamp still come first; the own zone before a camera offset.
    assert capture_time("2024-06-01T12:30:00+05:00", position=(48.137, 11.575), zone_at=zone_at).basis is TimeBasis.FILE_OFFSET  # type: ignore[union-attr]
    gps = capture_time("2024-06-01T12:30:00", gps_utc=datetime(2024, 6, 1, 10, 30, tzinfo=UTC), position=(40.7, -74.0), zone_at=zone_at)
    assert gps is not None and gps.basis is TimeBasis.GPS_TIME and gps.utc == datetime(2024, 6, 1, 10, 30, tzinfo=UTC)
    own = capture_time("2024-06-01T12:30:00", position=(48.137, 11.575), zone_at=zone_at, camera_utc_offset=timedelta(hours=-7))
    assert own is not None and own.basis is TimeBasis.OWN_ZONE
    # Clock changes in Berlin: 02:30 skipped on 31 March (read as +01:00), twice on 27 October (the first).
    skipped = capture_time("2024-03-31T02:30:00", position=(52.52, 13.405), zone_at=zone_at)
    assert skipped is not None and skipped.utc == datetime(2024, 3, 31, 1, 30, tzinfo=UTC) and "does not exist" in skipped.decisions[1]
    twice = capture_time("2024-10-27T02:30:00", position=(52.52, 13.405), zone_at=zone_at)
    assert twice is not None and twice.utc == datetime(2024, 10, 27, 0, 30, tzinfo=UTC) and "happens twice" in twice.decisions[1]
    # Where no zone is known at the point, the next basis is tried (none here).
    assert capture_time("2024-06-01T12:30:00", position=(0.0, -140.0), zone_at=lambda lat, lon: None) is None
