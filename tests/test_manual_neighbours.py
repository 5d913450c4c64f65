"""A fix by hand acts like a newly located photo, through the real service: photos written by
exiftool and dropped into a watched inbox, fixes and reverts over real HTTP with the page's
token, the AI answered by the fake Ollama server, sidecars read back from the library, and
`daemon.py locate` run as a process. Waits poll with deadlines."""

from __future__ import annotations

import dataclasses
import http.client
import json
import math
import shutil
from urllib.parse import urlsplit

import pytest
from configs import make_config
from photos import Camera, write_jpeg
from processes import run_daemon
from records import now, record, stored

from geolocator.core import Core
from geolocator.locations import history
from geolocator.locations.placing import NO_LONGER_PLACED, without_neighbours
from geolocator.locations.relocation import relocated
from geolocator.locations.sidecar import read_sidecar, sidecar_path
from geolocator.record import ChangeKind, PhotoRecord, Source, Status
from geolocator.record.store import Store
from geolocator.service import Service
from viewer import ViewerServer, create_app

pytestmark = pytest.mark.timeout(120)
needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")

MUNICH = (48.137, 11.575)
ROME = (41.8902, 12.4922)
G_LON = MUNICH[1] + 0.004  # ~300 m east: agrees with Munich within the 1 km rule


class Api:
    """The map page's API as the page calls it: JSON, with its token."""

    def __init__(self, server: ViewerServer) -> None:
        parts = urlsplit(server.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port
        self.token = server.app.config["geolocator.token"]

    def post(self, path: str, body: object = None) -> dict:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            headers = {"Content-Type": "application/json", "X-Geolocator-Token": self.token}
            conn.request("POST", path, body=None if body is None else json.dumps(body).encode(), headers=headers)
            response = conn.getresponse()
            data = json.loads(response.read() or b"null")
        finally:
            conn.close()
        assert response.status == 200, (path, response.status, data)
        return data

    def fix(self, ids: list[str], lat: float, lon: float) -> dict:
        return self.post("/api/locations", {"ids": ids, "lat": lat, "lon": lon})

    def revert(self, rid: str) -> dict:
        return self.post(f"/api/images/{rid}/revert")


def near(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, abs_tol=1e-9)


def sidecar_of(svc: Service, photo: PhotoRecord):
    assert photo.path is not None
    return read_sidecar(sidecar_path(svc.folders.library / photo.path))


def row_ids(answer: dict) -> set[str]:
    return {row[0] for row in answer["rows"]}  # a map row starts with the id


@needs_exiftool
def test_a_fix_by_hand_places_the_photo_before_it_a_revert_takes_it_back_and_a_manual_fix_stays(service, fake_ollama, tmp_path):
    camera = Camera(tmp_path)
    svc = service(settle=0.3, ai=fake_ollama.url, viewer={"enabled": True, "port": 0})
    assert svc.viewer is not None
    api = Api(svc.viewer)
    camera.shoot("a.jpg", "2024:06:01 12:00:00", "EOS R6", offset="+02:00")
    camera.shoot("b.jpg", "2024:06:01 12:04:00", "EOS R6", offset="+02:00")
    estimated = {name: stored(svc, name, lambda r: r.source is Source.AI, f"{name} estimated by the AI") for name in ("a.jpg", "b.jpg")}
    paris = (estimated["a.jpg"].lat, estimated["a.jpg"].lon)
    asked = len(fake_ollama.chat_requests)

    # B placed by hand: A, taken 4 min before with the same camera, is placed from it at once.
    b = estimated["b.jpg"]
    answer = api.fix([b.id], *MUNICH)
    a = now(svc, "a.jpg")
    assert [r["id"] for r in answer["records"]] == [b.id] and a.id in row_ids(answer)
    assert (a.status, a.source) == (Status.LOCATED, Source.NEARBY) and near(a.lat, MUNICH[0]) and near(a.lon, MUNICH[1])
    assert any(f"photo {b.id} (manual, EOS R6, 4.0 min after)" in d and d.startswith("same camera") for d in a.decisions), a.decisions
    assert a.history[-1].kind is ChangeKind.SET and a.history[-1].source is Source.NEARBY and a.history[-1].by == "nearby"
    assert any(entry.source is Source.AI for entry in a.history[:-1])  # the estimate it had is kept
    side = sidecar_of(svc, a)
    assert side is not None and side.provenance is not None and side.provenance.source is Source.NEARBY and near(side.lon, MUNICH[1])

    # B reverted to its AI estimate: A is judged again; nothing else places it, so its own
    # history gives it back its estimate (the AI is not asked again).
    answer = api.revert(b.id)
    assert answer["records"][0]["source"] == "ai" and a.id in row_ids(answer)
    a = now(svc, "a.jpg")
    assert (a.status, a.source, a.lat, a.lon) == (Status.LOCATED, Source.AI, *paris)
    assert a.history[-1].kind is ChangeKind.REVERT and a.history[-1].by == "nearby"
    assert "1 neighbour(s) within 30 min located by ai: not used" in a.decisions and a.decisions[-1] == f"{NO_LONGER_PLACED}: back to the AI's estimate it had"
    side = sidecar_of(svc, a)  # an AI estimate is not written to sidecars ([library] sidecars_ai is off): ours withdrawn
    assert side is not None and side.provenance is not None and side.provenance.source is None and side.lat is None
    assert len(fake_ollama.chat_requests) == asked

    # A placed by hand is the user's word: fixing B again never moves it.
    api.fix([a.id], *ROME)
    answer = api.fix([b.id], *MUNICH)
    a = now(svc, "a.jpg")
    assert (a.source, a.lat, a.lon) == (Source.MANUAL, *ROME) and row_ids(answer) == {b.id}

    # `locate` on the library's photo, beside the sidecar we wrote, says manual (not exif).
    assert a.path is not None
    done = run_daemon("locate", "--no-ai", str(svc.folders.library / a.path), cwd=tmp_path)
    line = json.loads(done.stdout)
    assert done.returncode == 0 and (line["source"], line["lat"], line["lon"]) == ("manual", *ROME), done.stderr


@needs_exiftool
def test_a_bulk_fix_gives_camera_photos_their_time_for_the_photos_filed_next_and_reverts_move_then_withdraw_them(service, tmp_path):
    camera = Camera(tmp_path)
    svc = service(settle=0.3, viewer={"enabled": True, "port": 0})
    assert svc.viewer is not None
    api = Api(svc.viewer)
    camera.shoot("k.jpg", "2024:06:01 12:01:00", "EOS R6")  # no offset, no GPS: no time in UTC
    camera.shoot("b.jpg", "2024:06:01 12:04:00", "EOS R6")
    k, b = (stored(svc, name, lambda r: r.status is Status.UNLOCATED) for name in ("k.jpg", "b.jpg"))
    assert k.taken_utc is None and b.taken_utc is None

    # Both placed by hand at once: the time zone there (Europe/Berlin, summer) gives their UTC time.
    answer = api.fix([k.id, b.id], *MUNICH)
    assert {r["id"] for r in answer["records"]} == {k.id, b.id}
    k, b = now(svc, "k.jpg"), now(svc, "b.jpg")
    assert (k.taken_utc, k.time_basis) == ("2024-06-01T10:01:00+00:00", "own_zone")
    assert (b.taken_utc, b.time_basis) == ("2024-06-01T10:04:00+00:00", "own_zone")

    # Photos filed afterwards see B as a neighbour at once (no restart): X, from a phone without
    # GPS, is between B (2 min before) and G (a phone with GPS, 4 min after).
    camera.shoot("x.jpg", "2024:06:01 12:06:00", "Pixel 8", offset="+02:00")
    camera.shoot("g.jpg", "2024:06:01 12:10:00", "iPhone 15", offset="+02:00", gps=(MUNICH[0], G_LON))
    g = stored(svc, "g.jpg", lambda r: r.source is Source.EXIF)
    x = stored(svc, "x.jpg", lambda r: r.source is Source.NEARBY, "x.jpg placed nearby")
    assert near(x.lon, MUNICH[1] + (G_LON - MUNICH[1]) * 2 / 6), x.decisions
    assert any(d.startswith("located photos on both sides") and b.id in d and g.id in d for d in x.decisions), x.decisions
    assert x.path is not None
    line = json.loads(run_daemon("locate", "--no-ai", str(svc.folders.library / x.path), cwd=tmp_path).stdout)
    assert line["source"] == "nearby" and near(line["lon"], x.lon or 0)

    # B reverted to no location: X is judged again and moves between K (5 min before) and G.
    answer = api.revert(b.id)
    b, x = now(svc, "b.jpg"), now(svc, "x.jpg")
    assert (b.status, b.source, b.taken_utc) == (Status.UNLOCATED, None, None) and x.id in row_ids(answer)
    assert x.source is Source.NEARBY and near(x.lon, MUNICH[1] + (G_LON - MUNICH[1]) * 5 / 9), x.decisions
    assert any(k.id in d and g.id in d for d in x.decisions)

    # K reverted too: nothing places X any more. It goes back to having no location (the AI is
    # off), the change in its history, its sidecar withdrawn; never left where the fixes put it.
    api.revert(k.id)
    x = now(svc, "x.jpg")
    assert (x.status, x.source, x.lat, x.error) == (Status.UNLOCATED, None, None, NO_LONGER_PLACED)
    assert x.history[-1].source is None and x.history[-1].by == "nearby" and [e.source for e in x.history[-3:-1]] == [Source.NEARBY, Source.NEARBY]
    assert any("no located photo before within 30 min" in d for d in x.decisions) and x.decisions[-1] == f"{NO_LONGER_PLACED}: left without a location (unlocated)", x.decisions
    side = sidecar_of(svc, x)
    assert side is not None and side.lat is None


AT = "2024-06-02T08:00:00.000+00:00"


def placed_nearby(before: PhotoRecord) -> PhotoRecord:
    after = dataclasses.replace(before, status=Status.LOCATED, source=Source.NEARBY, lat=MUNICH[0], lon=MUNICH[1], radius_km=0.4, error=None)
    return history.track(before, after, at="2024-06-01T12:00:00.000+00:00", by="nearby")


def test_a_photo_its_neighbours_no_longer_place_goes_back_to_its_estimate_through_its_history():
    estimated = record(1, source=Source.AI, lat=48.8584, lon=2.2945, confidence=0.7, radius_km=3.0, place="Paris, France", updated_at="2024-06-01T11:00:00.000+00:00")
    placed = placed_nearby(estimated)
    back = relocated(placed, without_neighbours(placed, ("why",), Status.PENDING), at=AT, ai_enabled=True, sidecars=False)
    assert back is not None
    assert (back.status, back.source, back.lat, back.lon, back.confidence, back.radius_km, back.place) == (Status.LOCATED, Source.AI, 48.8584, 2.2945, 0.7, 3.0, "Paris, France")
    assert back.history[-1].kind is ChangeKind.REVERT and back.history[-1].at == AT and back.decisions[0] == "why"


@pytest.mark.parametrize("unplaced", [Status.PENDING, Status.UNLOCATED])
def test_a_photo_placed_nearby_from_nothing_is_left_without_a_location_as_the_ai_setting_says(unplaced):
    waiting = record(2, status=Status.PENDING, source=None, lat=None, lon=None, error="waiting for the AI", attempts=2)
    for placed in (placed_nearby(waiting), dataclasses.replace(placed_nearby(waiting), history=())):  # after the fact; at import
        gone = relocated(placed, without_neighbours(placed, ("why",), unplaced), at=AT, ai_enabled=unplaced is Status.PENDING, sidecars=False)
        assert gone is not None
        assert (gone.status, gone.source, gone.lat, gone.lon, gone.radius_km, gone.attempts, gone.error) == (unplaced, None, None, None, None, 0, NO_LONGER_PLACED)
        assert gone.history[-1].kind is ChangeKind.SET and gone.history[-1].source is None and gone.history[-1].by == "nearby"
        assert [entry.source for entry in gone.history[:-1]][-1] is Source.NEARBY


TRACK_GPX = (
    '<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
    '<trkpt lat="48.10" lon="11.50"><time>2024-06-01T09:00:00Z</time></trkpt>'
    '<trkpt lat="48.12" lon="11.52"><time>2024-06-01T09:20:00Z</time></trkpt></trkseg></trk></gpx>'
)


def test_the_map_page_alone_places_the_photos_around_a_fix_with_the_librarys_tracks(tmp_path):
    """No service runs: the page works on the Core `daemon.py map` opens, with the library's tracks loaded."""
    config = make_config(tmp_path, viewer={"tile_url": ""})
    shot = {"a": ("2024-06-01T12:00:00+02:00", "2024-06-01T10:00:00+00:00"), "c": ("2024-06-01T11:45:00+02:00", "2024-06-01T09:45:00+00:00")}
    photos = [
        record(n, name=f"{name}.jpg", path=f"2024/06/{name}.jpg", status=Status.UNLOCATED, source=None, lat=None, lon=None, error="no clue", camera="EOS R6",
               taken_at=taken, taken_utc=utc, time_basis="file_offset")
        for n, (name, (taken, utc)) in enumerate(shot.items(), 1)
    ]  # fmt: skip
    b = record(3, name="b.jpg", path="2024/06/b.jpg", status=Status.UNLOCATED, source=None, lat=None, lon=None, error="no clue", camera="EOS R6", taken_at="2024-06-01T12:04:00")
    walk = record(4, name="walk.gpx", path="tracks/walk.gpx", status=Status.TRACK, source=None, lat=None, lon=None, taken_utc="2024-06-01T09:00:00+00:00")
    for n, photo in enumerate((*photos, b), 1):
        write_jpeg(config.paths.library / (photo.path or ""), n)
    (config.paths.library / "tracks").mkdir()
    (config.paths.library / "tracks" / "walk.gpx").write_text(TRACK_GPX)
    with Store(config.paths.database) as store:
        store.put_many([*photos, b, walk])
        core = Core.build(config, store)
        core.load_tracks()
        server = ViewerServer(create_app(core), "127.0.0.1", 0).start()
        try:
            answer = Api(server).fix([b.id], *MUNICH)
        finally:
            server.stop()
        a, c, b = (store.get(photo.id) for photo in (*photos, b))
    assert a is not None and b is not None and c is not None
    assert (b.source, b.time_basis, b.taken_utc) == (Source.MANUAL, "own_zone", "2024-06-01T10:04:00+00:00")
    assert (a.source, a.lat, a.lon) == (Source.NEARBY, *MUNICH) and a.radius_km is not None
    # C, 19 min before B, is within 30 min of the track's end: the track, stronger, places it.
    assert c.source is Source.TRACK and near(c.lat, 48.12) and near(c.lon, 11.52), c.decisions
    assert row_ids(answer) == {a.id, b.id, c.id}
    side = read_sidecar(sidecar_path(config.paths.library / "2024/06/c.jpg"))
    assert side is not None and side.provenance is not None and side.provenance.source is Source.TRACK
