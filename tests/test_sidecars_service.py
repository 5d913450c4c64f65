"""The XMP sidecar beside every location not read from the file, through the real service: the
AI's estimate (only with `[library] sidecars_ai`), a track's and the neighbours' placements (at
import and after the fact), a manual fix and its revert; sidecars merged, never replaced: edits
made with exiftool, a darktable sidecar that came with its photo, a rating given by another tool
all survive our changes; a sidecar of ours gives its source back on import, and any sidecar its
uncertainty; "Retry now" wakes the AI worker. Real watchdog observers, a real store, real HTTP,
the fake Ollama; every sidecar is read back by exiftool, and the photos' bytes are checked
unchanged."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from configs import make_config, write_config
from exiftool_process import exiftool as run_exiftool
from expect import never, wait_until
from fake_ollama import FakeOllama
from photos import GPS_JPEGS, copy_corpus, write_jpeg
from processes import run_daemon
from test_sidecar_merge import DARKTABLE, inserted, only_ours, theirs
from test_tracks_service import Drop, along, gpx, utc

from geolocator.locations.ai_queue import Backoff
from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import Store, load_records
from geolocator.service import Service

pytestmark = [pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool"), pytest.mark.timeout(120)]

EIFFEL = (48.8584, 2.2945)  # where the fake Ollama's default answer puts a photo


def record(store: Store | None, name: str) -> PhotoRecord | None:
    assert store is not None
    return next((r for r in store.all() if r.name == name and not r.moving_from and r.path), None)


def recorded(store: Store | None, name: str, check=lambda r: True, timeout: float = 20) -> PhotoRecord:
    return wait_until(lambda: (r := record(store, name)) is not None and check(r) and r, timeout, f"{name} recorded as expected")


def sidecar_of(svc: Service, rec: PhotoRecord) -> Path:
    assert rec.path is not None
    return svc.config.paths.library / (rec.path + ".xmp")


def exiftool(path: Path) -> dict:
    done = run_exiftool("-n", "-j", "-G1", "-struct", str(path))
    return json.loads(done)[0]


def said(svc: Service, rec: PhotoRecord, source: str) -> bool:
    """Whether the sidecar beside `rec`'s photo is there and says `source` (for waiting on it)."""
    path = sidecar_of(svc, rec)
    return path.exists() and exiftool(path).get("XMP-geolocator:Source") == source


def says(svc: Service, rec: PhotoRecord, source: str, point: tuple[float, float] | None) -> dict:
    """What exiftool reads in the sidecar beside `rec`'s photo, checked to say `source` and `point`."""
    tags = exiftool(sidecar_of(svc, rec))
    assert tags["XMP-geolocator:Source"] == source, tags
    if point is None:
        assert "XMP-exif:GPSLatitude" not in tags and "XMP-exif:GPSLongitude" not in tags, tags
    else:
        assert abs(tags["XMP-exif:GPSLatitude"] - point[0]) < 1e-6 and abs(tags["XMP-exif:GPSLongitude"] - point[1]) < 1e-6, tags
    return tags


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Api:
    """The map page's JSON API, with the page's token."""

    def __init__(self, svc: Service) -> None:
        assert svc.viewer is not None and svc.map_url is not None
        parts = urlsplit(svc.map_url)
        self.host, self.port = parts.hostname, parts.port
        self.token = svc.viewer.app.config["geolocator.token"]

    def post(self, path: str, body: object = None) -> tuple[int, object]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            data = b"" if body is None else json.dumps(body).encode()
            conn.request("POST", path, body=data, headers={"Content-Type": "application/json", "X-Geolocator-Token": self.token})
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    def ok(self, path: str, body: object = None) -> object:
        status, answer = self.post(path, body)
        assert status == 200, (path, status, answer)
        return answer


@pytest.fixture
def start(tmp_path):
    """`start(root, ai=..., viewer=True, backoff=...)`: the real service on folders under `root`."""
    running: list[Service] = []

    def run(root: Path | None = None, *, viewer: bool = False, backoff: Backoff = Backoff(base=0.05, cap=0.2), **options: object) -> Service:
        sections = {"viewer": {"enabled": True, "port": 0, "tile_url": ""}} if viewer else {}
        svc = Service(make_config(root or tmp_path, settle=0.3, **sections, **options), backoff=backoff).start()  # type: ignore[arg-type]
        running.append(svc)
        return svc

    yield run
    for svc in running:
        svc.stop()


AI_SIDECARS = {"sidecars_ai": True}


def test_the_ai_estimate_is_written_beside_the_photo_and_replaced_by_a_track(start, fake_ollama, tmp_path):
    svc = start(ai=fake_ollama.url, library=AI_SIDECARS)
    drop = Drop(tmp_path)
    drop.photo("mystery.jpg", "2024:06:01 12:30:00", offset="+02:00")
    estimated = recorded(svc.store, "mystery.jpg", lambda r: r.source is Source.AI)
    before = sha256(svc.config.paths.library / str(estimated.path))
    wait_until(lambda: said(svc, estimated, "ai"), 10, "the AI's sidecar")
    tags = says(svc, estimated, "ai", EIFFEL)
    assert tags["XMP-geolocator:Confidence"] == estimated.confidence and tags["XMP-geolocator:RadiusKm"] == estimated.radius_km
    assert tags["XMP-geolocator:Model"] == "qwen2.5vl"
    assert tags["XMP-exif:GPSHPositioningError"] == pytest.approx(estimated.radius_km * 1000)  # type: ignore[operator]
    # A track arriving later is the stronger source: the photo and its sidecar follow it.
    drop.text("walk.gpx", gpx(along(utc("2024-06-01T10:00:00"), 60)))
    placed = recorded(svc.store, "mystery.jpg", lambda r: r.source is Source.TRACK)
    wait_until(lambda: said(svc, placed, "track"), 10, "the sidecar to say track")
    says(svc, placed, "track", (placed.lat, placed.lon))
    assert "XMP-geolocator:Model" not in exiftool(sidecar_of(svc, placed))
    assert sha256(svc.config.paths.library / str(placed.path)) == before


def test_track_and_nearby_placements_at_import_and_after_the_fact_are_written(start, tmp_path):
    svc = start()
    drop = Drop(tmp_path)
    drop.photo("early.jpg", "2024:06:01 12:20:00", offset="+02:00")  # before its track comes
    drop.photo("camera.jpg", "2024:06:01 18:10:00", offset="+02:00")  # before its neighbours come
    drop.photo("gps.jpg", "2024:06:01 09:00:00", offset="+02:00", model="Pixel 8", gps=(48.2, 11.6))
    for name in ("early.jpg", "camera.jpg"):
        assert recorded(svc.store, name).status is Status.UNLOCATED
    gps = recorded(svc.store, "gps.jpg")
    assert gps.source is Source.EXIF and not sidecar_of(svc, gps).exists()  # the file says it: nothing beside it

    drop.text("walk.gpx", gpx(along(utc("2024-06-01T10:00:00"), 60)))
    drop.photo("during.jpg", "2024:06:01 12:40:00", offset="+02:00")  # placed by the track at import
    for name in ("early.jpg", "during.jpg"):
        placed = recorded(svc.store, name, lambda r: r.source is Source.TRACK)
        wait_until(lambda placed=placed: said(svc, placed, "track"), 10, f"{name}'s sidecar")
        says(svc, placed, "track", (placed.lat, placed.lon))
        assert exiftool(sidecar_of(svc, placed))["XMP-geolocator:RadiusKm"] == pytest.approx(placed.radius_km)

    drop.photo("p1.jpg", "2024:06:01 18:00:00", offset="+02:00", model="Pixel 8", gps=(48.137, 11.575))
    drop.photo("p2.jpg", "2024:06:01 18:20:00", offset="+02:00", model="Pixel 8", gps=(48.139, 11.577))
    near = recorded(svc.store, "camera.jpg", lambda r: r.source is Source.NEARBY)
    wait_until(lambda: said(svc, near, "nearby"), 10, "the nearby sidecar")
    says(svc, near, "nearby", (near.lat, near.lon))
    drop.photo("camera2.jpg", "2024:06:01 18:05:00", offset="+02:00")  # placed by its neighbours at import
    near2 = recorded(svc.store, "camera2.jpg", lambda r: r.source is Source.NEARBY)
    wait_until(lambda: said(svc, near2, "nearby"), 10, "the nearby sidecar at import")
    says(svc, near2, "nearby", (near2.lat, near2.lon))
    assert not sidecar_of(svc, recorded(svc.store, "p1.jpg")).exists()


def test_a_revert_rewrites_our_sidecar_to_the_files_own_location_or_none(start, tmp_path):
    svc = start(viewer=True)
    api = Api(svc)
    inbox = tmp_path / "inbox"
    copy_corpus(GPS_JPEGS[0], inbox / "gps.jpg")
    write_jpeg(inbox / "plain.jpg", 7)
    gps, plain = recorded(svc.store, "gps.jpg"), recorded(svc.store, "plain.jpg")
    assert gps.source is Source.EXIF and plain.status is Status.UNLOCATED
    photos = {r.id: svc.config.paths.library / str(r.path) for r in (gps, plain)}
    before = {rid: sha256(path) for rid, path in photos.items()}

    api.ok("/api/locations", {"ids": [gps.id, plain.id], "lat": 41.8902, "lon": 12.4922})
    for rec in (gps, plain):
        says(svc, rec, "manual", (41.8902, 12.4922))

    reverted = api.ok(f"/api/images/{gps.id}/revert")["records"][0]  # type: ignore[index]
    assert reverted["source"] == "exif"
    tags = says(svc, gps, "exif", None)  # the file's own location applies: our sidecar says so, without a point
    assert "XMP-geolocator:WrittenAt" in tags
    back = api.ok(f"/api/images/{plain.id}/revert")["records"][0]  # type: ignore[index]
    assert back["status"] == "unlocated" and back["source"] is None
    says(svc, plain, "none", None)
    # exiftool now reads the GPS photo's point from the photo alone, as before the fix.
    gps_read = exiftool(photos[gps.id])
    assert abs(gps_read["GPS:GPSLatitude"] - (gps.lat or 0)) < 1e-6
    assert {rid: sha256(path) for rid, path in photos.items()} == before
    # Placed by hand again: the withdrawn sidecar, ours, says the new point.
    api.ok("/api/locations", {"ids": [plain.id], "lat": 38.7071, "lon": -9.1355})
    says(svc, plain, "manual", (38.7071, -9.1355))


def test_a_sidecar_of_ours_restores_the_source_on_import(start, fake_ollama, tmp_path):
    first = start(tmp_path / "old", viewer=True, ai=fake_ollama.url, library=AI_SIDECARS)
    api = Api(first)
    write_jpeg(tmp_path / "old" / "inbox" / "estimated.jpg", 11)
    write_jpeg(tmp_path / "old" / "inbox" / "by-hand.jpg", 12)
    estimated = recorded(first.store, "estimated.jpg", lambda r: r.source is Source.AI)
    hand = recorded(first.store, "by-hand.jpg", lambda r: r.source is Source.AI)
    api.ok("/api/locations", {"ids": [hand.id], "lat": -33.8568, "lon": 151.2153})
    wait_until(lambda: said(first, estimated, "ai"), 10, "the AI's sidecar")
    says(first, hand, "manual", (-33.8568, 151.2153))
    old_files = {name: first.config.paths.library / str(rec.path) for name, rec in (("estimated.jpg", estimated), ("by-hand.jpg", hand))}
    first.stop()

    # The library copied to a new machine: photos and their sidecars dropped into a fresh inbox.
    asked = len(fake_ollama.chat_requests)
    staging, new_inbox = tmp_path / "staging", tmp_path / "new" / "inbox"
    staging.mkdir()
    new_inbox.mkdir(parents=True)
    for name, photo in old_files.items():
        for path in (photo.with_name(photo.name + ".xmp"), photo):  # the sidecar first, then its photo
            shutil.copy2(path, staging / path.name.replace(photo.name, name))
            os.replace(staging / path.name.replace(photo.name, name), new_inbox / path.name.replace(photo.name, name))
    second = start(tmp_path / "new", ai=fake_ollama.url, library=AI_SIDECARS)
    manual = recorded(second.store, "by-hand.jpg")
    assert (manual.status, manual.source, manual.lat, manual.lon) == (Status.LOCATED, Source.MANUAL, -33.8568, 151.2153)
    ai = recorded(second.store, "estimated.jpg")
    assert (ai.status, ai.source) == (Status.LOCATED, Source.AI)
    assert (ai.confidence, ai.radius_km, ai.model) == (estimated.confidence, estimated.radius_km, "qwen2.5vl")
    assert any("written by geolocator from the ai source" in d for d in ai.decisions)
    assert len(fake_ollama.chat_requests) == asked  # an estimate kept, not asked again
    # The sidecars came along and still say what they said.
    says(second, manual, "manual", (-33.8568, 151.2153))
    says(second, ai, "ai", (ai.lat, ai.lon))
    assert second.store.counts().get("pending", 0) == 0


def test_retry_now_asks_the_ai_at_once(start, tmp_path):
    with FakeOllama() as fake:
        fake.down()
        svc = start(viewer=True, ai=fake.url, backoff=Backoff(base=600, cap=1800), library=AI_SIDECARS)
        api = Api(svc)
        write_jpeg(tmp_path / "inbox" / "waiting.jpg", 21)
        waiting = recorded(svc.store, "waiting.jpg", lambda r: r.attempts >= 1 and r.retry_at is not None)
        assert waiting.status is Status.PENDING
        fake.up()
        # Ollama is back, but the photo's retry is 10 min away and the next probe 30 s: nothing yet.
        never(lambda: svc.store.get(waiting.id).status is not Status.PENDING, 1.5, what="the photo asked before Retry now")  # type: ignore[union-attr]
        api.ok(f"/api/images/{waiting.id}/retry")
        placed = wait_until(lambda: (r := svc.store.get(waiting.id)) is not None and r.status is Status.LOCATED and r, 2.5, "the photo asked at once")
        assert placed.source is Source.AI and (placed.lat, placed.lon) == EIFFEL
        wait_until(lambda: sidecar_of(svc, placed).exists(), 5, "its sidecar")
        svc.stop()


def test_scan_writes_the_ai_estimates_sidecar(fake_ollama, tmp_path):
    config = write_config(tmp_path / "config.toml", ai=fake_ollama.url, settle=0.2, library=AI_SIDECARS)
    write_jpeg(tmp_path / "inbox" / "mystery.jpg", 31)
    done = run_daemon("scan", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    (estimated,) = load_records(tmp_path / "geolocator.json").values()
    assert estimated.source is Source.AI and estimated.path is not None
    tags = exiftool(tmp_path / "library" / (estimated.path + ".xmp"))
    assert tags["XMP-geolocator:Source"] == "ai" and abs(tags["XMP-exif:GPSLatitude"] - EIFFEL[0]) < 1e-6


def test_ai_estimates_get_no_sidecar_unless_asked(start, fake_ollama, tmp_path):
    svc = start(viewer=True, ai=fake_ollama.url)
    write_jpeg(tmp_path / "inbox" / "mystery.jpg", 41)
    estimated = recorded(svc.store, "mystery.jpg", lambda r: r.source is Source.AI)
    # A manual fix on another photo is written at once: by then the estimate's sync has been done too.
    write_jpeg(tmp_path / "inbox" / "other.jpg", 42)
    other = recorded(svc.store, "other.jpg", lambda r: r.source is Source.AI)
    Api(svc).ok("/api/locations", {"ids": [other.id], "lat": 38.7071, "lon": -9.1355})
    says(svc, other, "manual", (38.7071, -9.1355))
    assert not sidecar_of(svc, estimated).exists()


def test_scenario_a_exiftool_edits_survive_a_manual_fix(start, tmp_path):
    """Issue 16, 1 (a): a photo placed by a track; rating, keyword and caption added to its
    sidecar with exiftool; then a manual fix."""
    svc = start(viewer=True)
    drop = Drop(tmp_path)
    drop.text("walk.gpx", gpx(along(utc("2024-06-01T10:00:00"), 60)))
    drop.photo("during.jpg", "2024:06:01 12:40:00", offset="+02:00")
    placed = recorded(svc.store, "during.jpg", lambda r: r.source is Source.TRACK)
    wait_until(lambda: said(svc, placed, "track"), 10, "the track's sidecar")
    assert exiftool(sidecar_of(svc, placed))["XMP-exif:GPSHPositioningError"] == pytest.approx(placed.radius_km * 1000)  # type: ignore[operator]
    run_exiftool("-XMP-xmp:Rating=5", "-XMP-dc:Subject+=KEYWORD", "-XMP-dc:Description=caption", str(sidecar_of(svc, placed)))

    Api(svc).ok("/api/locations", {"ids": [placed.id], "lat": 41.8902, "lon": 12.4922})

    tags = says(svc, placed, "manual", (41.8902, 12.4922))
    assert (tags["XMP-xmp:Rating"], tags["XMP-dc:Subject"], tags["XMP-dc:Description"]) == (5, ["KEYWORD"], "caption")
    assert "XMP-exif:GPSHPositioningError" not in tags and "XMP-geolocator:RadiusKm" not in tags


def test_scenario_b_a_darktable_sidecar_takes_our_location_and_keeps_its_history_through_a_revert(start, tmp_path):
    """Issue 16, 2 and 1 (b): a photo arrives with darktable's sidecar (no GPS); placed by hand,
    our point goes into that sidecar; reverted, only our point leaves it."""
    svc = start(viewer=True)
    staging = tmp_path / "staging"
    staging.mkdir()
    shutil.copyfile(DARKTABLE, staging / "plain.jpg.xmp")
    write_jpeg(staging / "plain.jpg", 51)
    for name in ("plain.jpg.xmp", "plain.jpg"):
        os.replace(staging / name, tmp_path / "inbox" / name)
    plain = recorded(svc.store, "plain.jpg", lambda r: bool(r.sidecars))
    assert plain.status is Status.UNLOCATED
    darktable = sidecar_of(svc, plain)
    original, before = darktable.read_bytes(), exiftool(darktable)
    assert original == DARKTABLE.read_bytes()

    Api(svc).ok("/api/locations", {"ids": [plain.id], "lat": 45.4408, "lon": 12.3155})
    says(svc, plain, "manual", (45.4408, 12.3155))
    only_ours(inserted(original, darktable.read_bytes()))
    assert theirs(exiftool(darktable)) == theirs(before)

    Api(svc).ok(f"/api/images/{plain.id}/revert")
    says(svc, plain, "none", None)
    only_ours(inserted(original, darktable.read_bytes()))
    assert theirs(exiftool(darktable)) == theirs(before) and exiftool(darktable)["XMP-darktable:History"] == before["XMP-darktable:History"]
    assert sorted(p.name for p in darktable.parent.iterdir()) == ["plain.jpg", "plain.jpg.xmp"]


def test_scenario_c_a_rating_from_another_tool_survives_a_track_arriving(start, tmp_path):
    """Issue 16, 1 (c): a photo placed by its neighbours gets a rating from another tool; then a
    GPX covering it arrives and places it anew."""
    svc = start()
    drop = Drop(tmp_path)
    drop.photo("p1.jpg", "2024:06:01 18:00:00", offset="+02:00", model="Pixel 8", gps=(48.137, 11.575))
    drop.photo("p2.jpg", "2024:06:01 18:20:00", offset="+02:00", model="Pixel 8", gps=(48.139, 11.577))
    drop.photo("camera.jpg", "2024:06:01 18:10:00", offset="+02:00")
    near = recorded(svc.store, "camera.jpg", lambda r: r.source is Source.NEARBY)
    wait_until(lambda: said(svc, near, "nearby"), 10, "the nearby sidecar")
    run_exiftool("-q", "-overwrite_original", "-XMP-xmp:Rating=4", "-XMP-xmp:Label=Blue", str(sidecar_of(svc, near)))

    drop.text("evening.gpx", gpx(along(utc("2024-06-01T15:30:00"), 60)))
    placed = recorded(svc.store, "camera.jpg", lambda r: r.source is Source.TRACK)
    wait_until(lambda: said(svc, placed, "track"), 10, "the sidecar to say track")
    tags = says(svc, placed, "track", (placed.lat, placed.lon))
    assert (tags["XMP-xmp:Rating"], tags["XMP-xmp:Label"]) == (4, "Blue")


def test_the_uncertainty_in_a_sidecar_is_read_on_import(start, tmp_path):
    svc = start()
    staging = tmp_path / "staging"
    write_jpeg(staging / "walked.jpg", 61)
    subprocess.run(
        ["exiftool", "-q", "-o", str(staging / "walked.xmp"), "-XMP-exif:GPSLatitude=51.5", "-XMP-exif:GPSLongitude=-0.12", "-XMP-exif:GPSHPositioningError=30"],
        check=True,
        timeout=60,
    )
    for name in ("walked.xmp", "walked.jpg"):
        os.replace(staging / name, tmp_path / "inbox" / name)
    walked = recorded(svc.store, "walked.jpg", lambda r: bool(r.sidecars))
    assert (walked.source, walked.lat, walked.radius_km) == (Source.EXIF, 51.5, 0.03)


def test_a_sidecar_arriving_after_its_photo_takes_the_name_other_programs_link_and_gets_our_location(start, tmp_path):
    """Issue 16, 6: the photo is filed and placed by a track (our sidecar beside it); later its
    own sidecar arrives in the inbox (another program's: a rating, no GPS). It becomes the photo's
    `NAME.EXT.xmp`, not `NAME.EXT-2.xmp`, with every byte of it kept and our location merged in.
    Beside a photo whose sidecar is another program's, an arrival is never put in its place."""
    svc = start()
    drop = Drop(tmp_path)
    drop.text("walk.gpx", gpx(along(utc("2024-06-01T10:00:00"), 60)))
    drop.photo("later.jpg", "2024:06:01 12:40:00", offset="+02:00")
    placed = recorded(svc.store, "later.jpg", lambda r: r.source is Source.TRACK)
    wait_until(lambda: said(svc, placed, "track"), 10, "our sidecar")
    theirs_file = tmp_path / "staging" / "later.jpg.xmp"
    run_exiftool("-q", "-o", str(theirs_file), "-XMP-xmp:Rating=3", "-XMP-dc:Description=sunset")
    arrived = theirs_file.read_bytes()
    os.replace(theirs_file, tmp_path / "inbox" / "later.jpg.xmp")
    joined = recorded(svc.store, "later.jpg", lambda r: len(r.sidecars) == 1 and r.sidecars[0].endswith("later.jpg.xmp") and not r.sidecar_due and not r.sidecar_moves)
    folder = (svc.config.paths.library / str(joined.path)).parent
    assert sorted(p.name for p in folder.iterdir()) == ["later.jpg", "later.jpg.xmp"]
    tags = says(svc, joined, "track", (joined.lat, joined.lon))
    assert (tags["XMP-xmp:Rating"], tags["XMP-dc:Description"]) == (3, "sunset")
    only_ours(inserted(arrived, sidecar_of(svc, joined).read_bytes()))  # theirs whole, ours added

    staging = tmp_path / "staging"
    shutil.copyfile(DARKTABLE, staging / "dt.jpg.xmp")
    write_jpeg(staging / "dt.jpg", 52)
    for name in ("dt.jpg.xmp", "dt.jpg"):
        os.replace(staging / name, tmp_path / "inbox" / name)
    dt = recorded(svc.store, "dt.jpg", lambda r: bool(r.sidecars))
    shutil.copyfile(DARKTABLE, staging / "dt.jpg.xmp")
    os.replace(staging / "dt.jpg.xmp", tmp_path / "inbox" / "dt.jpg.xmp")
    second = recorded(svc.store, "dt.jpg", lambda r: len(r.sidecars) == 2 and not r.sidecar_moves)
    assert (svc.config.paths.library / second.sidecars[0]).read_bytes() == DARKTABLE.read_bytes()  # never replaced
    assert second.sidecars[1].endswith("dt-2.jpg.xmp") or second.sidecars[1].endswith("dt.jpg-2.xmp")
    assert dt.id == second.id


def test_a_photo_whose_name_leaves_no_room_for_a_sidecar_is_filed_under_a_shorter_name_and_says_so(start, tmp_path):
    """Issue 16, 6: a 253-byte name (the filesystem allows 255) would leave its sidecar name 257
    bytes long (ENAMETOOLONG): the photo is filed shortened, the record says so, the sidecar fits."""
    svc = start()
    drop = Drop(tmp_path)
    drop.text("walk.gpx", gpx(along(utc("2024-06-01T10:00:00"), 60)))
    recorded(svc.store, "walk.gpx")  # the track first: the photo is placed as it is filed
    long_name = "é" * 100 + "x" * 49 + ".jpg"
    assert len(long_name.encode()) == 253
    shot = write_jpeg(tmp_path / "staging" / "shot.jpg", 53)
    run_exiftool("-q", "-overwrite_original", "-DateTimeOriginal=2024:06:01 12:40:00", "-OffsetTimeOriginal=+02:00", str(shot))
    os.replace(shot, tmp_path / "inbox" / long_name)  # exiftool cannot write beside a name this long
    placed = recorded(svc.store, long_name, lambda r: r.source is Source.TRACK)
    filed = svc.config.paths.library / str(placed.path)
    assert filed.is_file() and len(filed.name.encode()) <= 251 and filed.name.endswith(".jpg") and placed.name == long_name
    assert any(d.startswith("its name was shortened to") and filed.name in d for d in placed.decisions), placed.decisions
    wait_until(lambda: said(svc, placed, "track"), 10, "its sidecar")
    assert sidecar_of(svc, placed).name == filed.name + ".xmp"
