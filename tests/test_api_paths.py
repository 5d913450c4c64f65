"""The map's API never shows where things live on the server (issue 8 item 17): every answer of
every route, for records in every state a real run leaves (a move in flight with its sidecars,
errors naming our folders, a track whose file is gone), names files only relative to their folder.

A real store, a real ViewerServer on 127.0.0.1:0 and raw HTTP; each body is searched for the
temporary folder's absolute path, in the form written and resolved.
"""

from __future__ import annotations

import gzip
import http.client
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from photos import GPS_JPEGS, copy_corpus
from records import record, rid

from geolocator.config import Config, load_config
from geolocator.core import Core
from geolocator.record import PhotoRecord, Status
from geolocator.record.store import Store
from viewer import ViewerServer, create_app

pytestmark = pytest.mark.timeout(60)


@dataclass(frozen=True)
class Viewer:
    url: str
    token: str
    config: Config

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers={"Accept-Encoding": "gzip", **(headers or {})})
            response = conn.getresponse()
            data = response.read()
            return response.status, gzip.decompress(data) if response.getheader("Content-Encoding") == "gzip" else data
        finally:
            conn.close()


def records(config: Config) -> list[PhotoRecord]:
    inbox, library = config.paths.inbox, config.paths.library
    return [
        record(1, name="a.jpg", path="2008/10/a.jpg", lat=43.46, lon=11.88, place="Arezzo, Tuscany, Italy", city="Arezzo", taken_at="2008-10-22T16:28:39"),
        # a move in flight (a crash, or a flush that failed): the intent holds absolute inbox paths
        record(
            2, name="m.jpg", path="2008/10/m.jpg", moving_from=str(inbox / "trip" / "m.jpg"), sidecars=("2008/10/m.jpg.xmp",), sidecar_moves=(("2008/10/m.jpg.xmp", str(inbox / "trip" / "m.jpg.xmp")),)
        ),
        record(3, name="f.jpg", path="f.jpg", status=Status.FAILED, source=None, lat=None, lon=None, error=f"[Errno 13] Permission denied: '{inbox / 'f.jpg'}'"),
        record(4, name="u.jpg", path="2008/10/u.jpg", status=Status.UNLOCATED, source=None, lat=None, lon=None, error=f"cannot read {library.resolve() / '2008' / '10' / 'u.jpg'}"),
        record(5, name="d.jpg", path="d.jpg", status=Status.DUPLICATE, source=None, lat=None, lon=None, duplicate_of=rid(1)),
        record(6, name="gone.gpx", path="tracks/gone.gpx", status=Status.TRACK, source=None, lat=None, lon=None, taken_utc="2008-10-22T14:00:00+00:00", description="12 points"),
    ]


@pytest.fixture
def viewer(tmp_path: Path, corpus: Path) -> Iterator[Viewer]:
    config = load_config(None, cwd=tmp_path)
    copy_corpus(GPS_JPEGS[0], config.paths.library / "2008" / "10" / "a.jpg")
    copy_corpus(GPS_JPEGS[1], config.paths.library / "2008" / "10" / "m.jpg")
    with Store(config.paths.database) as store:
        store.put_many(records(config))
        app = create_app(Core.build(config, store))
        server = ViewerServer(app, "127.0.0.1", 0).start()
        try:
            yield Viewer(server.url, app.config["geolocator.token"], config)
        finally:
            server.stop()


def multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n').encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


READS = [
    "/",
    "/api/map",
    "/api/map?since=0",
    "/api/map.bin",
    "/api/images",
    "/api/images.geojson",
    "/api/images?status=failed",
    "/api/images?fields=id,path,sidecars,error",
    f"/api/brief?ids={','.join(rid(n) for n in range(1, 8))}",
    "/api/places?q=Arezzo",
    "/api/tracks",
    f"/api/tracks/{rid(6)}.geojson",
    f"/api/tracks/{rid(1)}.geojson",
    *(f"/api/images/{rid(n)}" for n in range(1, 8)),
    *(f"/{kind}/{rid(n)}" for kind in ("thumb", "preview") for n in (3, 4, 6, 7)),
    "/nowhere",
]


def test_no_answer_of_the_api_shows_a_server_path(viewer: Viewer, tmp_path: Path) -> None:
    secrets = {str(tmp_path).encode(), str(tmp_path.resolve()).encode()}
    for path in READS:
        status, body = viewer.request("GET", path)
        assert status < 500, (path, status, body)
        assert not any(s in body for s in secrets), (path, body[:2000])
        assert b"moving_from" not in body and b"sidecar_moves" not in body, path

    upload, kind = multipart("broken.jpg", b"\xff\xd8\xff\xe1 not a photo")
    for route in ("/api/locate", "/api/upload"):
        status, body = viewer.request("POST", route, upload, {"Content-Type": kind, "X-Geolocator-Token": viewer.token})
        assert status == 200, (route, body)
        assert not any(s in body for s in secrets) and b"geolocator-locate-" not in body and b"/tmp/" not in body, (route, body)


def test_paths_the_api_shows_are_relative_to_their_folder(viewer: Viewer) -> None:
    status, body = viewer.request("GET", f"/api/images/{rid(2)}")
    moving = json.loads(body)
    assert status == 200 and moving["path"] == "2008/10/m.jpg" and moving["sidecars"] == ["2008/10/m.jpg.xmp"]
    assert "moving_from" not in moving and "sidecar_moves" not in moving
    assert json.loads(viewer.request("GET", f"/api/images/{rid(3)}")[1])["error"] == "[Errno 13] Permission denied: 'inbox/f.jpg'"
    assert json.loads(viewer.request("GET", f"/api/images/{rid(4)}")[1])["error"] == "cannot read library/2008/10/u.jpg"
    status, body = viewer.request("GET", f"/api/tracks/{rid(6)}.geojson")
    assert status == 404 and b"tracks/gone.gpx" in body  # says which file, relative to the library
    for intent in ("moving_from", "sidecar_moves"):  # not a field anyone may ask for
        assert viewer.request("GET", f"/api/images?fields=id,{intent}")[0] == 400
