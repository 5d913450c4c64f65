"""placing.judge: capture time, then tracks, then neighbours, with its lookups passed in; and the
[location] settings as rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from geolocator.config import LocationConfig, build_config
from geolocator.errors import ConfigError
from geolocator.locate.tracks.model import PointBudget, Track, TrackBuilder
from geolocator.locations.nearby import Neighbour
from geolocator.locations.placing import LocationRules, judge
from geolocator.record import PhotoRecord, Source, Status

T0 = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


def track(minutes: int) -> Track:
    out = TrackBuilder(PointBudget(10_000), "walk")
    for i in range(minutes + 1):
        out.add((T0 + timedelta(minutes=i)).timestamp(), 48.0, 11.0 + i * 0.001)
    built = out.build()
    assert built is not None
    return built


def photo(taken_at: str, camera: str | None = "EOS R6") -> PhotoRecord:
    return PhotoRecord(id="p", sha256="p" * 64, name="p.jpg", path=None, status=Status.UNLOCATED, taken_at=taken_at, camera=camera)


def no_tracks(start: datetime, end: datetime) -> list[Track]:
    return []


def neighbours_at(*found: Neighbour):
    return lambda utc, seconds, own: [n for n in found if abs((n.utc - utc).total_seconds()) <= seconds and n.id != own]


def berlin(lat: float, lon: float) -> str:
    return "Europe/Berlin"


def test_a_track_wins_over_neighbours_and_records_why():
    walk = track(60)
    near = Neighbour("n", T0 + timedelta(minutes=10), date(2024, 6, 1), "EOS R6", 10.0, 10.0, Source.EXIF)
    found = judge(photo("2024-06-01T12:10:30+02:00"), None, lambda a, b: [walk], neighbours_at(near), LocationRules(), berlin)
    assert found.source is Source.TRACK and found.lon == pytest.approx(11.0105)
    assert found.when is not None and found.when.basis.value == "file_offset"
    assert any("interpolated" in d for d in found.decisions)


def test_neighbours_when_no_track_covers_it_and_nothing_without_a_utc_time():
    near = Neighbour("n", T0 + timedelta(minutes=3), date(2024, 6, 1), "EOS R6", 48.5, 11.5, Source.EXIF)
    rules = LocationRules(camera_utc_offset=timedelta(hours=2))
    found = judge(photo("2024-06-01T12:00:00"), None, no_tracks, neighbours_at(near), rules, berlin)
    assert (found.source, found.lat, found.lon) == (Source.NEARBY, 48.5, 11.5)
    assert found.decisions[0].startswith("configured camera_utc_offset +02:00") and any("no track covers" in d for d in found.decisions)
    lost = judge(photo("2024-06-01T12:00:00"), None, no_tracks, neighbours_at(near), LocationRules(), berlin)
    assert lost.source is None and lost.when is None and "no capture time in UTC" in lost.decisions[0]


def test_a_gps_time_stamp_kept_as_taken_utc_is_used_again():
    stored = PhotoRecord(id="p", sha256="p" * 64, name="p.jpg", path=None, status=Status.UNLOCATED, taken_at="2024-06-01T12:05:00", taken_utc="2024-06-01T10:05:00+00:00", time_basis="gps_time")
    walk = track(60)
    found = judge(stored, None, lambda a, b: [walk], neighbours_at(), LocationRules(), berlin)
    assert found.when is not None and found.when.utc == T0 + timedelta(minutes=5) and found.source is Source.TRACK


def test_location_settings_become_rules_and_bad_ones_are_refused(tmp_path):
    rules = LocationRules.from_config(LocationConfig(max_gap_minutes=5, beyond_minutes=1, camera_utc_offset="-05:30", same_camera_minutes=2, both_sides_minutes=4, agree_km=0.5))
    assert (rules.match.max_interpolation_s, rules.match.max_extrapolation_s) == (300, 60)
    assert (rules.nearby.same_camera_s, rules.nearby.both_sides_s, rules.nearby.agree_km) == (120, 240, 0.5)
    assert rules.camera_utc_offset == -timedelta(hours=5, minutes=30)
    for bad, message in (
        ({"camera_utc_offset": "CEST"}, "camera_utc_offset"),
        ({"camera_utc_offset": "+15:00"}, "not a UTC offset"),
        ({"camera_utc_offset": "+14:30"}, "within 14 hours"),
        ({"agree_km": -1}, "agree_km"),
    ):
        with pytest.raises(ConfigError, match=message):
            build_config({"location": bad}, tmp_path, None)
