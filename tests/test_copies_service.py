"""Copies of located photos through the real service (watchdog, the store, sidecars, the page's
API): a copy placed in either arrival order, with its original named and its capture time; what
is not a copy (another photo of the same place, a burst, clear skies, pages of text) never placed
as one; copies following their original; `[location] copies = false`; and a copy filed as a
duplicate from the page, by the intents' rules; `scan` hashing the photos with GPS after filing them."""

from __future__ import annotations

import http.client
import json
import math
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from configs import write_config
from copies_made import ORIGINALS, RECIPES, SAMPLES, burst, document, encoded, sky, upright, with_orientation
from exiftool_process import exiftool
from expect import wait_until
from processes import run_daemon
from records import record_of, stored

from geolocator.locations.copies import ORIGINAL_GONE
from geolocator.locations.sidecar import read_sidecar, sidecar_path
from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import load_records
from geolocator.service import Service

pytestmark = [pytest.mark.timeout(240), pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")]

HEIC = ORIGINALS[3]  # IMG_5195.HEIC: an iPhone 11 Pro Max photo with GPS, Blue Springs, Missouri
DSCN = ORIGINALS[0]  # DSCN0010.jpg: a Nikon photo with GPS, Italy


class Phone:
    """Files made outside the inbox and renamed in whole into it, as a sync tool finishing does."""

    def __init__(self, root: Path) -> None:
        self.staging, self.inbox = root / "staging", root / "inbox"
        self.staging.mkdir()
        self.inbox.mkdir(exist_ok=True)

    def drop(self, name: str, data: bytes | Path, *, exif: list[str] | None = None) -> None:
        path = self.staging / name
        if isinstance(data, Path):
            shutil.copyfile(data, path)
        else:
            path.write_bytes(data)
        if exif:
            exiftool("-q", "-overwrite_original", *exif, str(path))
        os.replace(path, self.inbox / name)


def gps_tags(lat: float, lon: float) -> list[str]:
    return [f"-GPSLatitude={abs(lat)}", f"-GPSLatitudeRef={'N' if lat >= 0 else 'S'}", f"-GPSLongitude={abs(lon)}", f"-GPSLongitudeRef={'E' if lon >= 0 else 'W'}"]


def as_copy(svc: Service, name: str) -> PhotoRecord:
    return stored(svc, name, lambda r: r.source is Source.COPY and r.status is Status.LOCATED, f"{name} placed as a copy")


def idle(svc: Service) -> None:
    wait_until(svc.idle, timeout=60, message="the service idle")


@pytest.fixture
def run(service):
    return lambda **options: service(settle=0.3, **options)


def test_a_copy_that_came_first_is_placed_when_its_original_comes(run, tmp_path):
    phone = Phone(tmp_path)
    svc = run()
    phone.drop("IMG-20210412-WA0007.jpg", RECIPES["whatsapp"](upright(HEIC)))
    waiting = stored(svc, "IMG-20210412-WA0007.jpg")
    assert (waiting.status, waiting.source, waiting.taken_at) == (Status.UNLOCATED, None, "2021-04-12") and waiting.phash

    phone.drop("IMG_5195.HEIC", SAMPLES / HEIC)
    original = stored(svc, "IMG_5195.HEIC", lambda r: r.source is Source.EXIF)
    copy = as_copy(svc, "IMG-20210412-WA0007.jpg")
    assert (copy.lat, copy.lon, copy.place, copy.copy_of) == (original.lat, original.lon, original.place, original.id)
    assert copy.decisions[-1].startswith(f"a copy of IMG_5195.HEIC ({original.id}), located by exif: the same picture (likeness ")
    assert (copy.taken_at, copy.time_source) == ("2021-04-11T15:47:53-05:00", "its original IMG_5195.HEIC")  # the file's date was the day it was sent
    assert copy.taken_utc == "2021-04-11T20:47:53+00:00" and copy.history[-1].by == "copy"
    sidecar = wait_until(lambda: read_sidecar(sidecar_path(svc.folders.library / (copy.path or ""))), timeout=30, message="the copy's sidecar")
    assert sidecar.provenance is not None and sidecar.provenance.source is Source.COPY and math.isclose(sidecar.lat, original.lat or 0, abs_tol=1e-7)


def test_copies_that_come_after_their_original_are_placed_at_once(run, tmp_path):
    phone = Phone(tmp_path)
    svc = run()
    sideways = with_orientation(SAMPLES / DSCN, tmp_path / "DSCN0010.jpg", 6)  # stored sideways, shown upright by its tag
    phone.drop("DSCN0010.jpg", sideways)
    original = stored(svc, "DSCN0010.jpg", lambda r: r.source is Source.EXIF)
    image = upright(DSCN)
    made = {f"{recipe}.{'webp' if 'webp' in recipe else 'jpg'}": RECIPES[recipe](image) for recipe in ("telegram", "signal-webp", "editor-crop", "crop-10-left", "web-640-q60", "heic-as-jpeg")}
    made["PXL_20240615_093000123.jpg"] = RECIPES["crop-10-top-right"](image)
    for name, data in made.items():
        phone.drop(name, data)
    for name in made:
        copy = as_copy(svc, name)
        assert (copy.lat, copy.lon, copy.copy_of, copy.taken_at) == (original.lat, original.lon, original.id, original.taken_at), name
        assert copy.path == f"2008/10/{name}"  # filed under its original's month (not the name's June 2024)
        assert "DSCN0010.jpg" in copy.decisions[-1]


def test_what_is_not_a_copy_is_never_placed_as_one(run, tmp_path):
    phone = Phone(tmp_path)
    svc = run()
    # Another photo of the same afternoon in the same town, stripped of its metadata.
    phone.drop("DSCN0010.jpg", SAMPLES / DSCN)
    phone.drop("wisteria.jpg", encoded(upright("jpg/gps/DSCN0012.jpg"), "JPEG", 80))
    # A burst: the first frame with GPS; the next, three seconds later, without: a time neighbour.
    frames = burst("jpg/gps/DSCN0021.jpg")
    camera = ["-Model=EOS R6", "-OffsetTimeOriginal=+02:00"]
    phone.drop("burst-1.jpg", encoded(frames[0]), exif=["-DateTimeOriginal=2024:06:01 12:00:00", *camera, *gps_tags(48.137, 11.575)])
    stored(svc, "burst-1.jpg", lambda r: r.source is Source.EXIF)
    phone.drop("burst-2.jpg", encoded(frames[1]), exif=["-DateTimeOriginal=2024:06:01 12:00:03", *camera])
    # Clear skies and pages of text: one of each located, the other not.
    phone.drop("sky-1.jpg", encoded(sky(1)), exif=gps_tags(45.0, 7.0))
    phone.drop("sky-2.jpg", encoded(sky(2)))
    phone.drop("page-1.jpg", encoded(document(1, photographed=True)), exif=gps_tags(45.0, 7.0))
    phone.drop("page-2.jpg", encoded(document(2, photographed=True)))

    neighbour = stored(svc, "burst-2.jpg", lambda r: r.source is Source.NEARBY, "the burst's second frame placed by its neighbour")
    assert any("burst-1.jpg" in d and "taken 3 s apart (a burst or a time neighbour)" in d and d.endswith("not its copy") for d in neighbour.decisions), neighbour.decisions
    for name in ("wisteria.jpg", "sky-2.jpg", "page-2.jpg"):
        stored(svc, name)
    idle(svc)
    for name in ("wisteria.jpg", "sky-2.jpg", "page-2.jpg"):
        assert stored(svc, name).source is None, name
    assert [stored(svc, name).phash for name in ("sky-1.jpg", "sky-2.jpg", "page-1.jpg", "page-2.jpg")] == ["", "", "", ""]  # plain: never compared


def test_a_copy_follows_its_original_and_loses_the_location_with_it(run, tmp_path):
    phone = Phone(tmp_path)
    svc = run(viewer={"enabled": True, "port": 0})
    assert svc.viewer is not None and svc.core is not None
    api = Api(svc.viewer.url, svc.viewer.app.config["geolocator.token"])
    picture = upright("jpg/gps/DSCN0027.jpg")
    phone.drop("scan.jpg", encoded(picture, "JPEG", 92))  # no metadata: an original only a person can place
    phone.drop("shared.jpg", RECIPES["whatsapp"](picture))
    original, copy = stored(svc, "scan.jpg"), stored(svc, "shared.jpg")
    assert original.source is None and copy.source is None

    api.post("/api/locations", {"ids": [original.id], "lat": 41.8902, "lon": 12.4922})
    copy = as_copy(svc, "shared.jpg")
    assert (copy.lat, copy.lon, copy.copy_of) == (41.8902, 12.4922, original.id)
    api.post("/api/locations", {"ids": [original.id], "lat": 45.4642, "lon": 9.19})
    wait_until(lambda: (now := record_of(svc.store, "shared.jpg")) and (now.lat, now.lon) == (45.4642, 9.19), timeout=30, message="the copy following its original")  # type: ignore[arg-type]
    api.post(f"/api/images/{original.id}/revert")  # back to Rome: the copy too
    wait_until(lambda: (now := record_of(svc.store, "shared.jpg")) and (now.lat, now.lon) == (41.8902, 12.4922), timeout=30, message="the copy back in Rome")  # type: ignore[arg-type]
    api.post(f"/api/images/{original.id}/revert")  # back to no location: the copy loses its own
    gone = stored(svc, "shared.jpg", lambda r: r.source is None, "the copy without its original's location")
    assert (gone.status, gone.error) == (Status.UNLOCATED, ORIGINAL_GONE) and "scan.jpg is now unlocated" in gone.decisions[-1]


def test_copies_can_be_turned_off(run, tmp_path):
    phone = Phone(tmp_path)
    svc = run(location={"copies": False})
    phone.drop("DSCN0010.jpg", SAMPLES / DSCN)
    stored(svc, "DSCN0010.jpg", lambda r: r.source is Source.EXIF)
    phone.drop("shared.jpg", RECIPES["whatsapp"](upright(DSCN)))
    copy = stored(svc, "shared.jpg")
    idle(svc)
    assert (copy.status, copy.source, copy.phash, copy.copy_of) == (Status.UNLOCATED, None, None, None)


class Api:
    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.token = parts.hostname or "127.0.0.1", parts.port, token

    def call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            headers = {"Content-Type": "application/json", "X-Geolocator-Token": self.token}
            conn.request(method, path, body=None if body is None else json.dumps(body).encode(), headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    def post(self, path: str, body: object = None) -> dict:
        status, data = self.call("POST", path, body)
        assert status == 200, (path, status, data)
        assert isinstance(data, dict)
        return data

    def get(self, path: str) -> dict:
        status, data = self.call("GET", path)
        assert status == 200, (path, status, data)
        assert isinstance(data, dict)
        return data


def original_and_copy(svc, phone):
    """DSCN0010.jpg and then its copy as Telegram sends it, `shared.jpg`: (api, original, sent bytes, copy)."""
    assert svc.viewer is not None
    api = Api(svc.viewer.url, svc.viewer.app.config["geolocator.token"])
    phone.drop("DSCN0010.jpg", SAMPLES / DSCN)
    original = stored(svc, "DSCN0010.jpg", lambda r: r.source is Source.EXIF)
    sent = RECIPES["telegram"](upright(DSCN))
    phone.drop("shared.jpg", sent)
    return api, original, sent, as_copy(svc, "shared.jpg")


def test_a_copy_filed_as_a_duplicate_from_the_page(run, tmp_path):
    phone = Phone(tmp_path)
    svc = run(viewer={"enabled": True, "port": 0})
    api, original, sent, copy = original_and_copy(svc, phone)
    in_library = svc.folders.library / (copy.path or "")
    wait_until(lambda: sidecar_path(in_library).is_file(), timeout=30, message="the copy's sidecar")
    detail = api.get(f"/api/images/{copy.id}")
    assert (detail["copy_of"], detail["copy_of_name"], detail["time_source"]) == (original.id, "DSCN0010.jpg", "its original DSCN0010.jpg")
    assert api.get(f"/api/brief?ids={copy.id}")[copy.id]["copy_name"] == "DSCN0010.jpg"
    (svc.folders.duplicates / "shared.jpg").parent.mkdir(parents=True, exist_ok=True)
    (svc.folders.duplicates / "shared.jpg").write_bytes(b"another program's file")  # never overwritten

    answer = api.post(f"/api/images/{copy.id}/file-as-duplicate")
    [moved] = answer["records"]
    assert (moved["status"], moved["duplicate_of"], moved["path"]) == ("duplicate", original.id, "shared-2.jpg")
    assert copy.id in {row[0] for row in answer["rows"]}
    assert not in_library.exists() and not sidecar_path(in_library).exists()
    assert (svc.folders.duplicates / "shared-2.jpg").read_bytes() == sent  # the photo's own bytes, moved
    assert (svc.folders.duplicates / "shared.jpg").read_bytes() == b"another program's file"
    assert sidecar_path(svc.folders.duplicates / "shared-2.jpg").is_file()
    assert api.get(f"/api/images/{copy.id}")["duplicate_of_name"] == "DSCN0010.jpg"
    stored_now = record_of(svc.store, "shared.jpg")  # type: ignore[arg-type]
    assert stored_now is not None and stored_now.moving_from is None and stored_now.status is Status.DUPLICATE
    status, problem = api.call("POST", f"/api/images/{copy.id}/file-as-duplicate")
    assert status == 409 and "not a copy of a photo in the library" in str(problem)
    status, problem = api.call("POST", f"/api/images/{original.id}/file-as-duplicate")
    assert status == 409


def test_in_place_a_copy_filed_as_a_duplicate_stays_where_it_is(run, tmp_path):
    """`[library] move = false`: the inbox is the user's archive, and nothing in it moves."""
    phone = Phone(tmp_path)
    svc = run(library={"move": False}, viewer={"enabled": True, "port": 0})
    api, original, sent, copy = original_and_copy(svc, phone)
    assert (copy.path, copy.copy_of) == ("shared.jpg", original.id)
    ours = sidecar_path(phone.inbox / "shared.jpg")
    wait_until(ours.is_file, timeout=30, message="the copy's sidecar beside it")

    [filed] = api.post(f"/api/images/{copy.id}/file-as-duplicate")["records"]
    assert (filed["status"], filed["duplicate_of"], filed["path"]) == ("duplicate", original.id, "shared.jpg")
    assert (phone.inbox / "shared.jpg").read_bytes() == sent and ours.is_file()  # where it was, as it was
    assert not svc.folders.duplicates.exists() and not svc.folders.library.exists()
    assert api.get(f"/api/images/{copy.id}")["has_file"] is True


def test_scan_compares_the_photos_with_gps_after_filing_them_and_places_their_copies(tmp_path):
    """`scan` files a photo with GPS without decoding it, then hashes it before it returns: its
    copy, filed in the same scan (before it, by name), is placed; a second scan's copy, at once."""
    config = write_config(tmp_path / "config.toml", settle=0.2)
    inbox = tmp_path / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    image = upright(DSCN)
    (inbox / "A-telegram.jpg").write_bytes(RECIPES["telegram"](image))
    shutil.copyfile(SAMPLES / DSCN, inbox / "B-DSCN0010.jpg")
    done = run_daemon("scan", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("scan: 1 located, 1 unlocated"), done.stdout + done.stderr[-2000:]  # counted as filed
    assert "copies: the pictures of 1 photo(s) filed hashed and compared" in done.stderr
    records = {r.name: r for r in load_records(tmp_path / "geolocator.json").values()}
    original, copy = records["B-DSCN0010.jpg"], records["A-telegram.jpg"]
    assert original.source is Source.EXIF and original.phash and (copy.source, copy.copy_of, copy.lat, copy.lon) == (Source.COPY, original.id, original.lat, original.lon)

    (inbox / "C-web.jpg").write_bytes(RECIPES["web-640-q60"](image))
    again = run_daemon("scan", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.startswith("scan: 1 located"), again.stdout + again.stderr[-2000:]
    later = next(r for r in load_records(tmp_path / "geolocator.json").values() if r.name == "C-web.jpg")
    assert (later.source, later.copy_of) == (Source.COPY, original.id)
