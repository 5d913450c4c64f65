"""The photo browser's endpoints over real HTTP: place search, the list's details, previews for the
photo viewer (HEIC, AVIF and raw files as JPEGs made on the server) and videos served with Range."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import struct
from pathlib import Path

import pytest
from PIL import Image
from records import rid

from geolocator.config import load_config
from geolocator.core import Core
from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import Store
from tests.test_viewer_http import Client
from viewer import ViewerServer, create_app
from viewer.routes.files import PREVIEW_PX

pytestmark = pytest.mark.timeout(60)


def jpeg(size: tuple[int, int], colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=80)
    return out.getvalue()


def minimal_mp4() -> bytes:
    """An ISO-BMFF file as a camera writes one: ftyp, then an mdat of media bytes."""
    ftyp = b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41"
    mdat = bytes(range(256)) * 16
    return struct.pack(">I", 8 + len(ftyp)) + b"ftyp" + ftyp + struct.pack(">I", 8 + len(mdat)) + b"mdat" + mdat


def located(n: int, name: str, path: str, place: str | None, lat: float = 38.71, lon: float = -9.14) -> PhotoRecord:
    return PhotoRecord(id=rid(n), sha256=rid(n) * 4, name=name, path=path, status=Status.LOCATED, source=Source.EXIF,
                       lat=lat, lon=lon, place=place, taken_at=f"2021-06-0{n % 9 + 1}T10:00:00")


@pytest.fixture
def env(tmp_path, corpus):
    config = load_config(None, cwd=tmp_path)
    library = config.paths.library
    library.mkdir(parents=True)
    config.paths.duplicates.mkdir()
    shutil.copy(corpus / "exif-samples" / "heic" / "IMG_5195.HEIC", library / "IMG_5195.HEIC")
    Image.new("RGB", (3000, 1000), "teal").save(library / "wide.avif")
    raw_preview = jpeg((1600, 1200), "orange")
    (library / "IMG_0001.CR2").write_bytes(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + b"\x00" * 500 + raw_preview + b"\x22" * 2000)
    (library / "plain.jpg").write_bytes(jpeg((640, 480), "navy"))
    (library / "clip.mp4").write_bytes(minimal_mp4())
    (config.paths.duplicates / "plain copy.jpg").write_bytes(jpeg((640, 480), "navy"))
    records = [
        located(1, "IMG_5195.HEIC", "IMG_5195.HEIC", "Baixa, Lisbon, Lisbon, Portugal"),
        located(2, "wide.avif", "wide.avif", "Lisbon, Lisbon, Portugal"),
        located(3, "IMG_0001.CR2", "IMG_0001.CR2", "Porto, Porto, Portugal", 41.15, -8.61),
        located(4, "plain.jpg", "plain.jpg", "Lisbon Falls, Maine, United States", 44.0, -70.06),
        located(5, "clip.mp4", "clip.mp4", None),
        PhotoRecord(id=rid(6), sha256=rid(6) * 4, name="plain copy.jpg", path="plain copy.jpg", status=Status.DUPLICATE,
                    duplicate_of=rid(4), place="Lisbon, Lisbon, Portugal"),
    ]
    store = Store(config.paths.database)
    store.put_many(records)
    server = ViewerServer(create_app(Core.build(config, store)), "127.0.0.1", 0).start()
    yield {"client": Client(server.url), "config": config, "store": store}
    server.stop()
    store.close()


def test_a_place_search_resolves_the_name_and_lists_the_photos_it_names(env):
    found = env["client"].json("/api/places?q=lisbon")
    match = found["match"]
    assert match["level"] == "city" and "Lisbon" in match["label"] and "Portugal" in match["label"]
    assert abs(match["lat"] - 38.72) < 0.2 and abs(match["lon"] + 9.14) < 0.2 and match["radius_km"] > 0
    # Place parts compared whole: "Lisbon Falls" is not Lisbon; a duplicate is not on the map.
    assert sorted(found["ids"]) == [rid(1), rid(2)]
    country = env["client"].json("/api/places?q=Portugal")
    assert country["match"]["level"] == "country" and sorted(country["ids"]) == [rid(1), rid(2), rid(3)]
    nowhere = env["client"].json("/api/places?q=Xqzzyvillex")
    assert nowhere == {"query": "Xqzzyvillex", "match": None, "ids": []}


def test_a_region_search_answers_the_region_its_box_and_the_photos_in_it(env):
    env["store"].put_many([
        located(7, "duomo.jpg", "duomo.jpg", "Duomo, Florence, Tuscany, Italy", 43.773, 11.256),
        located(8, "campo.jpg", "campo.jpg", "Siena, Tuscany, Italy", 43.318, 11.331),
        located(9, "shoals.jpg", "shoals.jpg", "Florence, Alabama, United States", 34.80, -87.68),
    ])
    for query in ("Tuscany", "tuscany,%20Italy"):
        found = env["client"].json(f"/api/places?q={query}")
        match = found["match"]
        assert match["level"] == "region" and match["label"] == "Tuscany, Italy"
        (south, west), (north, east) = match["bounds"]
        for lat, lon in ((43.77, 11.25), (43.72, 10.40), (43.32, 11.33), (42.76, 11.11)):  # Florence, Pisa, Siena, Grosseto
            assert south <= lat <= north and west <= lon <= east
        assert 1 < north - south < 4 and 1 < east - west < 5  # a region's size: not a town's, not Italy's
        assert sorted(found["ids"]) == [rid(7), rid(8)]  # each part of the query is a part of the photo's place
    # A town keeps its radius: no box.
    assert env["client"].json("/api/places?q=Florence")["match"]["bounds"] is None


@pytest.mark.parametrize("query", ["", "%20%20", "x" * 101])
def test_a_place_search_needs_a_sensible_query(env, query):
    status, _, body = env["client"].get(f"/api/places?q={query}")
    assert status == 400 and "q must be" in json.loads(body)["error"]


def test_brief_gives_place_date_and_the_photo_a_duplicate_repeats(env):
    brief = env["client"].json(f"/api/brief?ids={rid(1)},{rid(6)},{rid(99)}")
    assert set(brief) == {rid(1), rid(6)}  # an unknown id is left out
    assert brief[rid(1)]["place"] == "Baixa, Lisbon, Lisbon, Portugal" and brief[rid(1)]["taken_at"].startswith("2021-06")
    assert brief[rid(6)]["duplicate_of"] == rid(4) and brief[rid(6)]["duplicate_name"] == "plain.jpg"
    assert brief[rid(1)]["has_file"] and brief[rid(6)]["has_file"]
    env["store"].put(dataclasses.replace(env["store"].get(rid(1)), path="gone.heic"))
    assert not env["client"].json(f"/api/brief?ids={rid(1)}")[rid(1)]["has_file"]


@pytest.mark.parametrize("ids", ["../../etc", "zz", ",".join(rid(i) for i in range(201))])
def test_brief_refuses_bad_or_too_many_ids(env, ids):
    status, _, _ = env["client"].get(f"/api/brief?ids={ids}")
    assert status == 400


@pytest.mark.parametrize(("n", "size"), [(1, None), (2, (PREVIEW_PX, 683)), (3, (1600, 1200))])
def test_heic_avif_and_raw_are_previewed_as_jpegs_made_once(env, n, size):
    client = env["client"]
    status, response, body = client.get(f"/preview/{rid(n)}")
    assert status == 200 and response.getheader("Content-Type") == "image/jpeg", body[:200]
    image = Image.open(io.BytesIO(body))
    assert image.format == "JPEG" and max(image.size) <= PREVIEW_PX and min(image.size) > 0
    if size:
        assert image.size == size
    cached = env["config"].paths.database.parent / "thumbnails" / "previews" / f"{rid(n)}.jpg"
    assert cached.read_bytes() == body  # made once, then served from the cache
    assert client.get(f"/preview/{rid(n)}")[2] == body
    assert client.get(f"/thumb/{rid(n)}")[0] == 200


def test_a_browser_image_is_previewed_as_it_is(env):
    status, response, body = env["client"].get(f"/preview/{rid(4)}")
    library: Path = env["config"].paths.library
    assert status == 200 and response.getheader("Content-Type") == "image/jpeg"
    assert body == (library / "plain.jpg").read_bytes()


def test_a_video_is_played_with_range_requests_and_has_no_still(env):
    client = env["client"]
    whole = (env["config"].paths.library / "clip.mp4").read_bytes()
    status, response, body = client.get(f"/image/{rid(5)}", Range="bytes=100-355")
    assert status == 206 and response.getheader("Content-Type") == "video/mp4"
    assert response.getheader("Content-Range") == f"bytes 100-355/{len(whole)}" and body == whole[100:356]
    assert response.getheader("Accept-Ranges") == "bytes"
    assert client.get(f"/preview/{rid(5)}")[0] == 404
    assert client.get(f"/thumb/{rid(5)}")[0] == 404
