"""Placing a moment on tracks read from GPX files the tests write (exiftool's -geotag rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_tracks_parse import gpx_text

from geolocator.locate.places.index import haversine_km
from geolocator.locate.tracks.interpolate import FixKind, MatchRules, locate_on_track, locate_on_tracks
from geolocator.locate.tracks.model import Track
from geolocator.locate.tracks.parse import read_track

START = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


def _track(tmp_path: Path, name: str, points: list[tuple[timedelta, float, float]]) -> Track:
    path = tmp_path / f"{name}.gpx"
    path.write_text(gpx_text([((START + dt).timestamp(), lat, lon) for dt, lat, lon in points]))
    (track,) = read_track(path).tracks
    return track


def test_linear_interpolation_between_the_fixes_around(tmp_path: Path) -> None:
    track = _track(tmp_path, "walk", [(timedelta(0), 48.85, 2.29), (timedelta(seconds=60), 48.86, 2.30), (timedelta(minutes=10), 48.87, 2.30)])
    fix = locate_on_track(track, START + timedelta(seconds=15))
    assert fix is not None and fix.kind is FixKind.INTERPOLATED
    assert fix.lat == pytest.approx(48.8525) and fix.lon == pytest.approx(2.2925)
    assert fix.elevation == pytest.approx(100.25)
    spacing = haversine_km(48.85, 2.29, 48.86, 2.30)
    assert fix.radius_km == pytest.approx(0.010 + 0.25 * spacing)  # HDOP 2 → 10 m, plus a quarter of the spacing
    assert fix.seconds_from_fix == 15 and fix.track == "Walk"
    assert "between fixes at 2024-06-01 10:00:00Z and 2024-06-01 10:01:00Z" in fix.decisions[0]
    on = locate_on_track(track, START + timedelta(seconds=60))
    assert on is not None and on.kind is FixKind.ON_POINT and (on.lat, on.lon, on.radius_km) == (48.86, 2.30, pytest.approx(0.010))
    # The same moment written with its local offset is the same instant.
    local = locate_on_track(track, (START + timedelta(seconds=15)).astimezone(ZoneInfo("Europe/Paris")))
    assert local is not None and local.lat == fix.lat
    with pytest.raises(ValueError, match="without its offset"):
        locate_on_track(track, datetime(2024, 6, 1, 10, 0))


def test_gaps_and_ends_follow_exiftool_defaults(tmp_path: Path) -> None:
    track = _track(tmp_path, "gappy", [(timedelta(0), 10.0, 10.0), (timedelta(minutes=31), 11.0, 11.0), (timedelta(minutes=101), 12.0, 12.0)])
    in_gap = locate_on_track(track, START + timedelta(minutes=20))  # 31 min gap: too long to interpolate
    assert in_gap is not None and in_gap.kind is FixKind.NEAREST and (in_gap.lat, in_gap.lon) == (11.0, 11.0)
    assert in_gap.seconds_from_fix == 660 and in_gap.radius_km == pytest.approx(0.010 + 660 * 1.4 / 1000)
    assert "31 min gap" in in_gap.decisions[0]
    assert locate_on_track(track, START + timedelta(minutes=66)) is None  # 35 min from either fix
    before = locate_on_track(track, START - timedelta(minutes=29))
    assert before is not None and before.lat == 10.0 and "before the start" in before.decisions[0]
    assert locate_on_track(track, START - timedelta(minutes=31)) is None
    after = locate_on_track(track, START + timedelta(minutes=130))
    assert after is not None and after.lat == 12.0 and "after the end" in after.decisions[0]
    assert locate_on_track(track, START + timedelta(minutes=132)) is None
    strict = MatchRules(max_interpolation_s=75 * 60, max_extrapolation_s=60)
    assert locate_on_track(track, START - timedelta(minutes=2), strict) is None
    wide = locate_on_track(track, START + timedelta(minutes=66), strict)
    assert wide is not None and wide.kind is FixKind.INTERPOLATED and wide.lat == pytest.approx(11.5)


def test_several_tracks_nearest_fix_wins(tmp_path: Path) -> None:
    phone = _track(tmp_path, "phone", [(timedelta(0), 48.0, 2.0), (timedelta(minutes=20), 48.2, 2.0)])
    watch = _track(tmp_path, "watch", [(timedelta(minutes=9), 48.09, 2.001), (timedelta(minutes=11), 48.11, 2.001)])
    fix = locate_on_tracks([phone, watch], START + timedelta(minutes=10))
    assert fix is not None and fix.lon == pytest.approx(2.001) and fix.seconds_from_fix == 60
    assert fix.decisions[-1].startswith("chose track 'Walk' of 2 tracks")
    assert locate_on_tracks([phone, watch], START + timedelta(hours=5)) is None
    assert locate_on_tracks([], START) is None


def test_across_the_antimeridian(tmp_path: Path) -> None:
    track = _track(tmp_path, "pacific", [(timedelta(0), -17.0, 179.9), (timedelta(minutes=10), -17.0, -179.9)])
    fix = locate_on_track(track, START + timedelta(minutes=5))
    assert fix is not None and abs(fix.lon) == pytest.approx(180.0) and fix.radius_km < 12
