"""A photo cut short whose metadata is whole (issue 20 item 2): after `incomplete_seconds`
unchanged it is located from what it says, recorded with a "truncated" warning and filed as
usual; only a file in which nothing can be read is failed as incomplete. `scan` names the files
that wait, and why. Real files: exiftool writes the GPS into a JPEG of random pixels and into a
Panasonic-style raw (a TIFF with the RW2 header), then they are cut in their image data, and
exiftool still reads their GPS, as `locate` does."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest
from configs import make_config, write_config
from expect import wait_until
from photos import Exif, exiftool_photos, exiftool_read, noise_jpeg, raw_tiff
from processes import run_daemon

from geolocator.core import Core
from geolocator.locate.metadata.complete import missing_end
from geolocator.pipeline import NotSettled, Pipeline
from geolocator.record import Source, Status
from geolocator.record.store import Store

pytestmark = [pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool"), pytest.mark.timeout(120)]

PARIS = Exif(48.8584, 2.2945, "2023:05:01 10:00:00")
BLED = Exif(46.3683, 14.1146, "2023:06:02 11:30:00", make="Canon", model="Canon EOS 40D")


def cut_photos(folder, names=("cut.jpg", "cut.rw2")):
    """A JPEG and a raw with GPS, each cut in its image data (its headers whole): name -> bytes."""
    made = exiftool_photos({folder / names[0]: (noise_jpeg(1), PARIS), folder / names[1]: (raw_tiff(2), BLED)})
    cut = {}
    for path, data in made.items():
        path.write_bytes(data[: int(len(data) * 0.7)])
        cut[path.name] = path.read_bytes()
    return cut


def test_exiftool_and_locate_read_the_gps_of_the_cut_files_that_look_cut_short(tmp_path):
    cut_photos(tmp_path)
    jpeg, raw = tmp_path / "cut.jpg", tmp_path / "cut.rw2"
    assert missing_end(jpeg) == "JPEG without its end marker" and missing_end(raw) == "TIFF data past the end of the file"
    truth = {entry["SourceFile"]: entry for entry in exiftool_read(jpeg, raw)}
    assert truth[str(jpeg)]["GPSLatitude"] == pytest.approx(PARIS.lat) and truth[str(raw)]["GPSLongitude"] == pytest.approx(BLED.lon)
    proc = run_daemon("locate", "--no-ai", str(jpeg), str(raw), cwd=tmp_path)
    located = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(round(o["lat"], 4), round(o["lon"], 4)) for o in located] == [(PARIS.lat, PARIS.lon), (BLED.lat, BLED.lon)]


def test_cut_photos_wait_then_are_located_from_their_headers_with_a_warning_and_filed(tmp_path):
    config = make_config(tmp_path, settle=0.1, watch={"incomplete_seconds": 1.0})
    cut = cut_photos(config.paths.inbox)
    with Store(config.paths.database) as store:
        pipeline = Pipeline(Core.build(config, store))
        for name in cut:
            with pytest.raises(NotSettled, match="waiting until it has not changed for 1 s"):
                pipeline.process(config.paths.inbox / name)
        assert len(store) == 0

        def taken(name):
            try:
                return pipeline.process(config.paths.inbox / name)
            except NotSettled:
                return None

        jpeg = wait_until(lambda: taken("cut.jpg"), 10, "the cut JPEG taken once unchanged")
        raw = wait_until(lambda: taken("cut.rw2"), 10, "the cut raw taken once unchanged")
        pipeline.flush()
        for record, exif, why in ((jpeg, PARIS, "JPEG without its end marker"), (raw, BLED, "TIFF data past the end of the file")):
            assert record.status is Status.LOCATED and record.source is Source.EXIF
            assert (record.lat, record.lon) == pytest.approx((exif.lat, exif.lon))
            assert record.warning.startswith(f"truncated: {why} (unchanged for ") and record.error is None
            assert record.path.startswith("2023/") and (config.paths.library / record.path).read_bytes() == cut[record.name]  # filed as usual, its bytes as they came
        assert store.get(raw.id).camera == "Canon EOS 40D" and store.get(jpeg.id).taken_at == "2023-05-01T10:00:00"
        assert not config.paths.failed.exists()  # nothing failed


def test_a_cut_file_with_nothing_readable_is_failed_as_incomplete(tmp_path):
    config = make_config(tmp_path, settle=0.1, watch={"incomplete_seconds": 0.0})
    made = exiftool_photos({tmp_path / "whole.jpg": (noise_jpeg(3), PARIS)})[tmp_path / "whole.jpg"]
    inbox = config.paths.inbox
    inbox.mkdir(parents=True)
    (inbox / "exif-cut.jpg").write_bytes(made[:40])  # cut inside its EXIF: no header is whole
    (inbox / "bare.jpg").write_bytes(noise_jpeg(4)[:3000])  # no metadata at all, its image cut
    with Store(config.paths.database) as store:
        pipeline = Pipeline(Core.build(config, store))
        exif_cut, bare = pipeline.process(inbox / "exif-cut.jpg"), pipeline.process(inbox / "bare.jpg")
        pipeline.flush()
    assert exif_cut.status is Status.FAILED and exif_cut.error.startswith("incomplete: JPEG without its end marker (unchanged for ")
    assert bare.status is Status.FAILED and bare.error.endswith(": nothing in it can be read") and bare.lat is None
    assert sorted(p.name for p in config.paths.failed.iterdir()) == ["bare.jpg", "exif-cut.jpg"]


def test_the_service_files_a_cut_photo_located_and_its_warning_is_in_the_api(service, tmp_path):
    svc = service(settle=0.2, watch={"incomplete_seconds": 1.0}, viewer={"enabled": True, "port": 0})
    staging = tmp_path / "staging"
    staging.mkdir()
    cut = cut_photos(staging)
    for name in cut:
        (staging / name).rename(svc.config.paths.inbox / name)
    records = wait_until(lambda: len([r for r in svc.store.all() if not r.moving_from]) == 2 and svc.store.all(), 20, "both cut photos filed")
    assert {r.name: r.status for r in records} == {"cut.jpg": Status.LOCATED, "cut.rw2": Status.LOCATED}
    record = next(r for r in records if r.name == "cut.rw2")
    with urllib.request.urlopen(f"{svc.map_url}api/images/{record.id}", timeout=10) as answer:
        shown = json.load(answer)
    assert shown["warning"].startswith("truncated: TIFF data past the end of the file") and shown["status"] == "located"


def test_scan_names_the_files_that_wait_and_why_the_first_ten_then_how_many_more(tmp_path):
    config = write_config(tmp_path / "config.toml", settle=0.2)  # incomplete_seconds: 120, the default
    inbox = tmp_path / "inbox"
    whole = exiftool_photos({tmp_path / "whole.jpg": (noise_jpeg(5), PARIS)})[tmp_path / "whole.jpg"]
    inbox.mkdir()
    for n in range(12):
        (inbox / f"cut{n:02}.jpg").write_bytes(whole[: len(whole) // 2] + bytes([n]))
    (inbox / "whole.jpg").write_bytes(whole)
    proc = run_daemon("scan", "--config", str(config), cwd=tmp_path)
    lines = proc.stdout.splitlines()
    assert lines[0] == "scan: 1 located, 0 unlocated, 0 pending, 0 failed, 0 duplicate, 12 left in the inbox:"
    waiting = "waits: JPEG without its end marker: waiting until it has not changed for 120 s"
    assert lines[1:11] == [f"  cut{n:02}.jpg: {waiting}" for n in range(10)]
    assert lines[11:] == ["  and 2 more"]
    assert proc.returncode == 1 and len(list(inbox.iterdir())) == 12
