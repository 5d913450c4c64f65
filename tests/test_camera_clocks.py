"""Camera clocks (pure rules, and exiftool as the reference): a camera's body serial read from its
files; same-camera neighbours compared by wall clock when no UTC time is known; exiftool's
Geosync offsets and drift between sync points; [location] camera_offsets; the track point
nearest a clicked spot."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from exiftool_process import exiftool
from photos import write_jpeg

from geolocator.config import build_config
from geolocator.errors import ConfigError
from geolocator.locate.metadata import read_metadata
from geolocator.locate.tracks.model import PointBudget, Track, TrackBuilder
from geolocator.locate.tracks.nearest import nearest_point
from geolocator.locations.capture_time import TimeBasis, capture_time
from geolocator.locations.clocks import ClockFixes, ClockPlan, KnownOffsets, Retimed, SyncPoint, interpolated_delta, parse_clock_offset, show_shift
from geolocator.locations.nearby import NearbyRules, Neighbour, place_by_camera_clock, place_nearby, same_camera
from geolocator.locations.placing import LocationRules, judge
from geolocator.record import PhotoRecord, Source, Status

needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")

S95 = "Canon PowerShot S95"
DAY = date(2024, 6, 1)
TEN = datetime(2024, 6, 1, 10, 0)  # a wall clock (naive): the camera's, in no known zone


def exif_photo(path: Path, seed: int, *tags: str) -> Path:
    write_jpeg(path, seed)
    exiftool("-q", "-overwrite_original", *tags, str(path))
    return path


# -- which camera ----------------------------------------------------------------------------------


@needs_exiftool
def test_the_body_serial_is_read_from_exif_and_from_xmp(tmp_path):
    body = exif_photo(tmp_path / "a.jpg", 1, "-Make=Canon", "-Model=Canon EOS 40D", "-SerialNumber=0820500998", "-DateTimeOriginal=2024:06:01 10:00:00")
    meta = read_metadata(body)
    assert (meta.camera, meta.serial) == ("Canon EOS 40D", "0820500998")
    # Lightroom writes it as aux:SerialNumber in XMP; EXIF 2.3's own XMP name is exifEX:BodySerialNumber.
    aux = exif_photo(tmp_path / "b.jpg", 2, "-XMP-tiff:Model=NIKON D750", "-XMP-aux:SerialNumber=3012345")
    assert (read_metadata(aux).camera, read_metadata(aux).serial) == ("NIKON D750", "3012345")
    cipa = exif_photo(tmp_path / "c.jpg", 3, "-XMP-tiff:Model=X-T4", "-XMP-exifEX:SerialNumber=4CQ0001")
    assert read_metadata(cipa).serial == "4CQ0001"
    assert read_metadata(exif_photo(tmp_path / "d.jpg", 4, "-Model=X-T4")).serial is None


def test_one_camera_is_one_model_and_never_two_different_serials():
    assert same_camera("Canon EOS 40D", "1", " canon eos 40d ", "1")
    assert same_camera("Canon EOS 40D", None, "Canon EOS 40D", "1")  # a photo without it: the model decides
    assert not same_camera("Canon EOS 40D", "1", "Canon EOS 40D", "2")  # two bodies of one model
    assert not same_camera("Canon EOS 40D", None, "Canon EOS 5D", None)
    assert not same_camera(None, None, "Canon EOS 40D", None)


# -- same-camera neighbours without a UTC time -------------------------------------------------------


def _n(id_: str, minutes: float, lat: float, lon: float, camera: str = S95, serial: str | None = None, source: Source = Source.EXIF) -> Neighbour:
    local = TEN + timedelta(minutes=minutes)
    return Neighbour(id_, None, local.date(), camera, lat, lon, source, None, local, serial)


def test_the_same_cameras_clock_places_a_photo_without_a_utc_time():
    at_10_05 = TEN + timedelta(minutes=5)
    found = place_by_camera_clock(at_10_05, S95, [_n("ten", 0, 48.1, 11.5), _n("ten-ten", 10, 48.1, 11.504)])
    assert found.placed and found.used == ("ten", "ten-ten")
    assert found.lat == pytest.approx(48.1) and found.lon == pytest.approx(11.502)
    assert found.decisions[-1].startswith("same camera's clock on both sides: between photo ten")
    one_side = place_by_camera_clock(at_10_05, S95, [_n("ten", 0, 48.1, 11.5)])
    assert one_side.placed and one_side.decisions == (f"same camera's clock: at photo ten (exif, {S95}, 5.0 min before)",)


def test_the_camera_clock_rule_never_uses_another_camera_another_day_far_or_disagreeing_photos():
    at = TEN + timedelta(minutes=5)
    others = [_n("phone", 0, 48.1, 11.5, camera="Apple iPhone 15"), _n("body2", 1, 48.1, 11.5, serial="222")]
    lone = place_by_camera_clock(at, S95, others, serial="111")
    assert not lone.placed and lone.decisions == (f"no located photo from {S95} #111 within 10 min by the camera's own clock: not placed",)
    far = place_by_camera_clock(at, S95, [_n("far", 20, 48.1, 11.5)])
    assert not far.placed
    midnight = datetime(2024, 6, 1, 23, 58)
    yesterday = Neighbour("late", None, DAY, S95, 48.1, 11.5, Source.EXIF, None, midnight, None)
    next_day = place_by_camera_clock(midnight + timedelta(minutes=4), S95, [yesterday])
    assert not next_day.placed and "taken on another day than 2024-06-02: not used" in next_day.decisions[0]
    weak = place_by_camera_clock(at, S95, [_n("ai", 1, 48.1, 11.5, source=Source.AI), _n("near", 2, 48.1, 11.5, source=Source.NEARBY)])
    assert not weak.placed and weak.decisions[0] == "2 photo(s) of the same camera within 10 min located by ai/nearby: not used"
    apart = place_by_camera_clock(at, S95, [_n("a", -2, 48.1, 11.5), _n("b", -1, 45.0, 7.0)])
    assert not apart.placed and "neighbours disagree" in apart.decisions[-1]
    assert not place_by_camera_clock(at, None, [_n("a", 0, 48.1, 11.5)]).placed


def test_place_nearby_leaves_neighbours_without_a_utc_time_out():
    utc = datetime(2024, 6, 1, 8, 5, tzinfo=UTC)
    found = place_nearby(utc, DAY, S95, [_n("no-utc", 0, 48.1, 11.5)], NearbyRules())
    assert not found.placed


def photo(taken_at: str | None, camera: str | None = S95, serial: str | None = None) -> PhotoRecord:
    return PhotoRecord(id="p", sha256="p" * 64, name="p.jpg", path=None, status=Status.UNLOCATED, taken_at=taken_at, camera=camera, camera_serial=serial)


def test_judge_places_a_photo_without_a_utc_time_by_its_cameras_clock_only():
    neighbours = [_n("ten", 0, 48.1, 11.5), _n("ten-ten", 10, 48.1, 11.504)]
    found = judge(photo("2024-06-01T10:05:00"), None, lambda a, b: [], lambda u, s, o: [], LocationRules(), camera_neighbours=lambda r: neighbours)
    assert (found.source, found.when, found.lat) == (Source.NEARBY, None, pytest.approx(48.1))
    assert found.decisions[0].startswith("no capture time in UTC") and "same camera's clock on both sides" in found.decisions[-1]
    assert found.time is None  # nothing to store as its UTC time
    nothing = judge(photo("2024-06-01T10:05:00", camera="Other"), None, lambda a, b: [], lambda u, s, o: [], LocationRules(), camera_neighbours=lambda r: neighbours)
    assert nothing.source is None and "no located photo from Other" in nothing.decisions[-1]


# -- clock offsets and sync points -------------------------------------------------------------------


def test_clock_offsets_read_as_exiftool_reads_geosync():
    assert parse_clock_offset("+00:03:12") == timedelta(minutes=3, seconds=12)
    assert parse_clock_offset("-1:20") == -timedelta(minutes=1, seconds=20)
    assert parse_clock_offset("90") == timedelta(seconds=90)  # one number: seconds (exiftool's rule for Geosync)
    assert parse_clock_offset("1 02:00:00") == timedelta(days=1, hours=2)
    assert parse_clock_offset("+5.5") == timedelta(seconds=5.5)
    for bad in ("", "abc", "12:61", "1:60:00", "1 25:00:00", "1 30", "+-5", "3 min"):
        with pytest.raises(ValueError, match="not a clock offset"):
            parse_clock_offset(bad)
    assert [show_shift(s) for s in (72, -3, 7500, 90000, 0, -0.4)] == ["+1 min 12 s", "-3 s", "+2 h 5 min", "+1 d 1 h", "0 s", "0 s"]


def test_known_offsets_by_camera_and_body_and_the_config_table(tmp_path):
    known = KnownOffsets.parse({"Canon EOS 40D": "+00:03:12", "Canon EOS 40D #0820500998": "-10", "Canon PowerShot S95": "1:00"})
    assert known.of("Canon EOS 40D", "0820500998").offset == timedelta(seconds=-10)  # the body's own wins
    assert known.of("canon eos 40d", "0000000001").offset == timedelta(minutes=3, seconds=12)  # another body: the model's
    assert known.of("Canon EOS 40D", None).offset == timedelta(minutes=3, seconds=12)
    assert known.of("NIKON D750", None) is None and known.of(None, None) is None
    config = build_config({"location": {"camera_offsets": {"Canon EOS 40D": "+00:03:12"}}}, tmp_path, None)
    assert config.location.camera_offsets == (("Canon EOS 40D", "+00:03:12"),)
    assert LocationRules.from_config(config.location).known.of("Canon EOS 40D", None).offset == timedelta(minutes=3, seconds=12)
    where = tmp_path / "config.toml"
    for bad, message in (
        ({"Canon EOS 40D": "3 minutes"}, "[location] camera_offsets: 'Canon EOS 40D': not a clock offset"),
        ({"Canon EOS 40D": 192}, "[location] camera_offsets: 'Canon EOS 40D': expected a string, got int 192"),
        ({" #123": "+1"}, "[location] camera_offsets: ' #123': name a camera"),
        (["Canon EOS 40D=+00:03:12"], "[location] camera_offsets: expected a table of strings"),
    ):
        with pytest.raises(ConfigError) as info:
            build_config({"location": {"camera_offsets": bad}}, tmp_path, where)
        assert message in str(info.value) and str(where) in str(info.value)


def test_a_known_offset_corrects_the_wall_clock_before_every_basis():
    known = KnownOffsets.parse({S95: "+00:03:12"}).of(S95, None)
    filed = capture_time("2024-06-01T12:00:00+02:00", known=known)
    assert filed is not None and filed.utc == datetime(2024, 6, 1, 10, 3, 12, tzinfo=UTC) and filed.basis is TimeBasis.FILE_OFFSET
    assert filed.decisions[0] == f"the clock of {S95} corrected by +3 min 12 s ([location] camera_offsets)"
    configured = capture_time("2024-06-01T12:00:00", camera_utc_offset=timedelta(hours=2), known=known)
    assert configured is not None and configured.utc == datetime(2024, 6, 1, 10, 3, 12, tzinfo=UTC)
    # A GPS time stamp 3 min 12 s after a slow clock is no stale fix once the clock is corrected.
    gps = capture_time("2024-06-01T12:00:00", gps_utc=datetime(2024, 6, 1, 10, 3, 12, tzinfo=UTC), known=known)
    assert gps is not None and gps.basis is TimeBasis.GPS_TIME and gps.utc == datetime(2024, 6, 1, 10, 3, 12, tzinfo=UTC)
    assert capture_time("2024-06-01T12:00:00", known=known) is None  # still no zone


def sync(photo_id: str, wall: datetime, utc: datetime, first: date = DAY, last: date = DAY, camera: str = S95, serial: str | None = None) -> SyncPoint:
    return SyncPoint(photo_id, f"{photo_id}.jpg", camera, serial, wall, utc, first, last)


def test_one_sync_point_maps_the_cameras_wall_clock_to_utc_for_its_days_only():
    # The camera shows 10:00:00 when it is 08:01:12Z: UTC+02:00 and 1 min 12 s slow.
    fixes = ClockFixes((sync("a", TEN, datetime(2024, 6, 1, 8, 1, 12, tzinfo=UTC)),))
    correction = fixes.correction(S95, None, TEN + timedelta(hours=3))
    assert correction is not None and correction.utc(TEN + timedelta(hours=3)) == datetime(2024, 6, 1, 11, 1, 12, tzinfo=UTC)
    assert correction.decision == f"clock corrected by +1 min 12 s from a.jpg's sync (true time 2024-06-01 08:01:12Z): {S95}'s wall clock read as UTC+02:00"
    assert fixes.correction(S95, None, TEN + timedelta(days=1)) is None  # another day
    assert fixes.correction("Canon EOS 40D", None, TEN) is None  # another camera
    assert fixes.correction(S95, "123", TEN) is not None  # a body with a serial, synced on a photo without one
    assert ClockFixes((sync("a", TEN, datetime(2024, 6, 1, 8, tzinfo=UTC), serial="1"),)).correction(S95, "2", TEN) is None
    ranged = ClockFixes((sync("a", TEN, datetime(2024, 6, 1, 8, tzinfo=UTC), first=DAY, last=date(2024, 6, 3)),))
    assert ranged.correction(S95, None, TEN + timedelta(days=2)) is not None and ranged.correction(S95, None, TEN + timedelta(days=3)) is None
    # A new sync on the same photo replaces its earlier one.
    again = fixes.with_point(sync("a", TEN, datetime(2024, 6, 1, 8, 0, 30, tzinfo=UTC)))
    assert len(again.points) == 1 and again.correction(S95, None, TEN).utc(TEN) == datetime(2024, 6, 1, 8, 0, 30, tzinfo=UTC)


def test_drift_between_two_sync_points_is_interpolated_and_extrapolated_as_exiftool_does():
    assert interpolated_delta([(0, 10), (100, 20)], 50) == 15
    assert interpolated_delta([(0, 10), (100, 20)], 200) == 30  # past the last: the last two extrapolated
    assert interpolated_delta([(0, 10), (100, 20)], -100) == 0  # before the first: the first two
    assert interpolated_delta([(0, 10), (100, 20), (200, 0)], 150) == 10  # the two around it
    assert interpolated_delta([(0, 10)], 500) == 10  # one point: constant
    fixes = ClockFixes((sync("a", TEN, datetime(2024, 6, 1, 8, 1, tzinfo=UTC)), sync("b", TEN + timedelta(hours=2), datetime(2024, 6, 1, 10, 3, tzinfo=UTC))))
    noon = TEN + timedelta(hours=1)
    correction = fixes.correction(S95, None, noon)
    assert correction is not None and correction.utc(noon) == datetime(2024, 6, 1, 9, 2, tzinfo=UTC)
    assert "the drift between the syncs of a.jpg (+1 min), b.jpg (+3 min)" in correction.decision


@needs_exiftool
def test_sync_corrections_agree_with_exiftools_geosync(tmp_path):
    """exiftool geotags a photo with the same sync points and writes the corrected time as its
    GPSTimeStamp: ours must be the same, between, before and after the points."""
    points = "".join(f'<trkpt lat="48.0" lon="{11 + i / 1000}"><time>2024-06-01T{i // 60:02d}:{i % 60:02d}:00Z</time></trkpt>' for i in range(0, 1440, 10))
    track = tmp_path / "day.gpx"
    track.write_text(f'<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{points}</trkseg></trk></gpx>')
    syncs = [sync("a", datetime(2024, 6, 1, 9, 0), datetime(2024, 6, 1, 9, 1, 0, tzinfo=UTC)), sync("b", datetime(2024, 6, 1, 13, 0), datetime(2024, 6, 1, 13, 3, 0, tzinfo=UTC)),
             sync("c", datetime(2024, 6, 1, 17, 0), datetime(2024, 6, 1, 16, 59, 0, tzinfo=UTC))]  # fmt: skip
    fixes = ClockFixes(tuple(syncs))
    geosync = [f"-geosync={p.utc:%Y:%m:%d %H:%M:%S}Z@{p.wall:%Y:%m:%d %H:%M:%S}Z" for p in syncs]
    for n, wall in enumerate(datetime(2024, 6, 1, h, m) for h, m in ((7, 0), (9, 0), (11, 0), (14, 0), (15, 0), (19, 0))):
        source = exif_photo(tmp_path / f"p{n}.jpg", n, f"-DateTimeOriginal={wall:%Y:%m:%d %H:%M:%S}")
        tagged = tmp_path / f"tagged{n}.jpg"
        subprocess.run(["exiftool", "-q", "-api", "GeoMaxIntSecs=86400", "-geotag", str(track), "-geotime<${DateTimeOriginal}+00:00", *geosync, "-o", str(tagged), str(source)], check=True)
        out = exiftool("-s3", "-d", "%Y-%m-%dT%H:%M:%S", "-GPSDateTime", str(tagged)).strip()
        theirs = datetime.fromisoformat(out.removesuffix("Z")).replace(tzinfo=UTC)
        correction = fixes.correction(S95, None, wall)
        assert correction is not None and correction.utc(wall) == theirs, wall


def test_a_plan_says_how_many_photos_move_and_by_how_much():
    point = sync("a", TEN, datetime(2024, 6, 1, 8, 1, 12, tzinfo=UTC))
    moved = [Retimed(f"p{n}", f"p{n}.jpg", datetime(2024, 6, 1, 8, n, tzinfo=UTC), datetime(2024, 6, 1, 8, n + 1, 12, tzinfo=UTC)) for n in range(3)]
    fresh = Retimed("q", "q.jpg", None, datetime(2024, 6, 1, 9, tzinfo=UTC))
    summary = ClockPlan(point, ClockFixes((point,)), (*moved, fresh)).summary()
    assert summary["message"] == f"3 photo(s) of {S95} on 2024-06-01 move by +1 min 12 s; 1 without a time in UTC get one."
    assert (summary["photos"], summary["moved"], summary["first_time"], summary["clock"]) == (4, 3, 1, "+1 min 12 s (UTC+02:00)")
    assert ClockPlan(point, ClockFixes((point,)), ()).summary()["message"] == f"no photo of {S95} on 2024-06-01 moves in time."


# -- the spot clicked on a track ---------------------------------------------------------------------


def out_and_back() -> Track:
    """East for 10 minutes, a point a minute, and back the same way."""
    builder = TrackBuilder(PointBudget(100), "walk")
    start = datetime(2024, 6, 1, 10, tzinfo=UTC).timestamp()
    for i in range(21):
        builder.add(start + 60 * i, 48.0, 11.0 + 0.001 * (i if i <= 10 else 20 - i))
    built = builder.build()
    assert built is not None
    return built


def test_the_nearest_track_point_and_the_pass_nearest_in_time():
    walk = out_and_back()
    there = nearest_point([walk], 48.0001, 11.0031)
    assert there is not None and there.utc == datetime(2024, 6, 1, 10, 3, tzinfo=UTC) and there.lon == pytest.approx(11.003)
    assert there.distance_m == pytest.approx(13.4, abs=0.1) and there.name == "walk"
    back = nearest_point([walk], 48.0001, 11.0031, near=datetime(2024, 6, 1, 10, 16, tzinfo=UTC))
    assert back is not None and back.utc == datetime(2024, 6, 1, 10, 17, tzinfo=UTC)  # the way back passes there at 10:17
    far = nearest_point([walk], 49.0, 11.0)
    assert far is not None and far.distance_m > 100_000
    assert nearest_point([], 48.0, 11.0) is None
