"""The XMP sidecar we write beside a library photo: read back by exiftool (and exiv2, the library
digiKam and darktable use) in every hemisphere, with its uncertainty; our provenance read back by
our reader, the photo's bytes untouched, another program's location never overwritten, anything
that is not XMP left alone. (Merging into sidecars other programs wrote: test_sidecar_merge.py.)"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from exiftool_process import exiftool
from PIL import Image

from geolocator.config import load_config
from geolocator.locate import places
from geolocator.locate.metadata import xmp
from geolocator.locations import sidecar as ls
from geolocator.locations.from_file import file_location
from geolocator.locations.sidecar import Provenance, SidecarLocation, WriteOutcome, location_for, read_sidecar, sidecar_path, write_sidecar
from geolocator.locations.sidecar_sync import Sidecars
from geolocator.record import GpsOrigin, Location, PhotoRecord, Source, Status

EXIFTOOL = shutil.which("exiftool")
WHEN = "2026-05-01T12:00:00Z"


def photo(folder: Path, name: str = "IMG_1.JPG") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    Image.new("RGB", (32, 24), (200, 120, 40)).save(path, quality=90)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ai_location(lat: float, lon: float, altitude: float | None = None, **changes) -> SidecarLocation:
    values = {"source": Source.AI, "written_at": WHEN, "confidence": 0.62, "radius_km": 25.0, "model": "qwen2.5vl", "place": "Rome, Lazio, Italy"} | changes
    return SidecarLocation(lat, lon, altitude, Provenance(**values))


def exiftool_json(*paths: Path) -> list[dict]:
    assert EXIFTOOL, "exiftool is installed with the test dependencies"
    done = exiftool("-n", "-j", "-G1", *map(str, paths))
    return json.loads(done)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


POINTS = [(41.8902, 12.4922, 21.0), (-33.8688197, 151.2092955, -3.25), (40.748817, -73.985428, None), (-22.951916, -43.210487, 710.0)]
rng = random.Random(12)
POINTS += [(rng.uniform(-90, 90), rng.uniform(-180, 180), rng.choice([None, rng.uniform(-400, 8848)])) for _ in range(40)]
POINTS += [(90.0, 180.0, None), (-90.0, -180.0, 0.0), (0.0, 0.5, None), (-0.5, 0.0, None), (1e-7, -1e-7, None), (89.9999999, -179.9999999, None)]


def test_exiftool_reads_the_point_in_every_hemisphere_and_we_read_our_provenance(tmp_path):
    photos = [photo(tmp_path / f"p{i}") for i in range(len(POINTS))]
    for path, (lat, lon, alt) in zip(photos, POINTS, strict=True):
        assert write_sidecar(path, ai_location(lat, lon, alt)) is WriteOutcome.WRITTEN

    readings = exiftool_json(*(sidecar_path(p) for p in photos))
    assert len(readings) == len(POINTS)
    for reading, path, (lat, lon, alt) in zip(readings, photos, POINTS, strict=True):
        assert reading["SourceFile"] == str(sidecar_path(path))
        assert abs(reading["XMP-exif:GPSLatitude"] - lat) < 1e-6, reading
        assert abs(reading["XMP-exif:GPSLongitude"] - lon) < 1e-6, reading
        assert reading["XMP-exif:GPSVersionID"] == "2.3.0.0"
        if alt is None:
            assert "XMP-exif:GPSAltitude" not in reading
        else:
            signed = reading["XMP-exif:GPSAltitude"] * (-1 if reading["XMP-exif:GPSAltitudeRef"] == 1 else 1)
            assert abs(signed - alt) <= 0.005 + 1e-9
        assert reading["XMP-geolocator:Source"] == "ai"
        assert reading["XMP-geolocator:Model"] == "qwen2.5vl"
        assert reading["XMP-geolocator:RadiusKm"] == 25.0
        assert reading["XMP-exif:GPSHPositioningError"] == 25000  # metres

        ours = read_sidecar(sidecar_path(path))
        assert ours is not None and ours.provenance is not None
        assert abs(ours.lat - lat) < 1e-9 and abs(ours.lon - lon) < 1e-9
        assert ours.provenance == Provenance(Source.AI, WHEN, 0.62, 25.0, "qwen2.5vl", "Rome, Lazio, Italy")


@pytest.mark.skipif(shutil.which("exiv2") is None, reason="exiv2 (the library digiKam and darktable read XMP with) is not installed: apt-get install exiv2")
def test_exiv2_converts_it_to_exif_gps_as_digikam_and_darktable_do(tmp_path):
    path = photo(tmp_path)
    write_sidecar(path, ai_location(-33.8688197, -151.2092955, -12.5))
    done = subprocess.run(["exiv2", "-PEkv", str(sidecar_path(path))], capture_output=True, text=True, timeout=60, check=True)
    tags = dict(line.split(None, 1) for line in done.stdout.splitlines())

    def degrees(value: str) -> float:
        d, m, s = (int(a) / int(b) for a, b in (part.split("/") for part in value.split()))
        return d + m / 60 + s / 3600

    assert abs(degrees(tags["Exif.GPSInfo.GPSLatitude"]) - 33.8688197) < 1e-6 and tags["Exif.GPSInfo.GPSLatitudeRef"].strip() == "S"
    assert abs(degrees(tags["Exif.GPSInfo.GPSLongitude"]) - 151.2092955) < 1e-6 and tags["Exif.GPSInfo.GPSLongitudeRef"].strip() == "W"
    assert tags["Exif.GPSInfo.GPSAltitudeRef"].strip() == "1"


def test_no_sidecar_without_its_photo(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_sidecar(tmp_path / "gone.jpg", ai_location(1.0, 2.0))
    assert list(tmp_path.iterdir()) == []


def test_the_photo_bytes_never_change(tmp_path):
    path = photo(tmp_path)
    before, stat_before = sha256(path), path.stat()
    write_sidecar(path, ai_location(10.0, 20.0))
    write_sidecar(path, ai_location(11.0, 21.0, source=Source.MANUAL, model=None, confidence=None, radius_km=None))
    assert sha256(path) == before
    assert path.stat().st_mtime_ns == stat_before.st_mtime_ns and path.stat().st_ino == stat_before.st_ino


def test_our_sidecar_is_merged_when_the_location_changes_and_left_when_it_does_not(tmp_path):
    path = photo(tmp_path)
    assert write_sidecar(path, ai_location(10.0, 20.0)) is WriteOutcome.WRITTEN
    first = sidecar_path(path).read_bytes()
    assert write_sidecar(path, ai_location(10.0, 20.0, written_at="2027-01-01T00:00:00Z")) is WriteOutcome.UNCHANGED
    assert sidecar_path(path).read_bytes() == first

    manual = SidecarLocation(41.8902, 12.4922, None, Provenance(Source.MANUAL, "2026-06-01T00:00:00Z", place="Colosseum, Rome"))
    assert write_sidecar(path, manual) is WriteOutcome.MERGED
    back = read_sidecar(sidecar_path(path))
    assert back is not None and (back.lat, back.lon, back.altitude) == (41.8902, 12.4922, None)
    assert back.provenance == manual.provenance
    assert b"GPSHPositioningError" not in sidecar_path(path).read_bytes()  # a manual fix without a radius says none
    assert leftovers(tmp_path) == []


def foreign_sidecar(path: Path) -> bytes:
    """A sidecar another program wrote (exiftool), with a location of its own."""
    target = sidecar_path(path)
    exiftool("-q", "-o", str(target), "-XMP-exif:GPSLatitude=51.5", "-XMP-exif:GPSLongitude=-0.12", "-XMP-dc:Subject=holiday")
    return target.read_bytes()


def test_a_location_someone_else_wrote_is_never_overwritten(tmp_path, caplog):
    path = photo(tmp_path)
    theirs = foreign_sidecar(path)
    assert b"geolocator" not in theirs
    assert write_sidecar(path, ai_location(10.0, 20.0)) is WriteOutcome.FOREIGN
    assert sidecar_path(path).read_bytes() == theirs
    assert "did not write" in caplog.text
    reading = read_sidecar(sidecar_path(path))
    assert reading is not None and reading.provenance is None
    assert reading.lat == pytest.approx(51.5) and reading.lon == pytest.approx(-0.12)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["garbage", "empty", "symlink", "fifo", "folder", "huge", "claims exif", "dtd", "not xmp", "latin-1"])
def test_anything_else_at_the_sidecar_name_is_left_alone(tmp_path, kind, caplog):
    path = photo(tmp_path)
    target = sidecar_path(path)
    elsewhere = tmp_path / "elsewhere.xmp"
    match kind:
        case "garbage":
            target.write_bytes(b"\x00\xffnot xml at all")
        case "empty":
            target.write_bytes(b"")
        case "symlink":
            write_sidecar(photo(tmp_path / "other"), ai_location(1.0, 2.0))  # even a link to one of ours
            elsewhere = sidecar_path(tmp_path / "other" / "IMG_1.JPG")
            target.symlink_to(elsewhere)
        case "fifo":
            os.mkfifo(target)
        case "folder":
            target.mkdir()
        case "huge":
            ours = ls.render(ai_location(1.0, 2.0))
            target.write_bytes(ours + b" " * ls.MAX_SIDECAR)
        case "claims exif":  # "exif" is said only without a point: this point is not ours
            target.write_bytes(ls.render(ai_location(1.0, 2.0)).replace(b'geolocator:Source="ai"', b'geolocator:Source="exif"'))
        case "dtd":
            target.write_bytes(b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "boom">]>\n' + ls.render(ai_location(1.0, 2.0)).split(b"\n", 1)[1])
        case "not xmp":
            target.write_bytes(b'<?xml version="1.0"?><html><body rdf:RDF="x" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></html>')
        case "latin-1":
            target.write_bytes(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n' + ls.render(ai_location(1.0, 2.0)).split(b"\n", 1)[1].replace(b"geolocator\"", b"g\xe9olocator\""))
    before = target.read_bytes() if kind not in ("symlink", "fifo", "folder") else None
    linked = elsewhere.read_bytes() if kind == "symlink" else None

    expected = WriteOutcome.FOREIGN if kind == "claims exif" else WriteOutcome.UNUSABLE
    assert write_sidecar(path, ai_location(10.0, 20.0)) is expected
    assert "left as it is" in caplog.text
    assert ls.withdraw_sidecar(path, ls.Withdrawal(None, WHEN)) in (WriteOutcome.UNUSABLE, WriteOutcome.MERGED if kind == "claims exif" else None)

    if before is not None and kind != "claims exif":
        assert target.read_bytes() == before
    if kind == "claims exif":  # ours to withdraw: our properties say "none", the point it carries is left
        tags = exiftool_json(target)[0]
        assert tags["XMP-geolocator:Source"] == "none" and tags["XMP-exif:GPSLatitude"] == pytest.approx(1.0), tags
    if linked is not None:
        assert target.is_symlink() and elsewhere.read_bytes() == linked
    assert leftovers(tmp_path) == []


def test_concurrent_syncs_leave_one_whole_sidecar_of_ours(tmp_path):
    """Eight threads bring the same photo's sidecar in step at once, each from its own record (as
    the page, the AI worker and ingest may): the process's one Sidecars lets them take turns."""
    from records import record

    from geolocator.folders import Folders
    from geolocator.record.store import Store

    folders = Folders(tmp_path / "inbox", tmp_path / "library", tmp_path / "failed", tmp_path / "duplicates", tmp_path / "db.json")
    path = photo(tmp_path / "library" / "2024" / "01", "1.jpg")
    start = threading.Barrier(8)
    with Store(folders.database) as store:
        records = store.put_many([record(i + 1, path="2024/01/1.jpg", source=Source.MANUAL, lat=10.0 + i, lon=20.0 + i, sidecar_due=True) for i in range(8)])
        sidecars = Sidecars(store, folders)

        def sync(i: int) -> None:
            start.wait()
            sidecars.sync([records[i]])

        threads = [threading.Thread(target=sync, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(r.sidecar_due for r in store.all())  # every sync done and its intent cleared
    reading = read_sidecar(sidecar_path(path))
    assert reading is not None and reading.provenance is not None and reading.provenance.source is Source.MANUAL
    assert reading.lat is not None and reading.lat - 10.0 in range(8)
    assert leftovers(path.parent) == []


def test_hostile_text_is_escaped_and_bounded(tmp_path):
    path = photo(tmp_path)
    place = 'Café "Zur Post" & <b>Bar</b>\x00\x07\n\tend ' + "é" * 2000
    write_sidecar(path, ai_location(1.0, 2.0, place=place, model="m\udcff'x"))
    reading = read_sidecar(sidecar_path(path))
    assert reading is not None and reading.provenance is not None
    assert reading.provenance.place is not None
    assert reading.provenance.place.startswith('Café "Zur Post" & <b>Bar</b>\n\tend ')
    assert len(reading.provenance.place) == ls.MAX_TEXT
    assert reading.provenance.model == "m'x"
    assert exiftool_json(sidecar_path(path))[0]["XMP-geolocator:Place"].startswith('Café "Zur Post"')


def test_what_is_written_for_a_record():
    base = PhotoRecord(id="a", sha256="a" * 64, name="IMG_1.JPG", path="2024/IMG_1.JPG", status=Status.LOCATED, lat=1.5, lon=2.5, altitude=30.0, place="Somewhere")
    assert location_for(dataclasses.replace(base, source=Source.EXIF), WHEN) is None  # the file has it already
    assert location_for(dataclasses.replace(base, source=None, lat=None, lon=None), WHEN) is None
    estimate = dataclasses.replace(base, source=Source.AI, confidence=0.4, radius_km=80.0, model="qwen2.5vl")
    assert location_for(estimate, WHEN) is None  # [library] sidecars_ai is off by default
    ai = location_for(estimate, WHEN, ai=True)
    assert ai == SidecarLocation(1.5, 2.5, 30.0, Provenance(Source.AI, WHEN, 0.4, 80.0, "qwen2.5vl", "Somewhere"))
    assert location_for(dataclasses.replace(estimate, radius_km=None), WHEN, ai=True) is None  # never an estimate without its error
    manual = location_for(dataclasses.replace(base, source=Source.MANUAL, model="qwen2.5vl"), WHEN)
    assert manual is not None and manual.provenance.model is None  # the model did not place it
    for source in (Source.TRACK, Source.NEARBY):
        written = location_for(dataclasses.replace(base, source=source), WHEN)
        assert written is not None and written.provenance.source is source
    with pytest.raises(ValueError, match="exif"):
        ls.render(SidecarLocation(1.0, 2.0, None, Provenance(Source.EXIF, WHEN)))


def test_the_import_reader_sees_our_point_and_the_source_it_keeps(tmp_path):
    """geolocator.locate.metadata.xmp (the import path) reads the point we wrote beside the photo, and
    restored_source says which source it keeps: ours as written, another program's none."""
    path = photo(tmp_path)
    write_sidecar(path, ai_location(-22.951916, -43.210487, 710.0))
    found = xmp.read_sidecar(path)
    assert found is not None
    fields, packet = found
    assert packet.name == sidecar_path(path).name and packet.data == sidecar_path(path).read_bytes()  # read once, kept for who wrote it
    assert abs(fields.lat - -22.951916) < 1e-9 and abs(fields.lon - -43.210487) < 1e-9 and fields.altitude == 710.0
    assert ls.restored_source(read_sidecar(sidecar_path(path))) is Source.AI

    manual = photo(tmp_path / "manual")
    write_sidecar(manual, SidecarLocation(5.0, 6.0, None, Provenance(Source.MANUAL, WHEN)))
    assert ls.restored_source(read_sidecar(sidecar_path(manual))) is Source.MANUAL

    other = photo(tmp_path / "other")
    foreign_sidecar(other)
    assert ls.restored_source(read_sidecar(sidecar_path(other))) is None
    assert ls.restored_source(None) is None


def test_sidecars_are_on_by_default_but_not_for_ai_estimates(tmp_path):
    defaults = load_config(None, cwd=tmp_path).library
    assert defaults.sidecars is True and defaults.sidecars_ai is False
    (tmp_path / "c.toml").write_text("[library]\nsidecars = false\nsidecars_ai = true\n")
    assert load_config(tmp_path / "c.toml").library == dataclasses.replace(defaults, sidecars=False, sidecars_ai=True)


def test_a_withdrawal_rewrites_only_our_sidecar_and_never_creates_one(tmp_path, caplog):
    # Ours, with a manual point: rewritten to say the file's own location applies, without a point.
    path = photo(tmp_path / "ours")
    before = sha256(path)
    write_sidecar(path, SidecarLocation(41.8902, 12.4922, 21.0, Provenance(Source.MANUAL, WHEN)))
    assert ls.withdraw_sidecar(path, ls.Withdrawal(Source.EXIF, WHEN)) is WriteOutcome.MERGED
    tags = exiftool_json(sidecar_path(path))[0]
    assert tags["XMP-geolocator:Source"] == "exif" and not any(key.startswith("XMP-exif:GPS") for key in tags), tags
    reading = read_sidecar(sidecar_path(path))
    assert reading is not None and reading.lat is None and reading.provenance == Provenance(Source.EXIF, WHEN)
    assert ls.restored_source(reading) is None  # nothing to restore: the file's own metadata counts
    assert ls.withdraw_sidecar(path, ls.Withdrawal(Source.EXIF, "2030-01-01T00:00:00Z")) is WriteOutcome.UNCHANGED
    assert ls.withdraw_sidecar(path, ls.Withdrawal(None, WHEN)) is WriteOutcome.MERGED
    assert exiftool_json(sidecar_path(path))[0]["XMP-geolocator:Source"] == "none"
    # Still ours: a later location replaces it.
    assert write_sidecar(path, ai_location(1.0, 2.0)) is WriteOutcome.MERGED
    assert sha256(path) == before and leftovers(path.parent) == []
    # Nothing there: nothing is created. Another program's: left as it is.
    bare = photo(tmp_path / "bare")
    assert ls.withdraw_sidecar(bare, ls.Withdrawal(None, WHEN)) is WriteOutcome.ABSENT
    assert not sidecar_path(bare).exists()
    other = photo(tmp_path / "other")
    theirs = foreign_sidecar(other)
    caplog.clear()
    assert ls.withdraw_sidecar(other, ls.Withdrawal(Source.EXIF, WHEN)) is WriteOutcome.FOREIGN
    assert sidecar_path(other).read_bytes() == theirs
    assert "did not write" not in caplog.text  # we had nothing to say there: no warning for every such photo
    with pytest.raises(ValueError, match="with its point"):
        ls.withdrawal_values(ls.Withdrawal(Source.AI, WHEN))


def test_what_a_record_withdraws_to():
    base = PhotoRecord(id="a", sha256="a" * 64, name="IMG_1.JPG", path="2024/IMG_1.JPG", status=Status.LOCATED, source=Source.EXIF, lat=1.5, lon=2.5)
    assert ls.withdrawal_for(base, WHEN) == ls.Withdrawal(Source.EXIF, WHEN)
    for status in (Status.UNLOCATED, Status.PENDING):
        assert ls.withdrawal_for(dataclasses.replace(base, status=status, source=None, lat=None, lon=None), WHEN) == ls.Withdrawal(None, WHEN)


def test_an_imported_photo_gets_its_sidecars_source(tmp_path):
    from geolocator.locate.metadata import read_metadata
    from geolocator.record import PhotoMetadata

    def imported(path: Path) -> Location:
        return file_location(read_metadata(path), places.name).location

    estimated = photo(tmp_path / "ai")
    write_sidecar(estimated, ai_location(-22.951916, -43.210487))
    back = imported(estimated)
    assert (back.source, back.confidence, back.radius_km) == (Source.AI, 0.62, 25.0)
    assert file_location(read_metadata(estimated), places.name).model == "qwen2.5vl"
    manual = photo(tmp_path / "manual")
    write_sidecar(manual, SidecarLocation(5.0, 6.0, None, Provenance(Source.MANUAL, WHEN)))
    assert imported(manual).source is Source.MANUAL
    # Another program's sidecar, or ours beside another's NAME.xmp that gave the point: the file's own.
    other = photo(tmp_path / "other")
    foreign_sidecar(other)
    assert imported(other).source is Source.EXIF
    both = photo(tmp_path / "both")
    exiftool("-q", "-o", str(both.with_suffix(".xmp")), "-XMP-exif:GPSLatitude=51.5", "-XMP-exif:GPSLongitude=-0.12")
    write_sidecar(both, SidecarLocation(5.0, 6.0, None, Provenance(Source.MANUAL, WHEN)))
    taken = imported(both)
    assert (taken.source, taken.lat) == (Source.EXIF, pytest.approx(51.5))
    # A point from the file itself is never touched.
    found = file_location(PhotoMetadata(lat=5.0, lon=6.0, gps_origin=GpsOrigin.EXIF), places.name)
    assert (found.location.source, found.decisions) == (Source.EXIF, ())


def test_an_ai_estimate_is_written_only_with_sidecars_ai_and_ours_withdrawn_without(tmp_path):
    from records import record

    from geolocator.folders import Folders
    from geolocator.record.store import Store

    folders = Folders(tmp_path / "inbox", tmp_path / "library", tmp_path / "failed", tmp_path / "duplicates", tmp_path / "db.json")
    path = photo(tmp_path / "library" / "2024" / "01", "1.jpg")
    estimate = record(1, source=Source.AI, lat=41.9, lon=12.5, confidence=0.3, radius_km=350.0, model="qwen2.5vl")
    with Store(folders.database) as store:
        estimate = store.put(estimate)
        Sidecars(store, folders).sync([estimate])  # sidecars_ai off, the default
        assert not sidecar_path(path).exists()
        Sidecars(store, folders, ai=True).sync([estimate])
        tags = exiftool_json(sidecar_path(path))[0]
        assert tags["XMP-geolocator:Source"] == "ai" and tags["XMP-exif:GPSHPositioningError"] == 350000
        Sidecars(store, folders).sync([estimate])  # turned off again: ours no longer states it
        tags = exiftool_json(sidecar_path(path))[0]
        assert tags["XMP-geolocator:Source"] == "none" and "XMP-exif:GPSLatitude" not in tags
        assert store.get(estimate.id) == estimate  # the record keeps the estimate
