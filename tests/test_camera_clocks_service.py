"""Camera clocks through the real service: photos written by exiftool dropped into a watched inbox,
GPS tracks written as GPX, "Fix this camera's clock" over real HTTP with the page's token,
restarts on the same database, sidecars read back from the library. Waits poll with deadlines.

- A camera that records no time zone: its photo without GPS is placed by the same camera's
  photos with GPS around it, by their wall clocks (issue 20 item 3).
- A camera whose clock is slow: a sync point (a spot on the track, or a time typed) retimes its
  photos of that day or date range and places them again; two sync points correct its drift;
  `[location] camera_offsets` corrects it from the start (issue 20 item 4).
"""

from __future__ import annotations

import http.client
import json
import math
import os
import shutil
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from exiftool_process import exiftool
from expect import wait_until
from photos import COMPACT, Camera, write_jpeg
from records import now, stored

from geolocator.locations.sidecar import read_sidecar, sidecar_path
from geolocator.record import PhotoRecord, Source, Status
from geolocator.service import Service

pytestmark = [pytest.mark.timeout(180), pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")]

MUNICH = (48.137, 11.575)
STEP = 0.001  # degrees of longitude the walk goes east a minute


def walk_gpx(start: datetime, minutes: int) -> str:
    """A GPX 1.1 track (topografix.com/GPX/1/1): a point a minute, going east from Munich."""
    points = "".join(
        f'<trkpt lat="{MUNICH[0]}" lon="{MUNICH[1] + i * STEP:.6f}"><time>{start + timedelta(minutes=i):%Y-%m-%dT%H:%M:%SZ}</time></trkpt>' for i in range(minutes + 1)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>Walk</name><trkseg>{points}</trkseg></trk></gpx>'


class Api:
    """The map page's API as the page calls it: JSON, with its token."""

    def __init__(self, svc: Service) -> None:
        assert svc.viewer is not None
        parts = urlsplit(svc.viewer.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port
        self.token = svc.viewer.app.config["geolocator.token"]

    def call(self, path: str, body: object, *, token: bool = True) -> tuple[int, dict]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            headers = {"Content-Type": "application/json", **({"X-Geolocator-Token": self.token} if token else {})}
            conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
            response = conn.getresponse()
            data = json.loads(response.read() or b"null")
        finally:
            conn.close()
        return response.status, data

    def clock(self, **body: object) -> dict:
        status, data = self.call("/api/clock", body)
        assert status == 200, (status, data)
        return data


def at_minute(record: PhotoRecord, minute: float) -> bool:
    """Whether the photo is on the walk where it was `minute` minutes after 10:00Z."""
    return record.lon is not None and math.isclose(record.lon, MUNICH[1] + minute * STEP, abs_tol=1e-6) and math.isclose(record.lat or 0, MUNICH[0], abs_tol=1e-9)


def idle(svc: Service) -> None:
    wait_until(svc.idle, timeout=20, message="the service idle")


def test_a_photo_without_a_utc_time_is_placed_by_the_same_cameras_clock_in_either_order(service, tmp_path):
    camera = Camera(tmp_path)
    svc = service(settle=0.3)
    # The compact records no time zone and writes no GPS time: nothing gives its photos a UTC time.
    camera.shoot("ten-five.jpg", "2024:06:01 10:05:00", serial="111")
    lone = stored(svc, "ten-five.jpg", lambda r: r.status is Status.UNLOCATED)
    assert lone.taken_utc is None and any("no located photo from Canon PowerShot S95 #111 within 10 min by the camera's own clock" in d for d in lone.decisions)

    camera.shoot("ten.jpg", "2024:06:01 10:00:00", serial="111", gps=MUNICH)
    placed = stored(svc, "ten-five.jpg", lambda r: r.source is Source.NEARBY, "ten-five.jpg placed by the photo after it")
    ten = stored(svc, "ten.jpg")
    assert (placed.lat, placed.lon, placed.taken_utc) == (MUNICH[0], MUNICH[1], None)
    assert f"same camera's clock: at photo {ten.id} (exif, Canon PowerShot S95, 5.0 min before)" in placed.decisions, placed.decisions
    assert placed.history[-1].by == "nearby" and placed.radius_km is not None and placed.radius_km > 0.05
    side = read_sidecar(sidecar_path(tmp_path / "library" / (placed.path or "")))
    assert side is not None and side.lat == pytest.approx(MUNICH[0])

    # Filed after the photos with GPS: placed at once, between them. Never by another camera, another
    # body of the same model, another day or a photo more than 10 minutes away.
    camera.shoot("ten-ten.jpg", "2024:06:01 10:10:00", serial="111", gps=(MUNICH[0], MUNICH[1] + 0.004))
    stored(svc, "ten-ten.jpg")
    camera.shoot("ten-eight.jpg", "2024:06:01 10:08:00")  # no serial in this one: the model decides
    camera.shoot("phone.jpg", "2024:06:01 10:05:00", model="Pixel 8")
    camera.shoot("body-two.jpg", "2024:06:01 10:06:00", serial="222")
    camera.shoot("late.jpg", "2024:06:01 23:58:00", serial="111", gps=MUNICH)
    stored(svc, "late.jpg")  # filed first: the photo after midnight is then judged with it
    camera.shoot("next-day.jpg", "2024:06:02 00:02:00", serial="111")
    camera.shoot("later.jpg", "2024:06:01 10:21:00", serial="111")
    between = stored(svc, "ten-eight.jpg", lambda r: r.source is Source.NEARBY)
    assert between.lon == pytest.approx(MUNICH[1] + 0.004 * 0.8) and any(d.startswith("same camera's clock on both sides") for d in between.decisions)
    for name in ("phone.jpg", "body-two.jpg", "next-day.jpg", "later.jpg"):
        assert stored(svc, name).status is Status.UNLOCATED
    idle(svc)
    for name in ("phone.jpg", "body-two.jpg", "next-day.jpg", "later.jpg"):
        assert now(svc, name).status is Status.UNLOCATED, name
    assert any("taken on another day than 2024-06-02" in d for d in now(svc, "next-day.jpg").decisions)


def test_a_spot_clicked_on_the_track_fixes_a_slow_cameras_clock_for_that_day(service, tmp_path):
    camera = Camera(tmp_path)
    camera.text("walk.gpx", walk_gpx(datetime(2024, 6, 1, 10, tzinfo=UTC), 60))
    config = {"settle": 0.3, "viewer": {"enabled": True, "port": 0}}
    svc = service(**config)
    track = stored(svc, "walk.gpx", lambda r: r.status is Status.TRACK)
    # The compact is in Munich (UTC+02:00) with its clock 3 min slow: taken at 10:10Z, 10:20Z, 10:30Z.
    for name, wall in (("a.jpg", "12:07:00"), ("b.jpg", "12:17:00"), ("c.jpg", "12:27:00")):
        camera.shoot(name, f"2024:06:01 {wall}", serial="111")
    camera.shoot("phone.jpg", "2024:06:01 12:15:00", model="Pixel 8", offset="+02:00")
    camera.shoot("next-day.jpg", "2024:06:02 12:17:00", serial="111")
    for name, minute in (("a.jpg", 7), ("b.jpg", 17), ("c.jpg", 27), ("phone.jpg", 15)):
        assert at_minute(stored(svc, name, lambda r: r.source is Source.TRACK), minute), name
    assert stored(svc, "next-day.jpg").taken_utc is None  # no track that day, no zone
    idle(svc)
    b = now(svc, "b.jpg")
    assert (b.time_basis, b.taken_utc) == ("track_zone", "2024-06-01T10:17:00+00:00")

    # The person clicks where b.jpg was taken, near the track's point of 10:20Z: first the preview.
    api = Api(svc)
    spot = {"id": b.id, "lat": MUNICH[0] + 0.0001, "lon": MUNICH[1] + 20 * STEP + 0.00003, "track": track.id}
    preview = api.clock(**spot)
    assert preview["plan"]["message"] == "3 photo(s) of Canon PowerShot S95 #111 on 2024-06-01 move by +3 min."
    assert (preview["plan"]["moved"], preview["plan"]["clock"]) == (3, "+3 min (UTC+02:00)")
    assert preview["sync"]["point"]["utc"] == "2024-06-01T10:20:00+00:00" and 10 < preview["sync"]["point"]["distance_m"] < 13
    assert "records" not in preview and now(svc, "b.jpg").taken_utc == "2024-06-01T10:17:00+00:00"  # nothing changed yet

    applied = api.clock(**spot, apply=True)
    assert applied["records"][0]["id"] == b.id and applied["records"][0]["clock_sync"]["utc"] == "2024-06-01T10:20:00+00:00"
    why = "Canon PowerShot S95 #111's clock synced on b.jpg"
    for name, minute in (("a.jpg", 10), ("b.jpg", 20), ("c.jpg", 30)):
        moved = now(svc, name)
        assert at_minute(moved, minute) and moved.source is Source.TRACK, name
        assert (moved.time_basis, moved.taken_utc) == ("clock_fix", f"2024-06-01T10:{minute}:00+00:00")
        assert moved.decisions[0] == (
            "clock corrected by +3 min from b.jpg's sync (true time 2024-06-01 10:20:00Z): Canon PowerShot S95 #111's wall clock read as UTC+02:00"
        ), moved.decisions
        assert (moved.history[-1].by, moved.history[-1].why) == ("track", why) and at_minute(moved, minute)
        assert moved.id in {row[0] for row in applied["rows"]}
        side = read_sidecar(sidecar_path(tmp_path / "library" / (moved.path or "")))
        assert side is not None and side.lon == pytest.approx(MUNICH[1] + minute * STEP)
    assert at_minute(now(svc, "phone.jpg"), 15) and now(svc, "phone.jpg").time_basis == "file_offset"  # another camera
    assert now(svc, "next-day.jpg").taken_utc is None  # another day (no track, no zone): not in the sync's scope
    svc.stop()

    # A restart keeps the sync: a photo of that camera and day filed now is timed by it.
    svc = service(**config)
    camera.shoot("d.jpg", "2024:06:01 12:37:00", serial="111")
    d = stored(svc, "d.jpg", lambda r: r.source is Source.TRACK)
    assert at_minute(d, 40) and (d.time_basis, d.taken_utc) == ("clock_fix", "2024-06-01T10:40:00+00:00")
    # A range takes in the next day too.
    api = Api(svc)
    answer = api.clock(**{**spot, "id": b.id}, scope="range", **{"from": "2024-06-01", "to": "2024-06-02"}, apply=True)
    assert answer["plan"]["message"] == "no photo of Canon PowerShot S95 #111 from 2024-06-01 to 2024-06-02 moves in time; 1 without a time in UTC get one."
    assert (now(svc, "next-day.jpg").time_basis, now(svc, "next-day.jpg").taken_utc) == ("clock_fix", "2024-06-02T10:20:00+00:00")


def test_a_corrected_time_beyond_the_track_is_withdrawn_from_it_and_placed_by_the_photos_around(service, tmp_path):
    camera = Camera(tmp_path)
    camera.text("walk.gpx", walk_gpx(datetime(2024, 6, 1, 10, tzinfo=UTC), 30))  # 10:00Z to 10:30Z
    svc = service(settle=0.3, viewer={"enabled": True, "port": 0})
    track = stored(svc, "walk.gpx", lambda r: r.status is Status.TRACK)
    camera.shoot("q.jpg", "2024:06:01 12:07:00")  # taken at 10:20Z: the clock is 13 min slow
    camera.shoot("p.jpg", "2024:06:01 12:55:00")  # read as 10:55Z: within 30 min after the track's end
    # A phone's photos (GPS, with their zone) around p.jpg's true time, 11:08Z.
    camera.shoot("r0.jpg", "2024:06:01 13:06:00", model="Pixel 8", offset="+02:00", gps=(MUNICH[0], MUNICH[1] + 0.050))
    camera.shoot("r1.jpg", "2024:06:01 13:10:00", model="Pixel 8", offset="+02:00", gps=(MUNICH[0], MUNICH[1] + 0.054))
    p = stored(svc, "p.jpg", lambda r: r.source is Source.TRACK)
    assert at_minute(p, 30) and any("after the track" in d or "beyond" in d or "nearest" in d for d in p.decisions), p.decisions
    q = stored(svc, "q.jpg", lambda r: r.source is Source.TRACK)
    stored(svc, "r0.jpg"), stored(svc, "r1.jpg")
    idle(svc)
    assert now(svc, "p.jpg").source is Source.TRACK  # the phone's photos are 11-15 min away from 10:55Z: no neighbours

    Api(svc).clock(id=q.id, lat=MUNICH[0], lon=MUNICH[1] + 20 * STEP, track=track.id, apply=True)
    p = now(svc, "p.jpg")
    assert (p.taken_utc, p.time_basis, p.source) == ("2024-06-01T11:08:00+00:00", "clock_fix", Source.NEARBY)
    assert p.lon == pytest.approx(MUNICH[1] + 0.050 + 0.004 * 2 / 4) and any(d.startswith("located photos on both sides") for d in p.decisions)
    assert (p.history[-1].by, p.history[-1].why) == ("track", "Canon PowerShot S95's clock synced on q.jpg")  # the track withdrew its point
    assert at_minute(now(svc, "q.jpg"), 20)


def test_typed_times_time_a_camera_without_a_zone_and_two_syncs_correct_its_drift(service, tmp_path):
    camera = Camera(tmp_path)
    svc = service(settle=0.3, viewer={"enabled": True, "port": 0})
    for name, taken in (("x.jpg", "2024:06:01 09:00:00"), ("z.jpg", "2024:06:01 13:00:00"), ("y.jpg", "2024:06:01 17:00:00"), ("w.jpg", "2024:06:02 08:00:00")):
        camera.shoot(name, taken)
    for name in ("x.jpg", "y.jpg", "z.jpg", "w.jpg"):
        assert stored(svc, name, lambda r: r.status is Status.UNLOCATED).taken_utc is None
    api = Api(svc)
    x, y = now(svc, "x.jpg"), now(svc, "y.jpg")

    # x.jpg was taken at 09:01 in UTC+02:00: the camera's clock is a minute slow.
    first = api.clock(id=x.id, utc="2024-06-01 09:01:00 +02:00", apply=True)
    assert first["plan"]["message"] == f"no photo of {COMPACT} on 2024-06-01 moves in time; 3 without a time in UTC get one."
    assert now(svc, "z.jpg").taken_utc == "2024-06-01T11:01:00+00:00" and now(svc, "w.jpg").taken_utc is None
    # y.jpg at 17:03 that day and the next: the clock lost two minutes in eight hours.
    second = api.clock(id=y.id, utc="2024-06-01T15:03:00Z", scope="range", **{"from": "2024-06-01", "to": "2024-06-02"}, apply=True)
    assert second["plan"]["first_time"] == 1 and second["plan"]["shift_min_s"] == 60 and second["plan"]["shift_max_s"] == 120
    z = now(svc, "z.jpg")
    assert (z.taken_utc, z.time_basis) == ("2024-06-01T11:02:00+00:00", "clock_fix")  # half way: +2 min
    assert "the drift between the syncs of x.jpg (+1 min), y.jpg (+3 min)" in z.decisions[0]
    assert now(svc, "w.jpg").taken_utc == "2024-06-02T06:03:00+00:00"  # only y.jpg's sync covers the next day
    assert now(svc, "x.jpg").clock_sync is not None and now(svc, "x.jpg").clock_sync.how == "the time typed, 2024-06-01T09:01:00+02:00"  # type: ignore[union-attr]


def test_camera_offsets_in_the_config_correct_a_clock_from_the_start(service, tmp_path):
    camera = Camera(tmp_path)
    camera.text("walk.gpx", walk_gpx(datetime(2024, 6, 1, 10, tzinfo=UTC), 60))
    svc = service(settle=0.3, location={"camera_offsets": {COMPACT: "+00:03:00"}})
    stored(svc, "walk.gpx", lambda r: r.status is Status.TRACK)
    camera.shoot("a.jpg", "2024:06:01 12:07:00", serial="111")
    camera.shoot("other.jpg", "2024:06:01 12:07:00", model="Canon EOS 40D")
    a = stored(svc, "a.jpg", lambda r: r.source is Source.TRACK)
    assert at_minute(a, 10) and a.taken_utc == "2024-06-01T10:10:00+00:00" and a.time_basis == "track_zone"
    assert a.decisions[0] == f"the clock of {COMPACT} corrected by +3 min ([location] camera_offsets)"
    assert at_minute(stored(svc, "other.jpg", lambda r: r.source is Source.TRACK), 7)


def test_the_clock_route_refuses_what_it_cannot_do_and_changes_nothing(service, tmp_path):
    camera = Camera(tmp_path)
    camera.text("walk.gpx", walk_gpx(datetime(2024, 6, 1, 10, tzinfo=UTC), 60))
    svc = service(settle=0.3, viewer={"enabled": True, "port": 0})
    track = stored(svc, "walk.gpx", lambda r: r.status is Status.TRACK)
    camera.shoot("a.jpg", "2024:06:01 12:07:00")
    write_jpeg(camera.staging / "anon.jpg", 99)
    exiftool("-q", "-overwrite_original", "-DateTimeOriginal=2024:06:01 12:08:00", str(camera.staging / "anon.jpg"))
    os.replace(camera.staging / "anon.jpg", camera.inbox / "anon.jpg")
    a = stored(svc, "a.jpg", lambda r: r.source is Source.TRACK)
    anon = stored(svc, "anon.jpg")
    idle(svc)
    api = Api(svc)
    before = svc.store.seq  # type: ignore[union-attr]
    for body, status, message in (
        ({"id": a.id, "utc": "2024-06-01 12:10:00"}, 400, "give the time with its UTC offset"),
        ({"id": a.id, "utc": "yesterday"}, 400, "not a time such as"),
        ({"id": a.id, "lat": 10.0, "lon": 10.0}, 400, "no track point within 1 km of that spot"),
        ({"id": a.id, "lat": "48", "lon": 11.5}, 400, "lat and lon must be numbers"),
        ({"id": a.id, "utc": "2024-06-01T10:10:00Z", "scope": "week"}, 400, 'scope must be "day" or "range"'),
        ({"id": a.id, "utc": "2024-06-01T10:10:00Z", "scope": "range", "from": "2024-06-02", "to": "2024-06-01"}, 400, '"to" must be on or after "from"'),
        ({"id": a.id, "utc": "2024-06-01T10:10:00Z", "scope": "range", "from": "2024-06-02", "to": "2024-06-03"}, 409, "must include the photo's own (2024-06-01)"),
        ({"id": "0" * 16, "utc": "2024-06-01T10:10:00Z"}, 404, "no such photo"),
        ({"id": a.id, "lat": MUNICH[0], "lon": MUNICH[1], "track": a.id}, 404, "no such track"),
        ({"id": anon.id, "utc": "2024-06-01T10:10:00Z", "apply": True}, 409, "the file names no camera"),
        ({"id": track.id, "utc": "2024-06-01T10:10:00Z", "apply": True}, 409, "is a GPS track"),
        ({"utc": "2024-06-01T10:10:00Z"}, 400, 'body must be {"id"'),
    ):
        code, data = api.call("/api/clock", body)
        assert (code, message in (data or {}).get("error", "")) == (status, True), (body, code, data)
    code, _ = api.call("/api/clock", {"id": a.id, "utc": "2024-06-01T10:10:00Z", "apply": True}, token=False)
    assert code == 403
    assert svc.store.seq == before and now(svc, "a.jpg").clock_sync is None  # type: ignore[union-attr]
