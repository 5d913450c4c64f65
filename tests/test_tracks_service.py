"""Tracks, capture time in UTC and time neighbours through the real service: real watchdog
observers, a real store, photos written by exiftool, track files (GPX, KML, NMEA, Takeout) made
here. Files are dropped into the inbox in every order; waits poll with deadlines."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import xor
from pathlib import Path

import pytest
from configs import make_config
from exiftool_process import exiftool
from expect import expect
from photos import write_jpeg
from records import record_of
from test_tracks_formats import START, exiftool_geotag, fit_activity, magellan_log

from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import Store
from geolocator.service import Service

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")

MUNICH = (48.137, 11.575)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def along(start: datetime, minutes: int, origin: tuple[float, float] = MUNICH, step_deg: float = 0.001) -> list[tuple[datetime, float, float]]:
    """A point a minute, moving east by `step_deg` a minute."""
    return [(start + timedelta(minutes=i), origin[0], origin[1] + i * step_deg) for i in range(minutes + 1)]


def gpx(points: list[tuple[datetime, float, float]]) -> str:
    pts = "".join(f'<trkpt lat="{lat}" lon="{lon}"><time>{iso_z(t)}</time></trkpt>' for t, lat, lon in points)
    return f'<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>Walk</name><trkseg>{pts}</trkseg></trk></gpx>'


def kml(points: list[tuple[datetime, float, float]]) -> str:
    whens = "".join(f"<when>{iso_z(t)}</when>" for t, _, _ in points)
    coords = "".join(f"<gx:coord>{lon} {lat} 0</gx:coord>" for _, lat, lon in points)
    ns = 'xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2"'
    return f'<?xml version="1.0"?><kml {ns}><Document><Placemark><gx:Track>{whens}{coords}</gx:Track></Placemark></Document></kml>'


def nmea(points: list[tuple[datetime, float, float]]) -> str:
    def sentence(body: str) -> str:
        return f"${body}*{reduce(xor, body.encode(), 0):02X}"

    def dm(value: float, width: int) -> str:
        degrees = int(value)
        return f"{degrees:0{width}d}{(value - degrees) * 60:07.4f}"

    return "\r\n".join(sentence(f"GPRMC,{t:%H%M%S}.00,A,{dm(lat, 2)},N,{dm(lon, 3)},E,0.0,0.0,{t:%d%m%y},,,A") for t, lat, lon in points) + "\r\n"


def takeout(points: list[tuple[datetime, float, float]]) -> str:
    return json.dumps({"locations": [{"latitudeE7": round(lat * 1e7), "longitudeE7": round(lon * 1e7), "accuracy": 8, "timestamp": iso_z(t)} for t, lat, lon in points]})


class Drop:
    """Makes files outside the inbox and renames them in whole, as a copy tool finishing does."""

    def __init__(self, root: Path) -> None:
        self.staging = root / "staging"
        self.staging.mkdir()
        self.inbox = root / "inbox"
        self.inbox.mkdir(exist_ok=True)
        self.seed = 0

    def photo(self, name: str, taken: str, *, offset: str | None = None, model: str = "EOS R6", gps: tuple[float, float] | None = None) -> None:
        self.seed += 1
        path = write_jpeg(self.staging / name, self.seed)
        args = ["-q", "-overwrite_original", f"-DateTimeOriginal={taken}", f"-Model={model}"]
        if offset:
            args.append(f"-OffsetTimeOriginal={offset}")
        if gps:
            args += [f"-GPSLatitude={abs(gps[0])}", f"-GPSLatitudeRef={'N' if gps[0] >= 0 else 'S'}", f"-GPSLongitude={abs(gps[1])}", f"-GPSLongitudeRef={'E' if gps[1] >= 0 else 'W'}"]
        exiftool(*args, str(path))
        os.replace(path, self.inbox / name)

    def text(self, name: str, content: str | bytes) -> None:
        path = self.staging / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        os.replace(path, self.inbox / name)


@pytest.fixture
def run(service):
    """Start the service (conftest's) with these [location] settings: `run(max_gap_minutes=5)`."""
    return lambda **location: service(settle=0.3, location=location)


def record(store: Store | None, name: str) -> PhotoRecord | None:
    assert store is not None
    return record_of(store, name)


def settled(store: Store | None, *names: str) -> list[PhotoRecord]:
    return expect(lambda: found if all(found := [record(store, n) for n in names]) else None, timeout=20, what=f"records of {names}")  # type: ignore[return-value]


def located_by(store: Store | None, name: str, source: Source) -> PhotoRecord:
    def check() -> PhotoRecord | None:
        r = record(store, name)
        return r if r is not None and r.source is source and r.status is Status.LOCATED else None

    return expect(check, timeout=20, what=f"{name} located by {source.value}")


def test_a_gpx_track_places_photos_with_and_without_an_offset_and_survives_restarts(run, tmp_path):
    drop = Drop(tmp_path)
    start = utc("2024-06-01T10:00:00")
    drop.text("walk.gpx", gpx(along(start, 60)))
    svc = run()
    track = settled(svc.store, "walk.gpx")[0]
    assert track.status is Status.TRACK and track.path == "tracks/walk.gpx"
    assert (tmp_path / "library" / "tracks" / "walk.gpx").is_file() and "61 points" in (track.description or "")

    drop.photo("offset.jpg", "2024:06:01 12:30:30", offset="+02:00")  # 10:30:30Z: half way between two fixes
    drop.photo("no-offset.jpg", "2024:06:01 12:45:00")  # the zone at the track (Europe/Berlin, summer)
    drop.photo("other-day.jpg", "2024:06:05 12:30:00")
    offset = located_by(svc.store, "offset.jpg", Source.TRACK)
    assert offset.time_basis == "file_offset" and offset.taken_utc == "2024-06-01T10:30:30+00:00"
    assert math.isclose(offset.lon or 0, MUNICH[1] + 0.0305, abs_tol=1e-6) and math.isclose(offset.lat or 0, MUNICH[0], abs_tol=1e-9)
    assert offset.radius_km is not None and 0 < offset.radius_km < 0.1 and offset.place
    assert any("interpolated" in d for d in offset.decisions)
    zoned = located_by(svc.store, "no-offset.jpg", Source.TRACK)
    assert zoned.time_basis == "track_zone" and zoned.taken_utc == "2024-06-01T10:45:00+00:00"
    assert any("Europe/Berlin" in d for d in zoned.decisions)
    other = settled(svc.store, "other-day.jpg")[0]
    assert other.status is Status.UNLOCATED and other.source is None and other.taken_utc is None
    assert any("no capture time in UTC" in d for d in other.decisions)
    svc.stop()

    # A restart loads the track from its cache; without the cache, from the library file.
    for attempt in range(2):
        if attempt:
            shutil.rmtree(tmp_path / "trackcache")
        svc = run()
        name = f"after-restart-{attempt}.jpg"
        drop.photo(name, f"2024:06:01 12:0{attempt}:00", offset="+02:00")
        assert located_by(svc.store, name, Source.TRACK).taken_utc == f"2024-06-01T10:0{attempt}:00+00:00"
        svc.stop()
    assert (tmp_path / "trackcache" / f"{track.id}.track").is_file()


def test_a_track_arriving_after_the_photos_places_them_but_never_over_a_manual_fix_or_the_file(run, tmp_path):
    drop = Drop(tmp_path)
    svc = run()
    store = svc.store
    drop.photo("a.jpg", "2024:06:01 12:10:00", offset="+02:00")
    drop.photo("b.jpg", "2024:06:01 12:20:00", offset="+02:00")
    drop.photo("manual.jpg", "2024:06:01 12:30:00", offset="+02:00")
    drop.photo("ai.jpg", "2024:06:01 12:40:00", offset="+02:00")
    # More than the 10 minutes from the others that would let it place them (nearby): still on the track.
    drop.photo("gps.jpg", "2024:06:01 12:58:00", offset="+02:00", gps=(40.0, -3.7))
    *without_gps, with_gps = settled(store, "a.jpg", "b.jpg", "manual.jpg", "ai.jpg", "gps.jpg")
    for r in without_gps:
        assert r.status is Status.UNLOCATED and any("no track covers" in d for d in r.decisions)
    assert (with_gps.source, with_gps.lat) == (Source.EXIF, 40.0)
    # The user places one by hand; the AI placed another (both written as the viewer and worker do).
    manual, ai = record(store, "manual.jpg"), record(store, "ai.jpg")
    assert manual is not None and ai is not None
    store.update(manual.id, lambda cur: dataclasses.replace(cur, status=Status.LOCATED, source=Source.MANUAL, lat=1.0, lon=2.0, error=None) if cur else None)
    store.update(ai.id, lambda cur: dataclasses.replace(cur, status=Status.LOCATED, source=Source.AI, lat=30.0, lon=30.0, confidence=0.4, radius_km=200.0) if cur else None)

    drop.text("day.kml", kml(along(utc("2024-06-01T10:00:00"), 60)))
    for name, minute in (("a.jpg", 10), ("b.jpg", 20), ("ai.jpg", 40)):
        placed = located_by(store, name, Source.TRACK)
        assert math.isclose(placed.lon or 0, MUNICH[1] + minute * 0.001, abs_tol=1e-6)
    replaced = record(store, "ai.jpg")
    assert replaced is not None and replaced.confidence is None and replaced.history[-1].by == "track" and replaced.history[0].source is Source.AI
    settled(store, "day.kml")
    expect(lambda: svc.idle(), timeout=10, what="the service idle")
    kept = record(store, "manual.jpg")
    assert kept is not None and (kept.source, kept.lat, kept.lon) == (Source.MANUAL, 1.0, 2.0)
    from_file = record(store, "gps.jpg")
    assert from_file is not None and (from_file.source, from_file.lat) == (Source.EXIF, 40.0)


def test_nmea_across_a_dst_change_and_takeout_history(run, tmp_path):
    drop = Drop(tmp_path)
    svc = run()
    # 2024-10-27 in Berlin: 03:00 CEST becomes 02:00 CET at 01:00Z, so 02:30 happens twice.
    drop.text("logger.nmea", nmea(along(utc("2024-10-27T01:00:00"), 60)))
    drop.text("Records.json", takeout(along(utc("2024-07-04T15:00:00"), 30, origin=(40.7128, -74.006))))
    settled(svc.store, "logger.nmea", "Records.json")
    drop.photo("twice.jpg", "2024:10:27 02:30:00")  # only 01:30Z (CET) is on the track
    drop.photo("new-york.jpg", "2024:07:04 11:10:00")  # EDT: 15:10Z
    twice = located_by(svc.store, "twice.jpg", Source.TRACK)
    assert twice.taken_utc == "2024-10-27T01:30:00+00:00" and twice.time_basis == "track_zone"
    assert any("happens twice" in d for d in twice.decisions)
    ny = located_by(svc.store, "new-york.jpg", Source.TRACK)
    assert ny.taken_utc == "2024-07-04T15:10:00+00:00" and any("America/New_York" in d for d in ny.decisions)
    assert math.isclose(ny.lon or 0, -74.006 + 0.010, abs_tol=1e-5)


def test_neighbours_arriving_after_place_photos_never_from_another_day_or_disagreeing(run, tmp_path):
    drop = Drop(tmp_path)
    svc = run(camera_utc_offset="+02:00")
    store = svc.store
    drop.photo("between.jpg", "2024:06:01 12:10:00")  # no offset: the configured camera offset
    drop.photo("disagree.jpg", "2024:06:01 14:10:00", offset="+02:00")
    drop.photo("next-day.jpg", "2024:06:02 00:05:00", offset="+02:00")
    drop.photo("manual.jpg", "2024:06:01 20:10:00", offset="+02:00")
    for r in settled(store, "between.jpg", "disagree.jpg", "next-day.jpg", "manual.jpg"):
        assert r.status is Status.UNLOCATED
    assert record(store, "between.jpg").time_basis == "camera_offset"  # type: ignore[union-attr]
    manual = record(store, "manual.jpg")
    assert manual is not None
    store.update(manual.id, lambda cur: dataclasses.replace(cur, status=Status.LOCATED, source=Source.MANUAL, lat=5.0, lon=5.0, error=None) if cur else None)

    # The phone's photos come later: GPS and an offset in each.
    drop.photo("p1.jpg", "2024:06:01 12:00:00", offset="+02:00", model="Pixel 8", gps=(48.137, 11.575))
    drop.photo("p2.jpg", "2024:06:01 12:20:00", offset="+02:00", model="Pixel 8", gps=(48.139, 11.577))
    drop.photo("p3.jpg", "2024:06:01 14:00:00", offset="+02:00", model="Pixel 8", gps=(48.137, 11.575))
    drop.photo("p4.jpg", "2024:06:01 14:20:00", offset="+02:00", model="Pixel 8", gps=(48.366, 10.898))  # Augsburg, 56 km
    drop.photo("p5.jpg", "2024:06:01 23:58:00", offset="+02:00", model="Pixel 8", gps=(48.137, 11.575))
    drop.photo("p6.jpg", "2024:06:01 20:00:00", offset="+02:00", model="Pixel 8", gps=(48.137, 11.575))
    drop.photo("p7.jpg", "2024:06:01 20:20:00", offset="+02:00", model="Pixel 8", gps=(48.137, 11.575))
    between = located_by(store, "between.jpg", Source.NEARBY)
    assert math.isclose(between.lat or 0, 48.138, abs_tol=1e-6) and math.isclose(between.lon or 0, 11.576, abs_tol=1e-6)  # half way, by time
    assert any("both sides" in d for d in between.decisions) and between.history[-1].by == "nearby"
    settled(store, "p1.jpg", "p2.jpg", "p3.jpg", "p4.jpg", "p5.jpg", "p6.jpg", "p7.jpg")
    expect(lambda: svc.idle(), timeout=10, what="the service idle")
    disagree, next_day = record(store, "disagree.jpg"), record(store, "next-day.jpg")
    assert disagree is not None and disagree.status is Status.UNLOCATED
    assert next_day is not None and next_day.status is Status.UNLOCATED
    kept = record(store, "manual.jpg")
    assert kept is not None and (kept.source, kept.lat) == (Source.MANUAL, 5.0)
    # Judged again on the spot, each says why not: the same rules the service applied.
    assert svc.pipeline is not None
    assert any("disagree" in d for d in svc.core.placer.judge(disagree).decisions)
    assert any("another day" in d for d in svc.core.placer.judge(next_day).decisions)


def test_the_map_page_serves_a_track_as_a_line(tmp_path):
    drop = Drop(tmp_path)
    config = make_config(tmp_path, settle=0.3, viewer={"enabled": True, "port": 0})
    points = along(utc("2024-06-01T10:00:00"), 12_000 // 60)
    drop.text("long <b>walk.gpx", gpx(points))
    drop.photo("p.jpg", "2024:06:01 12:00:00", offset="+02:00")
    with Service(config) as svc:
        track, photo = settled(svc.store, "long <b>walk.gpx", "p.jpg")
        assert svc.map_url is not None

        def get(path: str) -> tuple[int, bytes]:
            try:
                with urllib.request.urlopen(svc.map_url.rstrip("/") + path, timeout=10) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read()

        status, body = get("/api/tracks")
        assert status == 200 and json.loads(body) == [{"id": track.id, "name": track.name, "start": "2024-06-01T10:00:00+00:00", "end": "2024-06-01T13:20:00+00:00", "summary": track.description}]
        status, body = get(f"/api/tracks/{track.id}.geojson")
        (feature,) = json.loads(body)["features"]
        line = feature["geometry"]["coordinates"]
        assert status == 200 and feature["properties"]["points"] == len(points) == 201
        assert line[0] == [MUNICH[1], MUNICH[0]] and line[-1] == [round(points[-1][2], 6), MUNICH[0]]
        assert get(f"/api/tracks/{photo.id}.geojson")[0] == 404 and get("/api/tracks/nope.geojson")[0] == 404


def test_phone_photos_without_an_offset_are_neighbours_by_the_zone_at_their_own_position(run, tmp_path):
    drop = Drop(tmp_path)
    svc = run()
    store = svc.store
    drop.photo("camera.jpg", "2024:06:01 12:10:00", offset="+02:00")
    assert settled(store, "camera.jpg")[0].status is Status.UNLOCATED
    # The phone wrote GPS but no OffsetTimeOriginal and no GPS time stamp: Munich's zone gives +02:00.
    drop.photo("p1.jpg", "2024:06:01 12:00:00", model="Pixel 8", gps=(48.137, 11.575))
    drop.photo("p2.jpg", "2024:06:01 12:20:00", model="Pixel 8", gps=(48.139, 11.577))
    between = located_by(store, "camera.jpg", Source.NEARBY)
    assert math.isclose(between.lat or 0, 48.138, abs_tol=1e-6) and math.isclose(between.lon or 0, 11.576, abs_tol=1e-6)
    for name, when in (("p1.jpg", "2024-06-01T10:00:00+00:00"), ("p2.jpg", "2024-06-01T10:20:00+00:00")):
        phone = expect(lambda name=name: (r := record(store, name)) is not None and r.taken_utc and r, timeout=10, what=f"{name}'s UTC time")
        assert phone.source is Source.EXIF and phone.time_basis == "own_zone" and phone.taken_utc == when
        assert any("Europe/Berlin (UTC+02:00) at the photo's own position" in d for d in phone.decisions)
    # A camera photo arriving after them is placed at once, from the same neighbours.
    drop.photo("camera2.jpg", "2024:06:01 12:15:00", offset="+02:00")
    later = located_by(store, "camera2.jpg", Source.NEARBY)
    assert math.isclose(later.lat or 0, 48.1385, abs_tol=1e-6)
    assert [(e.source, e.status) for e in later.history] == [(None, Status.UNLOCATED), (Source.NEARBY, Status.LOCATED)]  # placed at import, and revertible


def test_a_reverted_track_placement_is_never_put_back_by_the_track_until_the_ai_is_asked_again(service, tmp_path):
    """The user reverts a photo the track placed: a decision. Photos from that time arriving after
    (which look at their neighbours again), and a restart, never put the track's point back on it;
    "Ask the AI again" (the user asking for automatic placement again) lets it place it again."""
    drop = Drop(tmp_path)
    svc = service(settle=0.3, ai="http://127.0.0.1:9")  # an AI that never answers: photos wait for it
    drop.text("walk.gpx", gpx(along(utc("2024-06-01T10:00:00"), 60)))
    settled(svc.store, "walk.gpx")
    drop.photo("a.jpg", "2024:06:01 12:10:00", offset="+02:00")
    placed = located_by(svc.store, "a.jpg", Source.TRACK)
    assert svc.core is not None
    reverted = svc.core.locations.revert(placed.id)
    assert (reverted.status, reverted.source, reverted.declined) == (Status.PENDING, None, (Source.TRACK,))

    drop.photo("b.jpg", "2024:06:01 12:11:00", offset="+02:00")  # a minute later: judged again, places its neighbours
    drop.photo("c.jpg", "2024:06:01 12:09:00", offset="+02:00", gps=(48.2, 11.6))  # located by its file: a neighbour
    located_by(svc.store, "b.jpg", Source.TRACK)
    settled(svc.store, "c.jpg")
    expect(lambda: svc.idle(), timeout=10, what="the service idle")
    a = record(svc.store, "a.jpg")
    assert a is not None and (a.status, a.source) == (Status.PENDING, None), a.decisions
    svc.stop()

    svc = service(settle=0.3, ai="http://127.0.0.1:9")  # a restart re-reads nothing into it either
    expect(lambda: svc.idle(), timeout=10, what="the service idle")
    assert (record(svc.store, "a.jpg") or placed).source is None
    assert svc.core is not None
    svc.core.locations.ask_again(placed.id)  # the user asks: the track may place it again
    drop.photo("d.jpg", "2024:06:01 12:12:00", offset="+02:00")
    assert located_by(svc.store, "a.jpg", Source.TRACK).declined == ()


def test_a_magellan_track_log_places_photos_where_exiftool_does(run, tmp_path):
    """exiftool's own kind of test log ($PMGNTRK sentences) was failed as "not a supported image
    or video": now it is a track."""
    drop = Drop(tmp_path)
    svc = run()
    drop.text("TRACK.LOG", magellan_log())
    track = settled(svc.store, "TRACK.LOG")[0]
    assert track.status is Status.TRACK and track.description is not None and track.description.startswith("nmea track: 1 part(s), 12 points")
    drop.photo("lake.jpg", "2009:04:03 07:11:30", offset="-04:00")  # 11:11:30Z
    placed = located_by(svc.store, "lake.jpg", Source.TRACK)
    lat, lon, _ = exiftool_geotag(tmp_path / "library" / "tracks" / "TRACK.LOG", START.replace(minute=11, second=30, microsecond=0), tmp_path)
    assert math.isclose(placed.lat or 0, lat, abs_tol=2e-6) and math.isclose(placed.lon or 0, lon, abs_tol=2e-6)


def test_hostile_and_unreadable_tracks_are_failed_with_the_reason_and_photos_keep_coming(run, tmp_path):
    """Each fault of issues 16 and 20 through the real service: the file goes to failed/ with "a
    GPS track we cannot read: <why>" (never "not an image"), and a photo dropped after them is filed."""
    drop = Drop(tmp_path)
    svc = run()
    point = '<trkpt lat="48.1" lon="11.5"><time>2024-06-01T10:00:00Z</time><extensions>' + "<e>" * 150_000 + "</e>" * 150_000 + "</extensions></trkpt>"
    laughs = '<!ENTITY a "' + "ha" * 500 + '">' + "".join(f'<!ENTITY {b} "' + f"&{a};" * 30 + '">' for a, b in zip("abcd", "bcde", strict=True))
    fit = bytearray(fit_activity([(START, 47.0, 8.0, 400.0), (START + timedelta(seconds=1), 47.0, 8.0, 400.0)]))
    fit[40] ^= 0xFF
    faults = {
        "deep.gpx": (f'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{point}</trkseg></trk></gpx>', "GPX nested more than 64 elements deep"),
        "deep.geojson": ('{"type": "FeatureCollection", "features": [' + "[" * 40_000 + "]" * 40_000 + "]}", "JSON nested more than 64 deep"),
        "laughs.gpx": (f'<?xml version="1.0"?><!-- <gpx --><!DOCTYPE gpx [{laughs}]><gpx version="1.1"><wpt lat="1" lon="1"><name>&e;</name></wpt></gpx>', "GPX with a DTD: refused"),
        "damaged.fit": (bytes(fit), "malformed FIT: mismatching CRC"),
        "walk.gpx": ("this is no GPX at all", "malformed GPX: syntax error"),
        "empty.nmea": (magellan_log().replace(",A,,", ",V,,"), "NMEA without a single valid dated fix"),
    }
    for name, (content, _) in faults.items():
        drop.text(name, content)
    drop.photo("after.jpg", "2024:06:01 12:00:00", offset="+02:00")
    for name, (_, why) in faults.items():
        failed = settled(svc.store, name)[0]
        assert failed.status is Status.FAILED and failed.error is not None and failed.error.startswith(f"a GPS track we cannot read: {name}: "), failed.error
        assert why in failed.error and (tmp_path / "failed" / (failed.path or "")).is_file()
    after = settled(svc.store, "after.jpg")[0]
    assert after.status is Status.UNLOCATED and (tmp_path / "library" / (after.path or "")).is_file()
