"""The viewer over real HTTP: a running ViewerServer on 127.0.0.1:0 and a real store."""

from __future__ import annotations

import dataclasses
import gzip
import http.client
import json
import re
import shutil
import threading
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from expect import wait_until
from records import record, rid
from trees import tree

from geolocator.config import load_config
from geolocator.core import Core
from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import Store
from viewer import ViewerServer, create_app
from viewer.guard import content_security_policy, tile_origin
from viewer.routes import api
from viewer.rows import MAP_COLUMNS, map_columns, map_payload, map_rows, newest_first
from viewer.server import TIMEOUT

pytestmark = pytest.mark.timeout(60)


class Client:
    """Raw HTTP, so nothing is normalised away (paths, headers, encodings)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            if response.getheader("Content-Encoding") == "gzip":
                data = gzip.decompress(data)
            return response.status, response, data
        finally:
            conn.close()

    def get(self, path: str, **headers):
        return self.request("GET", path, headers=headers)

    def json(self, path: str):
        status, _, data = self.get(path)
        assert status == 200, (path, status, data)
        return json.loads(data)


@pytest.fixture
def env(tmp_path, corpus):
    config = load_config(None, cwd=tmp_path).replace("viewer", tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png")
    library = config.paths.library
    (library / "2008").mkdir(parents=True)
    config.paths.failed.mkdir()
    samples = sorted((corpus / "exif-samples" / "jpg" / "gps").glob("*.jpg"))
    shutil.copy(samples[0], library / "2008" / "a.jpg")
    (config.paths.failed / "broken.jpg").write_bytes(b"not a jpeg")
    (config.paths.failed / "page.html").write_bytes(b"<script>alert(1)</script>")
    (tmp_path / "secret.txt").write_text("secret")
    heic = sorted((corpus).rglob("*.heic")) + sorted((corpus).rglob("*.HEIC"))
    records = [
        PhotoRecord(id=rid(1), sha256=rid(1) * 4, name="a.jpg", path="2008/a.jpg", status=Status.LOCATED,
                    source=Source.EXIF, lat=43.46, lon=11.88, taken_at="2008-10-22T16:29:49", place="Arezzo"),
        PhotoRecord(id=rid(2), sha256=rid(2) * 4, name="ai.jpg", path="2008/missing.jpg", status=Status.LOCATED,
                    source=Source.AI, lat=48.85, lon=2.35, radius_km=12.5, confidence=0.7, model="m", description="Paris"),
        PhotoRecord(id=rid(3), sha256=rid(3) * 4, name="u.jpg", path="2008/a.jpg", status=Status.UNLOCATED, error="no clue"),
        PhotoRecord(id=rid(4), sha256=rid(4) * 4, name="broken.jpg", path="broken.jpg", status=Status.FAILED, error="bad"),
        PhotoRecord(id=rid(5), sha256=rid(5) * 4, name="evil.jpg", path="../../secret.txt", status=Status.LOCATED,
                    source=Source.EXIF, lat=1.0, lon=1.0),
        PhotoRecord(id=rid(6), sha256=rid(6) * 4, name="abs.jpg", path=str(tmp_path / "secret.txt"), status=Status.LOCATED,
                    source=Source.EXIF, lat=1.0, lon=2.0),
        PhotoRecord(id=rid(7), sha256=rid(7) * 4, name='pa"ge\r\n.html', path="page.html", status=Status.FAILED, error="not an image"),
        PhotoRecord(id=rid(8), sha256=rid(8) * 4, name="d.jpg", path="d.jpg", status=Status.DUPLICATE, duplicate_of=rid(1)),
    ]
    if heic:
        shutil.copy(heic[0], library / "2008" / "h.heic")
        records.append(PhotoRecord(id=rid(9), sha256=rid(9) * 4, name="h.heic", path="2008/h.heic",
                                   status=Status.LOCATED, source=Source.EXIF, lat=10.0, lon=10.0))
    store = Store(config.paths.database)
    store.put_many(records)
    app = create_app(Core.build(config, store))
    server = ViewerServer(app, "127.0.0.1", 0).start()
    env = {"config": config, "store": store, "server": server, "client": Client(server.url),
           "token": app.config["geolocator.token"], "heic": bool(heic), "tmp": tmp_path}
    yield env
    env["server"].stop()  # a test may have restarted them
    env["store"].close()


def post_location(env, record_id: str, body, token: str | None = "default", **headers):
    hdrs = {"Content-Type": "application/json"}
    if token == "default":
        token = env["token"]
    if token is not None:
        hdrs["X-Geolocator-Token"] = token
    hdrs.update(headers)
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return env["client"].request("POST", f"/api/images/{record_id}/location", body=payload, headers=hdrs)


# -- API shapes ----------------------------------------------------------------------------------

def test_images_lists_every_record_with_its_fields(env):
    data = env["client"].json("/api/images")
    assert len(data) == len(env["store"])
    by_id = {d["id"]: d for d in data}
    expected = env["store"].get(rid(1)).to_dict()
    del expected["moving_from"], expected["sidecar_moves"], expected["file_stat"]  # server paths and inodes: never sent (see the test below)
    assert by_id[rid(1)] == expected
    slim = env["client"].json("/api/images?fields=id,lat,lon&status=located")
    assert all(set(d) == {"id", "lat", "lon"} for d in slim)
    assert len(slim) == env["store"].counts()["located"]
    assert env["client"].get("/api/images?fields=id,password")[0] == 400
    assert env["client"].get("/api/images?status=lost")[0] == 400


def test_map_rows_are_compact_and_incremental(env):
    client, store = env["client"], env["store"]
    data = client.json("/api/map")
    assert data["columns"] == list(MAP_COLUMNS) and data["full"] is True
    assert len(data["rows"]) == len(store)
    assert data["counts"]["located"] == store.counts()["located"]
    assert data["counts"]["located_ai"] == 1
    row = dict(zip(data["columns"], next(r for r in data["rows"] if r[0] == rid(2))))
    assert row == {"id": rid(2), "status": "located", "source": "ai", "lat": 48.85, "lon": 2.35, "date": None,
                   "name": "ai.jpg", "radius_km": 12.5, "error": None, "clock": None}
    # Nothing changed: an empty delta.
    same = client.json(f"/api/map?since={data['seq']}&instance={data['instance']}")
    assert same["rows"] == [] and same["full"] is False
    store.put(dataclasses.replace(store.get(rid(3)), error="still no clue"))
    delta = client.json(f"/api/map?since={data['seq']}&instance={data['instance']}")
    assert [r[0] for r in delta["rows"]] == [rid(3)] and delta["seq"] > data["seq"]
    # A seq from another run of the server: the whole set again.
    assert client.json("/api/map?since=0&instance=0000")["full"] is True
    assert client.get("/api/map?since=abc")[0] == 400


def test_json_is_gzipped_when_accepted(env):
    env["store"].put_many(
        PhotoRecord(id=rid(1000 + i), sha256=rid(1000 + i) * 4, name=f"n{i}.jpg", path=None, status=Status.LOCATED,
                    source=Source.EXIF, lat=i / 10, lon=i / 10) for i in range(50))
    for path in ("/api/map", "/api/images", "/api/images.geojson"):
        status, response, data = env["client"].get(path, **{"Accept-Encoding": "gzip, deflate"})
        assert status == 200 and response.getheader("Content-Encoding") == "gzip", path
        assert "Accept-Encoding" in response.getheader("Vary")
        assert json.loads(data)
        status, response, _ = env["client"].get(path)
        assert response.getheader("Content-Encoding") is None


def payload_head(body: bytes) -> dict:
    """The header of a /api/map.bin body (rows.map_payload)."""
    assert body[:4] == b"GLM1"
    size = int.from_bytes(body[4:8], "little")
    return json.loads(body[8:8 + size])


def payload_texts(body: bytes, name: str) -> list[str]:
    """The values of a text column of a /api/map.bin body (rows.map_payload), in its row order."""
    sections = 8 + int.from_bytes(body[4:8], "little")
    sections += -sections % 8
    column = next(c for c in payload_head(body)["columns"] if c["name"] == name)
    return body[sections + column["offset"]:sections + column["offset"] + column["bytes"]].decode().split("\0")


def test_payload_text_columns_hold_every_value_in_newest_first_order():
    records = [
        record(1, taken_at="2021-01-01T10:00:00", status=Status.FAILED, lat=None, lon=None, source=None, error="bad\0byte"),
        record(2, taken_at="2023-05-01T10:00:00"),  # no error: ""
        record(3, taken_at=None, status=Status.UNLOCATED, lat=None, lon=None, source=None, error="no GPS"),
    ]
    body = map_payload(map_columns(records), {})
    assert payload_texts(body, "name") == ["2.jpg", "1.jpg", "3.jpg"]  # newest first, undated last
    assert payload_texts(body, "error") == ["", "bad\ufffdbyte", "no GPS"]  # a NUL inside a value is replaced
    assert payload_texts(body, "date") == ["2023-05-01", "2021-01-01", ""]


def test_a_camera_clock_ahead_or_before_1990_is_flagged_and_listed_after_the_plausible_days():
    today = date.today()
    ahead = (today + timedelta(days=2)).isoformat()
    records = [
        record(1, name="2038.jpg", taken_at="2038-01-19T03:14:07"),  # a clock run ahead
        record(2, name="epoch.jpg", taken_at="1980-01-01T00:00:00"),  # a clock reset to its epoch
        record(3, name="now.jpg", taken_at=f"{today.isoformat()}T08:00:00"),
        record(4, name="tomorrow.jpg", taken_at=f"{(today + timedelta(days=1)).isoformat()}T08:00:00"),  # a time zone ahead: plausible
        record(5, name="soon.jpg", taken_at=f"{ahead}T08:00:00"),
        record(6, name="1990.jpg", taken_at="1990-01-01T00:00:00"),
        record(7, name="undated.jpg", taken_at=None),
    ]
    rows = {row[0]: dict(zip(MAP_COLUMNS, row)) for row in map_rows(records)}
    assert {rows[rid(n)]["name"]: rows[rid(n)]["clock"] for n in range(1, 8)} == {
        "2038.jpg": "ahead", "epoch.jpg": "behind", "now.jpg": None, "tomorrow.jpg": None, "soon.jpg": "ahead", "1990.jpg": None,
        "undated.jpg": None}
    order = ["tomorrow.jpg", "now.jpg", "1990.jpg", "2038.jpg", "soon.jpg", "epoch.jpg", "undated.jpg"]
    assert [r.name for r in newest_first(records)] == order
    assert payload_texts(map_payload(map_columns(records), {}), "name") == order  # the payload in the same order


def test_the_map_payload_is_made_once_and_then_sent_at_once(env):
    client, store = env["client"], env["store"]
    gz = {"Accept-Encoding": "gzip"}
    status, response, body = client.get("/api/map.bin", **gz)
    assert status == 200 and response.getheader("Content-Encoding") == "gzip"
    assert payload_head(body)["seq"] == store.seq and payload_head(body)["n"] == len(store)  # the first waits for it
    first = store.seq
    store.put(dataclasses.replace(store.get(rid(3)), error="still no clue"))
    # The body made before, a photo behind (its seq says so), while the next one is made.
    assert payload_head(client.get("/api/map.bin", **gz)[2])["seq"] == first < store.seq
    wait_until(lambda: payload_head(client.get("/api/map.bin", **gz)[2])["seq"] == store.seq)
    # Kept only gzipped: a client without gzip gets the same bytes, unzipped on the way out.
    status, response, plain = client.get("/api/map.bin")
    assert status == 200 and response.getheader("Content-Encoding") is None
    assert response.getheader("Content-Type") == "application/octet-stream"
    assert plain == client.get("/api/map.bin", **gz)[2]


def test_a_large_library_has_its_map_payload_made_at_start_up(tmp_path, monkeypatch):
    config = load_config(None, cwd=tmp_path)
    with Store(config.paths.database) as store:
        store.put_many([record(n) for n in range(1, 5)])
        create_app(Core.build(config, store))  # 4 photos: under PREPARE_FROM, made at the first request only
        assert not any(t.name == "map-payload" for t in threading.enumerate())
        monkeypatch.setattr(api, "PREPARE_FROM", 4)  # 4 photos count as a large library here
        app = create_app(Core.build(config, store))
        at_start = store.seq
        wait_until(lambda: not any(t.name == "map-payload" for t in threading.enumerate()))
        store.put(record(5))
        server = ViewerServer(app, "127.0.0.1", 0).start()
        try:
            # The first request gets the body made at start-up, a photo behind: it did not wait for one.
            head = payload_head(Client(server.url).get("/api/map.bin", **{"Accept-Encoding": "gzip"})[2])
            assert head["seq"] == at_start < store.seq and head["n"] == 4
        finally:
            server.stop()


def test_one_record_in_full(env):
    data = env["client"].json(f"/api/images/{rid(2)}")
    assert data["model"] == "m" and data["thumb_url"] == f"/thumb/{rid(2)}" and data["image_url"] == f"/image/{rid(2)}"
    assert data["has_file"] is False
    assert env["client"].json(f"/api/images/{rid(1)}")["has_file"] is True


def test_geojson_is_a_valid_feature_collection_of_located_photos(env):
    status, response, data = env["client"].get("/api/images.geojson")
    assert status == 200 and response.getheader("Content-Type").startswith("application/geo+json")
    fc = json.loads(data)
    assert fc["type"] == "FeatureCollection"
    located = {r.id for r in env["store"].with_status(Status.LOCATED)}
    assert {f["id"] for f in fc["features"]} == located
    for feature in fc["features"]:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        record = env["store"].get(feature["id"])
        assert (lat, lon) == (record.lat, record.lon)  # GeoJSON order: longitude first
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        assert feature["properties"]["source"] == record.source.value


def test_the_api_never_shows_server_paths(env):
    """Issue 8 item 17: no absolute path (`moving_from`, a tampered `path`, our folders in an error)."""
    config, store, tmp = env["config"], env["store"], env["tmp"]
    inbox = config.paths.inbox
    store.put(PhotoRecord(id=rid(20), sha256=rid(20) * 4, name="moving.jpg", path="2008/moving.jpg", status=Status.LOCATED,
                          source=Source.EXIF, lat=1.0, lon=1.0, moving_from=str(inbox / "moving.jpg")))
    store.put(PhotoRecord(id=rid(21), sha256=rid(21) * 4, name="gone.jpg", path=None, status=Status.FAILED,
                          error=f"[Errno 13] Permission denied: '{inbox / 'gone.jpg'}'"))
    for path in ("/api/images", f"/api/images/{rid(20)}", f"/api/images/{rid(21)}", f"/api/images/{rid(6)}", "/api/map",
                 "/api/images.geojson"):
        status, _, data = env["client"].get(path)
        assert status == 200 and str(tmp).encode() not in data, path
        assert b"moving_from" not in data, path
    assert env["client"].json(f"/api/images/{rid(21)}")["error"] == "[Errno 13] Permission denied: 'inbox/gone.jpg'"
    assert env["client"].json(f"/api/images/{rid(6)}")["path"] is None  # an absolute path in a tampered record
    assert env["client"].json(f"/api/images/{rid(5)}")["path"] is None  # one that climbs out
    assert env["client"].json(f"/api/images/{rid(20)}")["path"] == "2008/moving.jpg"
    assert env["client"].get("/api/images?fields=id,moving_from")[0] == 400


# -- unknown ids, traversal ------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    f"/api/images/{rid(99)}", "/api/images/XYZ", "/api/images/0123", "/api/images/000000000000000A",
    f"/thumb/{rid(99)}", "/thumb/notanid", f"/image/{rid(99)}", "/image/1234567890abcdef0",
    "/image/..%2f..%2fetc%2fpasswd", "/image/..%252f..%252fetc%252fpasswd", "/image/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/image/../../etc/passwd", "/image/..\\..\\etc\\passwd", "/thumb/..%2f..%2fsecret.txt",
    "/static/..%2f..%2fapp.py", "/static/../app.py", "/static/%2e%2e/app.py", "/static/vendor/../../app.py",
])
def test_unknown_ids_and_traversal_answer_404(env, path):
    status, _, data = env["client"].get(path)
    assert status == 404, (path, status)
    assert b"secret" not in data and b"import" not in data and b"root:" not in data


@pytest.mark.parametrize("record_id", [rid(5), rid(6)])
def test_tampered_paths_never_leave_the_library(env, record_id):
    for route in ("image", "thumb"):
        status, _, data = env["client"].get(f"/{route}/{record_id}")
        assert status == 404 and b"secret" not in data
    assert env["client"].json(f"/api/images/{record_id}")["has_file"] is False


def test_images_are_served_from_their_status_folder(env):
    status, response, data = env["client"].get(f"/image/{rid(1)}")
    assert status == 200 and response.getheader("Content-Type") == "image/jpeg"
    assert data == (env["config"].paths.library / "2008" / "a.jpg").read_bytes()
    status, _, data = env["client"].get(f"/image/{rid(4)}")  # failed/ folder
    assert status == 200 and data == b"not a jpeg"
    assert env["client"].get(f"/image/{rid(8)}")[0] == 404  # duplicates/ has no such file


def test_a_non_image_file_is_never_rendered_on_our_origin(env):
    status, response, _ = env["client"].get(f"/image/{rid(7)}")
    assert status == 200
    assert response.getheader("Content-Type") == "application/octet-stream"
    disposition = response.getheader("Content-Disposition")
    assert disposition.startswith("attachment") and "\r" not in disposition and disposition.count('"') == 2


# -- thumbnails ------------------------------------------------------------------------------------

def test_thumbnail_is_made_once_and_then_served_from_the_cache(env, monkeypatch):
    from PIL import Image

    from viewer import thumbnails

    cache = env["config"].paths.database.parent / "thumbnails" / f"{rid(1)}.jpg"
    status, response, data = env["client"].get(f"/thumb/{rid(1)}")
    assert status == 200 and response.getheader("Content-Type") == "image/jpeg"
    assert cache.is_file() and cache.read_bytes() == data
    with Image.open(cache) as image:
        assert max(image.size) <= thumbnails.THUMB_PX

    def fail(*args, **kwargs):
        raise AssertionError("the thumbnail was made again")

    monkeypatch.setattr(thumbnails.Thumbnails, "_make", fail)
    status, _, again = env["client"].get(f"/thumb/{rid(1)}")
    assert status == 200 and again == data
    assert not list(cache.parent.glob("*.tmp"))


def test_concurrent_thumbnail_requests_agree(env):
    results = []

    def fetch():
        results.append(env["client"].get(f"/thumb/{rid(3)}")[::2])

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {status for status, _ in results} == {200}
    assert len({data for _, data in results}) == 1


def test_thumbnail_applies_exif_orientation_and_reads_heic(env, tmp_path):
    from PIL import Image

    library = env["config"].paths.library
    image = Image.new("RGB", (400, 200), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    image.save(library / "2008" / "rot.jpg", exif=exif)
    env["store"].put(PhotoRecord(id=rid(10), sha256=rid(10) * 4, name="rot.jpg", path="2008/rot.jpg",
                                 status=Status.LOCATED, source=Source.EXIF, lat=0.0, lon=0.0))
    status, _, data = env["client"].get(f"/thumb/{rid(10)}")
    assert status == 200
    thumb = tmp_path / "t.jpg"
    thumb.write_bytes(data)
    with Image.open(thumb) as t:
        assert t.size[1] > t.size[0]  # portrait once the orientation is applied
    if env["heic"]:
        status, response, _ = env["client"].get(f"/thumb/{rid(9)}")
        assert status == 200 and response.getheader("Content-Type") == "image/jpeg"


def test_unreadable_file_has_no_thumbnail(env):
    assert env["client"].get(f"/thumb/{rid(4)}")[0] == 404


# -- headers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/api/images", f"/thumb/{rid(1)}", "/static/app.js", "/nope", f"/api/images/{rid(99)}"])
def test_every_response_carries_the_security_headers(env, path):
    _, response, _ = env["client"].get(path)
    csp = response.getheader("Content-Security-Policy")
    assert csp and "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for directive in ("object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"):
        assert directive in csp
    assert "https://*.tile.example.org" in re.search(r"img-src ([^;]+)", csp).group(1)
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("Referrer-Policy") == "no-referrer"


def test_tile_origin_for_the_csp():
    assert tile_origin("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://tile.openstreetmap.org"
    assert tile_origin("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org"
    assert tile_origin("http://localhost:8080/tiles/{z}/{x}/{y}.png") == "http://localhost:8080"
    assert tile_origin("") is None and tile_origin("javascript:alert(1)") is None
    assert "img-src 'self' data:;" in content_security_policy("")


def test_page_embeds_the_token_and_escapes_config(env):
    status, _, data = env["client"].get("/")
    page = data.decode()
    assert status == 200 and env["token"] in page
    assert "<script>" not in page.replace("<script src=", "")  # no inline script at all
    rest = page.replace(env["token"], "")  # a random token may spell anything, "cdn" included
    assert "//unpkg" not in rest and "cdn" not in rest.lower()


def test_a_foreign_host_header_is_refused(env):
    port = urlsplit(env["server"].url).port
    assert env["client"].get("/", Host=f"evil.example:{port}")[0] == 421
    assert env["client"].get("/", Host=f"localhost:{port}")[0] == 200


# -- manual fix ------------------------------------------------------------------------------------

def test_manual_fix_needs_the_token(env):
    assert post_location(env, rid(3), {"lat": 1, "lon": 2}, token=None)[0] == 403
    assert post_location(env, rid(3), {"lat": 1, "lon": 2}, token="wrong")[0] == 403
    port = urlsplit(env["server"].url).port
    assert post_location(env, rid(3), {"lat": 1, "lon": 2}, Origin="http://evil.example")[0] == 403
    assert post_location(env, rid(3), {"lat": 1, "lon": 2}, Origin=f"http://127.0.0.1:{port}")[0] == 200
    assert env["store"].get(rid(3)).source is Source.MANUAL


def test_manual_fix_is_stored_and_survives_a_restart(env):
    status, _, data = post_location(env, rid(3), {"lat": 41.8902, "lon": 12.4922})
    assert status == 200
    answer = json.loads(data)
    record = answer["record"]
    assert record["source"] == "manual" and record["status"] == "located" and "Rome" in record["place"]
    # The map row comes from the server, in the columns /api/map uses: the page never builds one.
    assert dict(zip(MAP_COLUMNS, answer["row"])) == {
        "id": rid(3), "status": "located", "source": "manual", "lat": 41.8902, "lon": 12.4922, "date": None,
        "name": "u.jpg", "radius_km": None, "error": None, "clock": None}
    record = env["store"].get(rid(3))
    assert (record.status, record.source, record.lat, record.lon, record.error) == (Status.LOCATED, Source.MANUAL, 41.8902, 12.4922, None)
    env["server"].stop()
    env["store"].close()
    store = Store(env["config"].paths.database)
    try:
        assert store.get(rid(3)).source is Source.MANUAL and store.get(rid(3)).lat == 41.8902
    finally:
        store.close()
    env["store"] = Store(env["config"].paths.database)  # the fixture closes what it holds
    env["server"] = ViewerServer(create_app(Core.build(env["config"], env["store"])), "127.0.0.1", 0).start()


def test_manual_fix_on_an_ai_point_drops_its_uncertainty(env):
    assert post_location(env, rid(2), {"lat": 48.86, "lon": 2.29})[0] == 200
    record = env["store"].get(rid(2))
    assert record.source is Source.MANUAL and record.radius_km is None and record.model == "m"


@pytest.mark.parametrize("body", [
    {"lat": 91, "lon": 0}, {"lat": -90.5, "lon": 0}, {"lat": 0, "lon": 180.01}, {"lat": 0, "lon": -181},
    {"lat": "1", "lon": 2}, {"lat": True, "lon": 2}, {"lat": None, "lon": 2}, {"lat": 1}, [1, 2], "x",
    b"not json", b'{"lat": NaN, "lon": 1}', b'{"lat": Infinity, "lon": 1}',
])
def test_invalid_coordinates_are_refused(env, body):
    assert post_location(env, rid(3), body)[0] == 400
    assert env["store"].get(rid(3)).status is Status.UNLOCATED


def test_manual_fix_of_unknown_or_failed_photos(env):
    assert post_location(env, rid(99), {"lat": 1, "lon": 1})[0] == 404
    assert post_location(env, "nothex", {"lat": 1, "lon": 1})[0] == 404
    assert post_location(env, rid(4), {"lat": 1, "lon": 1})[0] == 409


def test_get_is_not_allowed_on_the_fix_endpoint(env):
    status, response, _ = env["client"].get(f"/api/images/{rid(3)}/location")
    assert status == 405 and response.getheader("Allow") == "POST"


# -- server ----------------------------------------------------------------------------------------

def test_server_reports_its_port_and_stops(tmp_path):
    config = load_config(None, cwd=tmp_path)
    with Store(config.paths.database) as store:
        server = ViewerServer(create_app(Core.build(config, store)), "127.0.0.1", 0).start()
        url = server.url
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url) and not url.endswith(":0/")
        client = Client(url)
        conn = http.client.HTTPConnection(client.host, client.port, timeout=5)
        conn.request("GET", "/api/map")  # a kept-alive connection must not keep the server up
        conn.getresponse().read()
        server.stop()
        conn.close()
        with pytest.raises(OSError):
            Client(url).get("/")


def test_bound_to_every_interface_only_ip_literals_and_this_machines_names_are_served(tmp_path):
    import socket

    from geolocator.auth import hash_password
    from geolocator.auth.password_file import password_path, write_hash

    # Served beyond loopback, the page needs a password (tests/test_login.py): log in first.
    config = load_config(None, cwd=tmp_path).replace("viewer", host="0.0.0.0")
    write_hash(password_path(config), hash_password("pw-pw-pw-pw"))
    with Store(config.paths.database) as store:
        server = ViewerServer(create_app(Core.build(config, store)), "127.0.0.1", 0).start()
        try:
            client, port = Client(server.url), urlsplit(server.url).port
            _, response, _ = client.request("POST", "/login", b'{"password": "pw-pw-pw-pw"}', {"Content-Type": "application/json"})
            session = response.getheader("Set-Cookie").split(";", 1)[0]
            for host in ("192.168.1.20", "[::1]", "localhost", socket.gethostname()):
                assert client.get("/api/images", Host=f"{host}:{port}", Cookie=session)[0] == 200, host
            assert client.get("/api/images", Host=f"rebind.attacker.example:{port}")[0] == 421
        finally:
            server.stop()


def test_manual_fix_bodies_too_large_or_too_deep_are_refused_cleanly(env):
    assert post_location(env, rid(3), b'{"lat": 1, "lon": 2, "pad": "' + b"x" * 5000 + b'"}')[0] == 413
    assert post_location(env, rid(3), b"[" * 3000)[0] == 400
    assert env["store"].get(rid(3)).source is None  # nothing changed


# -- slow clients and bodies refused from their headers (issue 8 item 10) ------------------------

def raw_request(url: str, head: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    """Send only `head` (request line and headers), never a body; read the answer until the server closes."""
    import socket

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head)
        data = b""
        while chunk := sock.recv(65536):  # the server must answer and close without waiting for the body
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def big_post_head(env, record_id: str, length: int, token: str | None = None, extra: str = "") -> bytes:
    port = urlsplit(env["server"].url).port
    lines = [f"POST /api/images/{record_id}/location HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json",
             f"Content-Length: {length}"]
    if token:
        lines.append(f"X-Geolocator-Token: {token}")
    return ("\r\n".join(lines) + extra + "\r\n\r\n").encode()


def test_a_huge_unauthenticated_post_is_refused_from_its_headers(env, tmp_path, monkeypatch):
    import tempfile

    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))  # where a server or Bottle would spool a body
    assert env["config"].paths.database.parent == tmp_path  # the inbox, library, failed and the database are below
    before = tree(tmp_path)
    mb900 = 900 * 1024 * 1024
    status, data = raw_request(env["server"].url, big_post_head(env, rid(3), mb900))
    assert status == 403 and b"token" in data
    # With the token, the size alone refuses it; a body without a length is refused too.
    status, data = raw_request(env["server"].url, big_post_head(env, rid(3), mb900, env["token"]))
    assert status == 413 and b"larger than 4096" in data
    status, _ = raw_request(env["server"].url, big_post_head(env, rid(3), 0, env["token"], "\r\nTransfer-Encoding: chunked"))
    assert status == 411
    assert not list(spool.iterdir())
    assert tree(tmp_path) == before  # nothing written, every byte as it was
    assert env["store"].get(rid(3)).source is None
    # The server still answers.
    assert env["client"].get("/api/map")[0] == 200


def test_a_hundred_slow_clients_do_not_lock_the_page(env):
    import contextlib
    import socket
    import time

    parts = urlsplit(env["server"].url)
    with contextlib.ExitStack() as stack:
        slow = []
        for i in range(120):
            sock = stack.enter_context(socket.create_connection((parts.hostname, parts.port), timeout=5))
            if i % 2:  # half send part of their headers and stall; half send nothing at all
                sock.sendall(f"GET /api/map HTTP/1.1\r\nHost: {parts.netloc}\r\nX-Slow: ".encode())
            slow.append(sock)
        for path in ("/", "/api/map", f"/api/images/{rid(1)}", f"/thumb/{rid(1)}"):
            started = time.monotonic()
            status, _, _ = env["client"].get(path)
            # were they holding the workers, it would wait for the header deadline (TIMEOUT, 10 s)
            assert status == 200 and time.monotonic() - started < TIMEOUT / 2, path
        # A write, too.
        assert post_location(env, rid(3), {"lat": 1, "lon": 2})[0] == 200


def test_headers_that_never_finish_are_cut_off(tmp_path):
    import select
    import socket
    import time

    config = load_config(None, cwd=tmp_path)
    with Store(config.paths.database) as store:
        server = ViewerServer(create_app(Core.build(config, store)), "127.0.0.1", 0, timeout=1.0).start()
        try:
            parts = urlsplit(server.url)
            with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
                started = time.monotonic()
                sock.sendall(b"GET / HTTP/1.1\r\n")
                closed_after = None
                while closed_after is None and time.monotonic() - started < 60:
                    try:
                        sock.sendall(b"X")  # a header byte every 0.2 s: each read is quick, the whole never ends
                        readable, _, _ = select.select([sock], [], [], 0.2)
                        if readable and sock.recv(1024) == b"":
                            closed_after = time.monotonic() - started
                    except OSError:  # reset: closed with our bytes unread
                        closed_after = time.monotonic() - started
                assert closed_after is not None and 0.9 < closed_after < 30, closed_after  # its 1 s deadline, not never
        finally:
            server.stop()


# -- HEAD (issue 16) --------------------------------------------------------------------------------

def get_routes(app) -> list[str]:
    """Every GET route of the app, its wildcards filled with a recorded photo and a static file."""
    filled = {"<rid>": rid(1), "<path:path>": "app.css"}
    paths = []
    for route in app.routes:
        if route.method == "GET":
            path = route.rule
            for wildcard, value in filled.items():
                path = path.replace(wildcard, value)
            assert "<" not in path, f"fill {route.rule} in this test"
            paths.append(path)
    return paths


def assert_head_answers_like_get(client: Client, path: str, **headers: str) -> int:
    got, got_response, got_body = client.request("GET", path, headers=headers)
    status, response, body = client.request("HEAD", path, headers=headers)
    assert body == b"", path
    assert status == got, (path, status, got)
    for name in ("Content-Type", "Content-Length", "Content-Encoding", "Location", "Content-Security-Policy", "Cache-Control"):
        assert response.getheader(name) == got_response.getheader(name), (path, name)
    if got_response.getheader("Content-Encoding") is None and got_response.getheader("Content-Length"):
        assert int(response.getheader("Content-Length")) == len(got_body), path
    return status


def test_head_answers_every_get_route_like_get_without_a_body(env):
    app = env["server"].app
    paths = [*get_routes(app), f"/thumb/{rid(9)}", f"/image/{rid(9)}", f"/preview/{rid(9)}", "/api/where?q=Rome", "/nothing/here"]
    statuses = {path: assert_head_answers_like_get(env["client"], path) for path in paths}
    assert statuses["/"] == statuses["/api/map"] == statuses[f"/image/{rid(1)}"] == statuses[f"/thumb/{rid(1)}"] == 200
    assert statuses["/nothing/here"] == 404
    for path in ("/api/map", "/api/map.bin", "/api/images"):
        assert_head_answers_like_get(env["client"], path, **{"Accept-Encoding": "gzip"})
    assert_head_answers_like_get(env["client"], f"/image/{rid(1)}", Range="bytes=0-99")
    # A write-only route: 405 naming what it takes, to HEAD as to GET.
    status, response, body = env["client"].request("HEAD", "/api/upload")
    assert status == 405 and response.getheader("Allow") == "POST" and body == b""


def test_head_with_a_password_answers_like_get_with_and_without_the_session(tmp_path):
    from geolocator.auth import hash_password
    from geolocator.auth.password_file import password_path, write_hash

    config = load_config(None, cwd=tmp_path).replace("viewer", host="0.0.0.0", tile_url="")
    write_hash(password_path(config), hash_password("head head head"))
    with Store(config.paths.database) as store:
        store.put(record(1, name="a.jpg", path="a.jpg"))
        app = create_app(Core.build(config, store))
        server = ViewerServer(app, "127.0.0.1", 0).start()
        try:
            client = Client(server.url)
            _, response, _ = client.request("POST", "/login", b'{"password": "head head head"}', {"Content-Type": "application/json"})
            session = response.getheader("Set-Cookie").split(";", 1)[0]
            for path in get_routes(app):
                status = assert_head_answers_like_get(client, path)
                assert status in (401, 200), (path, status)  # 200: the login page and static files
                assert_head_answers_like_get(client, path, Accept="text/html")  # a browser: 303 to /login
                assert assert_head_answers_like_get(client, path, Cookie=session) != 401, path
            assert assert_head_answers_like_get(client, "/", Accept="text/html") == 303
            assert assert_head_answers_like_get(client, "/", Cookie=session) == 200
        finally:
            server.stop()

def test_labels_name_the_towns_in_a_view_and_refuse_a_bad_one(env):
    client = env["client"]
    near_arezzo = client.json("/api/labels?bbox=11.7,43.35,12.05,43.55&zoom=12")["labels"]
    assert near_arezzo[0]["name"] == "Arezzo" and near_arezzo[0]["kind"] == "town"
    assert all(43.35 <= label["lat"] <= 43.55 and 11.7 <= label["lon"] <= 12.05 for label in near_arezzo)
    assert len(near_arezzo) >= 3  # its neighbours too
    world = client.json("/api/labels?bbox=-180,-85,180,85&zoom=2")["labels"]
    assert {"country"} == {label["kind"] for label in world} and len(world) <= 200
    across = client.json("/api/labels?bbox=170,-47,190,-33&zoom=6")["labels"]  # the antimeridian, east of it too
    assert "Auckland" in {label["name"] for label in across}
    for bad in ("bbox=1,2,3&zoom=5", "bbox=0,50,1,40&zoom=5", "bbox=0,0,1,1&zoom=40", "bbox=nan,0,1,1&zoom=3", "zoom=3"):
        status, _, body = client.get("/api/labels?" + bad)
        assert status == 400, (bad, body)
