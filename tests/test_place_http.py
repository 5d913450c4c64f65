"""Placing by hand over real HTTP: one field for coordinates or a place name, bulk fixes, history
and revert, asking the AI again, retry now, and the XMP sidecar written beside the photo."""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import subprocess
from urllib.parse import quote, urlsplit

import pytest
from photos import CORPUS_JPG, GPS_JPEGS, jpeg_bytes
from records import rid

from geolocator.config import build_config
from geolocator.core import Core
from geolocator.locations.ai_queue import UNAVAILABLE
from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import Store
from viewer import ViewerServer, create_app

pytestmark = pytest.mark.timeout(60)


class Api:
    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.token = parts.hostname, parts.port, token

    def call(self, method: str, path: str, body=None, token: bool = True):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Geolocator-Token"] = self.token
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body).encode(), headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    def ok(self, method: str, path: str, body=None):
        status, data = self.call(method, path, body)
        assert status == 200, (path, status, data)
        return data


WALK_GPX = ('<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
            '<trkpt lat="48.1" lon="11.5"><time>2024-05-01T10:00:00Z</time></trkpt>'
            '<trkpt lat="48.2" lon="11.6"><time>2024-05-01T10:10:00Z</time></trkpt></trkseg></trk></gpx>')


def make(tmp_path, ai: bool = True, sidecars: bool = True):
    config = build_config({"ollama": {"enabled": ai}, "library": {"sidecars": sidecars},
                           "viewer": {"tile_url": ""}}, tmp_path, None)
    folder = config.paths.library / "2024" / "05"
    folder.mkdir(parents=True)
    shutil.copy(CORPUS_JPG / GPS_JPEGS[0], folder / "gps.jpg")
    for n in (1, 2, 3):
        (folder / f"u{n}.jpg").write_bytes(jpeg_bytes(n))
    (config.paths.library / "tracks").mkdir()
    (config.paths.library / "tracks" / "walk.gpx").write_text(WALK_GPX)
    records = [
        PhotoRecord(id=rid(1), sha256=rid(1) * 4, name="u1.jpg", path="2024/05/u1.jpg", status=Status.UNLOCATED, error="no clue"),
        PhotoRecord(id=rid(2), sha256=rid(2) * 4, name="u2.jpg", path="2024/05/u2.jpg", status=Status.UNLOCATED, error="no clue"),
        PhotoRecord(id=rid(3), sha256=rid(3) * 4, name="u3.jpg", path="2024/05/u3.jpg", status=Status.LOCATED, source=Source.AI,
                    lat=48.8566, lon=2.3522, confidence=0.6, radius_km=25.0, model="qwen2.5vl", description="Paris", place="Paris, France"),
        PhotoRecord(id=rid(4), sha256=rid(4) * 4, name="gps.jpg", path="2024/05/gps.jpg", status=Status.LOCATED, source=Source.EXIF,
                    lat=43.46, lon=11.88),
        PhotoRecord(id=rid(5), sha256=rid(5) * 4, name="bad.jpg", path="bad.jpg", status=Status.FAILED, error="unreadable"),
        PhotoRecord(id=rid(6), sha256=rid(6) * 4, name="w.jpg", path="2024/05/u1.jpg", status=Status.PENDING,
                    error=UNAVAILABLE + "connection refused", retry_at="2999-01-01T00:00:00.000+00:00", attempts=3),
        PhotoRecord(id=rid(7), sha256=rid(7) * 4, name="walk.gpx", path="tracks/walk.gpx", status=Status.TRACK,
                    taken_utc="2024-05-01T10:00:00+00:00", description="gpx track: 1 part(s), 2 points"),
    ]
    store = Store(config.paths.database)
    store.put_many(records)
    app = create_app(Core.build(config, store))
    server = ViewerServer(app, "127.0.0.1", 0).start()
    return config, store, server, Api(server.url, app.config["geolocator.token"])


@pytest.fixture
def env(tmp_path):
    config, store, server, api = make(tmp_path)
    yield config, store, api
    server.stop()
    store.close()


ROME = (41.8902, 12.4922)
FORMS = [
    "41.8902, 12.4922",
    "41.8902 12.4922",
    "41°53'24.7\"N 12°29'32.0\"E",
    "geo:41.8902,12.4922",
    "https://www.google.com/maps/@41.8902,12.4922,17z",
    "https://www.openstreetmap.org/#map=17/41.8902/12.4922",
]


@pytest.mark.parametrize("text", FORMS)
def test_every_pasted_form_is_read_by_the_one_parser(env, text):
    _, _, api = env
    answer = api.ok("GET", "/api/where?q=" + quote(text))
    assert answer["kind"] == "coordinates"
    assert answer["lat"] == pytest.approx(ROME[0], abs=1e-4) and answer["lon"] == pytest.approx(ROME[1], abs=1e-4)


def test_a_place_name_is_looked_up_and_nonsense_is_refused(env):
    _, _, api = env
    rome = api.ok("GET", "/api/where?q=Rome")
    assert rome["kind"] == "city" and "Italy" in rome["label"] and abs(rome["lat"] - 41.9) < 0.2
    assert api.ok("GET", "/api/where?q=" + quote("Paris, France"))["label"].startswith("Paris")
    assert api.ok("GET", "/api/where?q=Japan")["kind"] == "country"
    status, problem = api.call("GET", "/api/where?q=" + quote("91, 12"))
    assert status == 400 and "90" in problem["error"]
    status, problem = api.call("GET", "/api/where?q=Xyzzyplugh")
    assert status == 400 and "no place" in problem["error"]


def test_several_photos_are_placed_together_with_history_and_sidecars(env):
    config, store, api = env
    photo = config.paths.library / "2024" / "05" / "u1.jpg"
    before = hashlib.sha256(photo.read_bytes()).hexdigest()
    answer = api.ok("POST", "/api/locations", {"ids": [rid(1), rid(2)], "lat": ROME[0], "lon": ROME[1]})
    assert [r["id"] for r in answer["records"]] == [rid(1), rid(2)] and len(answer["rows"]) == 2
    for n in (1, 2):
        record = store.get(rid(n))
        assert record.status is Status.LOCATED and record.source is Source.MANUAL and record.lat == ROME[0]
        assert record.place and "Rome" in record.place
        assert [h.kind.value for h in record.history] == ["earlier", "set"]
    # the sidecar beside the photo, as exiftool reads it; the photo's own bytes unchanged
    sidecar = photo.with_name("u1.jpg.xmp")
    read = json.loads(subprocess.run(["exiftool", "-j", "-n", "-GPSLatitude", "-GPSLongitude", str(sidecar)],
                                     capture_output=True, text=True, check=True).stdout)[0]
    assert read["GPSLatitude"] == pytest.approx(ROME[0], abs=1e-6) and read["GPSLongitude"] == pytest.approx(ROME[1], abs=1e-6)
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == before
    # a failed file, an unknown id, no token, a bad point
    assert api.call("POST", "/api/locations", {"ids": [rid(5)], "lat": 1, "lon": 1})[0] == 409
    assert api.call("POST", "/api/locations", {"ids": [rid(99)], "lat": 1, "lon": 1})[0] == 404
    assert api.call("POST", "/api/locations", {"ids": [rid(1)], "lat": 1, "lon": 1}, token=False)[0] == 403
    assert api.call("POST", "/api/locations", {"ids": [rid(1)], "lat": 100, "lon": 1})[0] == 400
    assert api.call("POST", "/api/locations", {"ids": ["../x"], "lat": 1, "lon": 1})[0] == 400
    assert store.get(rid(1)).lat == ROME[0]


def test_revert_walks_back_through_the_changes(env):
    _, _, api = env
    api.ok("POST", "/api/locations", {"ids": [rid(3)], "lat": 10.0, "lon": 20.0})
    api.ok("POST", "/api/locations", {"ids": [rid(3)], "lat": 11.0, "lon": 21.0})
    back = api.ok("POST", f"/api/images/{rid(3)}/revert")["records"][0]
    assert (back["lat"], back["lon"], back["source"]) == (10.0, 20.0, "manual")
    back = api.ok("POST", f"/api/images/{rid(3)}/revert")["records"][0]
    assert (back["lat"], back["lon"], back["source"]) == (48.8566, 2.3522, "ai")
    assert back["confidence"] == 0.6 and back["radius_km"] == 25.0  # the estimate as it was
    status, problem = api.call("POST", f"/api/images/{rid(3)}/revert")
    assert status == 409 and "no earlier location" in problem["error"]
    assert api.call("POST", f"/api/images/{rid(4)}/revert")[0] == 409  # never changed
    assert api.call("POST", f"/api/images/{rid(4)}/revert", token=False)[0] == 403


def test_ask_the_ai_again_and_retry_now(env):
    _, store, api = env
    asked = api.ok("POST", f"/api/images/{rid(3)}/ask-ai")["records"][0]
    assert asked["status"] == "pending" and asked["lat"] is None and asked["source"] is None
    assert store.get(rid(3)).retry_at is None  # due at once for the AI worker
    back = api.ok("POST", f"/api/images/{rid(3)}/revert")["records"][0]  # and the estimate comes back
    assert back["source"] == "ai" and back["lat"] == 48.8566
    status, problem = api.call("POST", f"/api/images/{rid(4)}/ask-ai")
    assert status == 409 and "file itself" in problem["error"]
    retried = api.ok("POST", f"/api/images/{rid(6)}/retry")["records"][0]
    assert retried["retry_at"] is None and store.get(rid(6)).status is Status.PENDING
    assert api.call("POST", f"/api/images/{rid(1)}/retry")[0] == 409  # not waiting for Ollama


def test_a_track_is_not_a_photo_to_place_revert_or_ask_about(env):
    config, store, api = env
    status, problem = api.call("POST", "/api/locations", {"ids": [rid(1), rid(7)], "lat": 1.0, "lon": 2.0})
    assert status == 409 and problem["error"] == "walk.gpx is a GPS track, not a photo: it has no location to place or fix"
    assert store.get(rid(1)).status is Status.UNLOCATED  # the request is refused whole: nothing placed
    status, problem = api.call("POST", f"/api/images/{rid(7)}/location", {"lat": 1.0, "lon": 2.0})
    assert status == 409 and "GPS track" in problem["error"]
    for action in ("revert", "ask-ai", "retry"):
        status, problem = api.call("POST", f"/api/images/{rid(7)}/{action}")
        assert status == 409 and "GPS track" in problem["error"], (action, problem)
    track = store.get(rid(7))
    assert track.status is Status.TRACK and track.lat is None and not track.history
    assert sorted(p.name for p in (config.paths.library / "tracks").iterdir()) == ["walk.gpx"]  # no sidecar beside it


def test_without_the_ai_or_sidecars(tmp_path):
    config, store, server, api = make(tmp_path, ai=False, sidecars=False)
    try:
        status, problem = api.call("POST", f"/api/images/{rid(3)}/ask-ai")
        assert status == 409 and "turned off" in problem["error"]
        api.ok("POST", "/api/locations", {"ids": [rid(1)], "lat": 1.0, "lon": 2.0})
        assert not (config.paths.library / "2024" / "05" / "u1.jpg.xmp").exists()
    finally:
        server.stop()
        store.close()
