"""Placing a photo from located photos taken around the same time: strict, and always saying why."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from exiftool_process import exiftool
from photos import write_jpeg

from geolocator.locate.metadata import read_metadata
from geolocator.locate.places.index import haversine_km
from geolocator.locations.capture_time import capture_time
from geolocator.locations.nearby import NearbyRules, Neighbour, neighbour_from_record, place_nearby
from geolocator.record import PhotoRecord, Source, Status

NOON = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)  # 12:00 in Paris
DAY = date(2024, 6, 1)
CANON = "Canon EOS R6"
PHONE = "Apple iPhone 15"


def _n(id_: str, minutes: float, lat: float, lon: float, camera: str = PHONE, source: Source = Source.EXIF, day: date = DAY, radius: float | None = None) -> Neighbour:
    return Neighbour(id_, NOON + timedelta(minutes=minutes), day, camera, lat, lon, source, radius)


def test_same_camera_within_ten_minutes_on_one_side_is_enough() -> None:
    result = place_nearby(NOON, DAY, CANON, [_n("a", -4, 48.8584, 2.2945, CANON), _n("far", -40, 40.0, -3.0, CANON)])
    assert result.placed and (result.lat, result.lon) == (48.8584, 2.2945) and result.used == ("a",)
    assert result.radius_km == pytest.approx(0.05 + 240 * 1.4 / 1000)
    assert result.decisions == (f"same camera: at photo a (exif, {CANON}, 4.0 min before)",)
    # Twelve minutes is too far for one side alone, and there is nothing after.
    alone = place_nearby(NOON, DAY, CANON, [_n("a", -12, 48.8584, 2.2945, CANON)])
    assert not alone.placed and alone.lat is None
    assert alone.decisions == (f"no located photo from {CANON} within 10 min", "no located photo after within 30 min on the same day: not placed")


def test_same_camera_on_both_sides_interpolates_by_time() -> None:
    result = place_nearby(NOON, DAY, CANON, [_n("b", -2, 48.8580, 2.2940, CANON), _n("a", 6, 48.8600, 2.2960, CANON)])
    assert result.placed and result.used == ("b", "a")
    assert result.lat == pytest.approx(48.8585) and result.lon == pytest.approx(2.2945)
    assert result.decisions[-1].startswith("same camera on both sides")


def test_other_cameras_need_both_sides_that_agree() -> None:
    b, a = _n("b", -20, 48.8580, 2.2940), _n("a", 25, 48.8620, 2.2980)
    result = place_nearby(NOON, DAY, CANON, [b, a])
    assert result.placed and result.used == ("b", "a")
    assert result.lat == pytest.approx(48.8580 + 20 / 45 * 0.004) and result.lon == pytest.approx(2.2940 + 20 / 45 * 0.004)
    assert result.radius_km == pytest.approx(haversine_km(48.8580, 2.2940, 48.8620, 2.2980) / 2 + 0.05, abs=0.05)
    only_before = place_nearby(NOON, DAY, None, [b])
    assert not only_before.placed and "no located photo after within 30 min" in only_before.decisions[-1]
    too_far = place_nearby(NOON, DAY, None, [b, _n("late", 31, 48.8620, 2.2980)])
    assert not too_far.placed


def test_neighbours_that_disagree_never_place_it() -> None:
    result = place_nearby(NOON, DAY, None, [_n("paris", -5, 48.8584, 2.2945), _n("versailles", 5, 48.8049, 2.1204)])
    assert not result.placed
    assert "km apart (more than 1 km): neighbours disagree, not placed" in result.decisions[-1]
    # The same camera on one side, but a phone photo within the same minutes is 14 km away.
    torn = place_nearby(NOON, DAY, CANON, [_n("canon", -3, 48.8584, 2.2945, CANON), _n("phone", 2, 48.8049, 2.1204)])
    assert not torn.placed and "neighbours disagree" in torn.decisions[-1]


def test_another_day_never_places_it() -> None:
    # 23:58 on one day and 00:03 the next: five minutes apart, same camera, different days.
    midnight = datetime(2024, 6, 1, 22, 3, tzinfo=UTC)  # 00:03 on 2 June in Paris
    late = Neighbour("late", midnight - timedelta(minutes=5), DAY, CANON, 48.8584, 2.2945, Source.EXIF)
    result = place_nearby(midnight, date(2024, 6, 2), CANON, [late])
    assert not result.placed
    assert result.decisions[0] == "1 neighbour(s) within 30 min taken on another day than 2024-06-02: not used"


def test_only_certain_sources_count() -> None:
    guesses = [_n("ai", -3, 48.0, 2.0, CANON, Source.AI), _n("nb", 3, 48.0, 2.0, CANON, Source.NEARBY)]
    result = place_nearby(NOON, DAY, CANON, guesses)
    assert not result.placed and result.decisions[0] == "2 neighbour(s) within 30 min located by ai/nearby: not used"
    manual = place_nearby(NOON, DAY, CANON, [*guesses, _n("m", -8, 45.0, 6.0, CANON, Source.MANUAL), _n("t", 8, 45.001, 6.001, PHONE, Source.TRACK)])
    assert manual.placed and manual.used == ("m",)  # the same camera, 8 min; the track photo agrees


def test_thresholds_are_configurable() -> None:
    strict = NearbyRules(same_camera_s=120, both_sides_s=180)
    near = [_n("a", -4, 48.8584, 2.2945, CANON), _n("b", 4, 48.8600, 2.2945, PHONE)]
    assert place_nearby(NOON, DAY, CANON, near).placed
    result = place_nearby(NOON, DAY, CANON, near, strict)
    assert not result.placed and "no located photo before or after within 3 min" in result.decisions[-1]
    picky = place_nearby(NOON, DAY, None, near, NearbyRules(agree_km=0.1))
    assert not picky.placed and "0.2 km apart (more than 0.1 km)" in picky.decisions[-1]


def _photo(tmp_path: Path, name: str, seed: int, when: str, model: str, gps: tuple[float, float] | None) -> Path:
    path = write_jpeg(tmp_path / name, seed)
    tags = [f"-DateTimeOriginal={when}", "-OffsetTimeOriginal=+02:00", f"-Model={model}"]
    if gps is not None:
        tags += [f"-GPSLatitude={gps[0]}", "-GPSLatitudeRef=N", f"-GPSLongitude={gps[1]}", "-GPSLongitudeRef=E"]
    exiftool("-q", "-overwrite_original", *tags, str(path))
    return path


def test_from_photos_exiftool_writes(tmp_path: Path) -> None:
    """The wiring's path: metadata, then capture time, then neighbours."""
    located = [_photo(tmp_path, "a.jpg", 1, "2024:06:01 11:56:00", CANON, (48.8584, 2.2945)), _photo(tmp_path, "c.jpg", 3, "2024:06:01 12:20:00", PHONE, (48.8600, 2.2950))]
    subject = _photo(tmp_path, "b.jpg", 2, "2024:06:01 12:03:00", CANON, None)
    neighbours = []
    for path in located:
        meta = read_metadata(path)
        when = capture_time(meta.taken_at)
        assert when is not None and meta.lat is not None and meta.lon is not None
        neighbours.append(Neighbour(path.name, when.utc, when.local_day, meta.camera, meta.lat, meta.lon, Source.EXIF))
    meta = read_metadata(subject)
    when = capture_time(meta.taken_at)
    assert when is not None and not meta.has_location
    result = place_nearby(when.utc, when.local_day, meta.camera, neighbours)
    assert result.placed and result.used == ("a.jpg",) and result.lat == pytest.approx(48.8584)
    other_camera = place_nearby(when.utc, when.local_day, "Nikon Z6", neighbours)
    assert other_camera.placed and other_camera.used == ("a.jpg", "c.jpg")
    assert other_camera.lat == pytest.approx(48.8584 + 7 / 24 * 0.0016, abs=1e-6)


def test_neighbour_from_a_stored_record() -> None:
    base = PhotoRecord(id="abc", sha256="abc" * 21 + "a", name="a.jpg", path="2024/06/a.jpg", status=Status.LOCATED)
    late = replace(base, source=Source.EXIF, lat=48.8584, lon=2.2945, camera=CANON, taken_at="2024-06-02T00:10:00+02:00", taken_utc="2024-06-01T22:10:00+00:00")
    n = neighbour_from_record(late)
    assert n == Neighbour("abc", datetime(2024, 6, 1, 22, 10, tzinfo=UTC), date(2024, 6, 2), CANON, 48.8584, 2.2945, Source.EXIF, None, datetime(2024, 6, 2, 0, 10))
    assert neighbour_from_record(replace(late, taken_at=None)) == replace(n, local_day=DAY, local=None)  # no wall clock: UTC's day
    # Without a UTC time it is still a neighbour by its camera's wall clock (and its body serial).
    assert neighbour_from_record(replace(late, taken_utc=None, camera_serial="0820500998")) == replace(n, utc=None, serial="0820500998")
    assert neighbour_from_record(replace(late, taken_utc=None, taken_at=None)) is None
    assert neighbour_from_record(replace(late, lat=None)) is None
    assert neighbour_from_record(base) is None
