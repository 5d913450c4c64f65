"""Sidecars are merged, never replaced: our location goes into the sidecar that is there (ours
edited by exiftool, a real darktable sidecar, digiKam's, Lightroom's NAME.xmp beside a raw) and
every byte of theirs stays; another program's GPS is never overwritten; a withdrawal takes out
only what we wrote. exiftool and exiv2 (the library digiKam and darktable read XMP with) read
every field back. The merge itself (geolocator.locations.xmp_merge) on both RDF forms, wrappers,
prefixes and refusals."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from corpus import CORPUS
from exiftool_process import exiftool as run_exiftool
from PIL import Image
from test_location_sidecar import WHEN, leftovers, photo

from geolocator.locate import places
from geolocator.locate.metadata import read_metadata
from geolocator.locations import sidecar as ls
from geolocator.locations import xmp_merge
from geolocator.locations.from_file import file_location
from geolocator.locations.sidecar import Provenance, SidecarLocation, WriteOutcome, read_sidecar, withdraw_sidecar, write_sidecar
from geolocator.record import Source

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None or shutil.which("exiv2") is None, reason="needs exiftool and exiv2")

DARKTABLE = CORPUS / "sidecars" / "darktable" / "DSC_9034.NEF.xmp"
FIXTURES = Path(__file__).parent / "fixtures" / "sidecars"
DIGIKAM = FIXTURES / "digikam-IMG_2041.JPG.xmp"
LIGHTROOM = FIXTURES / "lightroom-IMG_0001.xmp"
EXIF = "http://ns.adobe.com/exif/1.0/"
OURS = ls.NAMESPACE
# What exiftool reports that a merge may change: our namespace, the GPS, and the file itself.
CHANGEABLE = ("SourceFile", "System:", "ExifTool:", "XMP-geolocator:", "XMP-exif:GPS", "Composite:GPS")


def track(lat: float, lon: float, radius_km: float = 0.05) -> SidecarLocation:
    return SidecarLocation(lat, lon, 520.0, Provenance(Source.TRACK, WHEN, radius_km=radius_km, place="Marienplatz, Munich"))


def manual(lat: float, lon: float) -> SidecarLocation:
    return SidecarLocation(lat, lon, None, Provenance(Source.MANUAL, "2026-05-02T08:00:00Z"))


def exiftool(path: Path) -> dict:
    done = run_exiftool("-n", "-j", "-G1", "-struct", str(path))
    return json.loads(done)[0]


def theirs(tags: dict) -> dict:
    """What exiftool reads that is not ours to change."""
    return {key: value for key, value in tags.items() if not key.startswith(CHANGEABLE)}


def exiv2(path: Path) -> dict[str, str]:
    """exiv2's reading of an XMP sidecar: {"Xmp.exif.GPSLatitude": "48,8.22000000N", ...}."""
    done = subprocess.run(["exiv2", "-px", str(path)], capture_output=True, text=True, timeout=60, check=True)
    rows = [line.split(None, 3) for line in done.stdout.splitlines() if line.strip()]
    return {row[0]: row[3] if len(row) == 4 else "" for row in rows}


def inserted(original: bytes, merged: bytes) -> bytes:
    """What `merged` adds to `original`, checked to be one insertion: every byte of `original`
    is there, in order, unchanged around it."""
    head = common_start(original, merged)
    tail = common_start(original[head:][::-1], merged[head:][::-1])
    assert head + tail == len(original), f"not a pure insertion: differs from byte {head} to {len(original) - tail}"
    return merged[head : len(merged) - tail]


OUR_ATTRIBUTES = re.compile(r'(\s+(xmlns:geolocator|xmlns:exif|geolocator:\w+|exif:GPS\w+)="[^"<]*")*')


def common_start(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def only_ours(text: bytes) -> None:
    """`text` (an insertion) holds our properties and namespace declarations, and nothing else."""
    assert OUR_ATTRIBUTES.fullmatch(text.decode()), text


def copy(source: Path, dest: Path) -> bytes:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
    dest.chmod(0o644)  # the corpus is read-only
    return dest.read_bytes()


def raw(folder: Path, name: str) -> Path:
    """A raw-like photo (a TIFF, as DNG is): only its name matters to which sidecar it takes."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    Image.new("RGB", (16, 12), (90, 140, 200)).save(path, format="TIFF")
    return path


# -- scenario (a): our sidecar edited with exiftool, then a manual fix ---------------------------------------


def test_exiftool_edits_in_our_sidecar_survive_a_manual_fix(tmp_path):
    path = photo(tmp_path, "IMG.jpg")
    assert write_sidecar(path, track(48.137, 11.575)) is WriteOutcome.WRITTEN
    target = ls.sidecar_path(path)
    # The exact command of the issue: exiftool rewrites the whole file in its own form (our
    # properties become elements, one rdf:Description per namespace).
    run_exiftool("-XMP-xmp:Rating=5", "-XMP-dc:Subject+=KEYWORD", "-XMP-dc:Description=caption", str(target))
    edited = target.read_bytes()
    assert b"<exif:GPSLatitude>" in edited and b"<geolocator:Source>track</geolocator:Source>" in edited

    assert write_sidecar(path, manual(41.8902, 12.4922)) is WriteOutcome.MERGED

    tags = exiftool(target)
    assert tags["XMP-xmp:Rating"] == 5 and tags["XMP-dc:Subject"] == ["KEYWORD"] and tags["XMP-dc:Description"] == "caption", tags
    assert tags["XMP-exif:GPSLatitude"] == pytest.approx(41.8902, abs=1e-7) and tags["XMP-exif:GPSLongitude"] == pytest.approx(12.4922, abs=1e-7)
    assert tags["XMP-geolocator:Source"] == "manual"
    for gone in ("XMP-exif:GPSAltitude", "XMP-exif:GPSHPositioningError", "XMP-geolocator:RadiusKm", "XMP-geolocator:Place"):
        assert gone not in tags, gone  # the track's, not the manual fix's
    assert theirs(tags) == theirs(exiftool_reading_of(edited, tmp_path))
    # Changed in place, element for element: exiftool's layout around them is the same.
    after = target.read_bytes()
    assert after.count(b"<rdf:Description") == edited.count(b"<rdf:Description")
    assert b"<exif:GPSLatitude>41,53.41200000N</exif:GPSLatitude>" in after
    assert exiv2(target)["Xmp.xmp.Rating"] == "5" and exiv2(target)["Xmp.geolocator.Source"] == "manual"
    assert (read_sidecar(target) or pytest.fail("unread")).provenance == manual(0, 0).provenance
    assert leftovers(tmp_path) == []


def exiftool_reading_of(data: bytes, folder: Path) -> dict:
    path = folder / "reading" / "copy.xmp"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return exiftool(path)


# -- darktable: item 2 (its sidecar blocked ours) and scenario (b) (a revert lost its history) ------------------


def test_a_real_darktable_sidecar_takes_our_location_and_keeps_every_byte(tmp_path):
    path = raw(tmp_path, "DSC_9034.NEF")
    target = ls.sidecar_path(path)
    original = copy(DARKTABLE, target)
    before = exiftool(target)
    assert "XMP-exif:GPSLatitude" not in before and before["XMP-darktable:History"]

    assert write_sidecar(path, track(-33.8688197, 151.2092955, 0.12)) is WriteOutcome.MERGED

    merged = target.read_bytes()
    only_ours(inserted(original, merged))
    tags = exiftool(target)
    assert theirs(tags) == theirs(before)  # rating, keywords, history, masks: all as darktable wrote them
    assert tags["XMP-exif:GPSLatitude"] == pytest.approx(-33.8688197, abs=1e-7) and tags["XMP-exif:GPSLongitude"] == pytest.approx(151.2092955, abs=1e-7)
    assert tags["XMP-exif:GPSHPositioningError"] == 120 and tags["XMP-geolocator:Source"] == "track"
    read = exiv2(target)
    assert read["Xmp.exif.GPSLatitude"] == "33,52.12918200S" and read["Xmp.darktable.history_end"] == "14" and read["Xmp.xmp.Rating"] == "1"
    assert read["Xmp.darktable.history[14]/darktable:operation"] == "diffuse"
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".xmp")] == [target]  # no second sidecar

    # Withdrawn (the photo's location reverted): our point goes, our Source says so, theirs stays.
    assert withdraw_sidecar(path, ls.Withdrawal(None, WHEN)) is WriteOutcome.MERGED
    after = target.read_bytes()
    only_ours(inserted(original, after))
    assert b"GPS" not in inserted(original, after)
    assert theirs(exiftool(target)) == theirs(before) and "XMP-exif:GPSLatitude" not in exiftool(target)


def darktable_with_ours(dest: Path) -> bytes:
    """The real darktable sidecar carrying our Source and GPS, as darktable keeps them when it
    rewrites a sidecar of ours (attributes of its rdf:Description, our namespace declared there)."""
    text = DARKTABLE.read_bytes().replace(
        b'   darktable:history_current_hash="8604fa717d05e35f32726ff3a8ccaf3b">',
        b'   darktable:history_current_hash="8604fa717d05e35f32726ff3a8ccaf3b"\n'
        b'   xmlns:geolocator="http://geolocator.invalid/ns/1.0/"\n'
        b'   exif:GPSVersionID="2.3.0.0"\n   exif:GPSLatitude="41,53.41200000N"\n   exif:GPSLongitude="12,29.53200000E"\n'
        b'   exif:GPSMapDatum="WGS-84"\n   geolocator:Source="manual"\n   geolocator:WrittenAt="2026-05-02T08:00:00Z">',
    )
    assert text != DARKTABLE.read_bytes()
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(text)
    return text


def test_a_revert_in_a_darktable_sidecar_carrying_ours_keeps_its_history(tmp_path):
    path = raw(tmp_path, "DSC_9034.NEF")
    target = ls.sidecar_path(path)
    darktable_with_ours(target)
    reading = read_sidecar(target)
    assert reading is not None and reading.provenance is not None and reading.provenance.source is Source.MANUAL
    before = exiftool(target)

    assert withdraw_sidecar(path, ls.Withdrawal(Source.EXIF, WHEN)) is WriteOutcome.MERGED

    after = target.read_bytes()
    only_ours(inserted(DARKTABLE.read_bytes(), after))  # exactly darktable's bytes, plus our Source and time
    tags = exiftool(target)
    assert theirs(tags) == theirs(before)
    assert tags["XMP-geolocator:Source"] == "exif" and not any(key.startswith("XMP-exif:GPS") for key in tags)
    assert withdraw_sidecar(path, ls.Withdrawal(Source.EXIF, "2030-01-01T00:00:00Z")) is WriteOutcome.UNCHANGED
    # Placed again: our point goes back into it; still one sidecar, darktable's history intact.
    assert write_sidecar(path, manual(45.4408, 12.3155)) is WriteOutcome.MERGED
    assert theirs(exiftool(target)) == theirs(before) and exiftool(target)["XMP-exif:GPSLatitude"] == pytest.approx(45.4408)


# -- digiKam -----------------------------------------------------------------------------------------------


def test_a_digikam_sidecar_takes_our_location_and_keeps_its_tags(tmp_path):
    path = photo(tmp_path, "IMG_2041.JPG")
    target = ls.sidecar_path(path)
    original = copy(DIGIKAM, target)
    before = exiftool(target)

    assert write_sidecar(path, track(48.8584, 2.2945)) is WriteOutcome.MERGED

    only_ours(inserted(original, target.read_bytes()))
    assert target.read_bytes().startswith(original[: original.index(b"<x:xmpmeta")])  # the xpacket wrapper
    assert target.read_bytes().endswith(b'<?xpacket end="w"?>\n')
    tags = exiftool(target)
    assert theirs(tags) == theirs(before)
    assert tags["XMP-digiKam:TagsList"] == ["Places/Rome", "Family", "Color Label/Green"] and tags["XMP-microsoft:RatingPercent"] == 75
    assert tags["XMP-exif:GPSLatitude"] == pytest.approx(48.8584, abs=1e-7)
    read = exiv2(target)
    assert read["Xmp.digiKam.TagsList"] == "Places/Rome, Family, Color Label/Green" and read["Xmp.MicrosoftPhoto.Rating"] == "75"
    assert read["Xmp.exif.GPSLongitude"] == "2,17.67000000E" and read["Xmp.geolocator.Source"] == "track"


def test_another_programs_gps_is_never_overwritten_nor_withdrawn(tmp_path, caplog):
    path = photo(tmp_path, "IMG_2041.JPG")
    target = ls.sidecar_path(path)
    with_gps = DIGIKAM.read_bytes().replace(b'   MicrosoftPhoto:Rating="75">', b'   MicrosoftPhoto:Rating="75"\n   exif:GPSLatitude="41,53.4120N"\n   exif:GPSLongitude="12,29.5320E">')
    target.write_bytes(with_gps)

    assert write_sidecar(path, manual(48.8584, 2.2945)) is WriteOutcome.FOREIGN
    assert "did not write" in caplog.text
    assert withdraw_sidecar(path, ls.Withdrawal(None, WHEN)) is WriteOutcome.FOREIGN
    assert target.read_bytes() == with_gps
    # Read on import as the file's own location, as before.
    assert ls.restored_source(read_sidecar(target)) is None
    assert read_metadata(path).lat == pytest.approx(41.8902)


# -- Lightroom's NAME.xmp beside a raw --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["IMG_0001.dng", "IMG_0001.CR2"])
def test_lightrooms_name_xmp_beside_a_raw_is_merged_not_doubled(tmp_path, name):
    path = raw(tmp_path, name)
    target = tmp_path / "IMG_0001.xmp"
    original = copy(LIGHTROOM, target)
    before = exiftool(target)

    assert write_sidecar(path, track(43.7696, 11.2558)) is WriteOutcome.MERGED

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "IMG_0001.xmp"])
    only_ours(inserted(original, target.read_bytes()))
    tags = exiftool(target)
    assert theirs(tags) == theirs(before) and tags["XMP-crs:Exposure2012"] == "+0.35" and tags["XMP-crs:ToneCurvePV2012"] == ["0, 0", "255, 255"]
    assert exiv2(target)["Xmp.crs.HasCrop"] == "True" and exiv2(target)["Xmp.geolocator.Source"] == "track"
    # On import its point and our provenance are read from it.
    back = file_location(read_metadata(path), places.name).location
    assert (back.source, back.lat, back.radius_km) == (Source.TRACK, pytest.approx(43.7696), 0.05)


def test_a_name_xmp_shared_by_a_raw_and_its_jpeg_is_left_to_them(tmp_path):
    jpeg = photo(tmp_path, "IMG_0001.JPG")
    raw(tmp_path, "IMG_0001.CR2")
    shared = tmp_path / "IMG_0001.xmp"
    original = copy(LIGHTROOM, shared)

    assert write_sidecar(jpeg, track(43.7696, 11.2558)) is WriteOutcome.WRITTEN

    assert shared.read_bytes() == original
    assert exiftool(ls.sidecar_path(jpeg))["XMP-geolocator:Source"] == "track"


# -- which file, and how it is written -----------------------------------------------------------------------------


def test_the_sidecar_carrying_ours_is_the_one_kept_in_step(tmp_path):
    path = raw(tmp_path, "IMG_0001.dng")
    lightroom = tmp_path / "IMG_0001.xmp"
    copy(LIGHTROOM, lightroom)
    assert write_sidecar(path, track(43.7696, 11.2558)) is WriteOutcome.MERGED
    # darktable then opens the raw and writes its own NAME.EXT.xmp: ours stays in Lightroom's.
    darktable = copy(DARKTABLE, ls.sidecar_path(path))
    assert write_sidecar(path, manual(43.7731, 11.2560)) is WriteOutcome.MERGED
    assert ls.sidecar_path(path).read_bytes() == darktable
    assert exiftool(lightroom)["XMP-geolocator:Source"] == "manual"


def test_a_merge_keeps_the_sidecars_permissions_and_leaves_no_temporary_files(tmp_path):
    path = raw(tmp_path, "DSC_9034.NEF")
    target = ls.sidecar_path(path)
    copy(DARKTABLE, target)
    target.chmod(0o600)
    inode = target.stat().st_ino
    assert write_sidecar(path, track(1.0, 2.0)) is WriteOutcome.MERGED
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_ino != inode  # a new file renamed over it: never half-written in place
    assert leftovers(tmp_path) == []


def test_the_uncertainty_is_written_in_metres_and_read_back_on_import(tmp_path):
    path = photo(tmp_path / "ours", "IMG.jpg")
    estimate = SidecarLocation(41.9, 12.5, None, Provenance(Source.AI, WHEN, confidence=0.3, radius_km=350.0, model="qwen2.5vl", place="Italy"))
    write_sidecar(path, estimate)
    assert exiftool(ls.sidecar_path(path))["XMP-exif:GPSHPositioningError"] == 350000
    assert read_metadata(path).gps_error_m == 350000
    # Ours without RadiusKm (another tool dropped it): the error gives the radius back.
    stripped = ls.sidecar_path(path).read_bytes().replace(b'\n    geolocator:RadiusKm="350.0"', b"")
    ls.sidecar_path(path).write_bytes(stripped)
    back = file_location(read_metadata(path), places.name).location
    assert (back.source, back.radius_km) == (Source.AI, 350.0)
    # Another program's point with its error: the file's own location, with that radius.
    other = photo(tmp_path / "other", "IMG.jpg")
    subprocess.run(
        ["exiftool", "-q", "-o", str(ls.sidecar_path(other)), "-XMP-exif:GPSLatitude=51.5", "-XMP-exif:GPSLongitude=-0.12", "-XMP-exif:GPSHPositioningError=30"],
        check=True,
        timeout=60,
    )
    theirs_back = file_location(read_metadata(other), places.name).location
    assert (theirs_back.source, theirs_back.radius_km) == (Source.EXIF, 0.03)


# -- the merge itself ------------------------------------------------------------------------------------------

RDF_OPEN = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
RDF_CLOSE = b"</rdf:RDF></x:xmpmeta>"


def merge(data: bytes, values: dict[tuple[str, str], str]) -> bytes:
    return xmp_merge.merge(data, values, ls._manages_ours_and_gps, {EXIF: "exif", OURS: "geolocator"})


def test_values_change_where_they_are_written_in_either_form_and_nothing_else(tmp_path):
    data = (
        RDF_OPEN + b"<rdf:Description rdf:about='' xmlns:exif='http://ns.adobe.com/exif/1.0/' xmlns:g='" + OURS.encode() + b"'"
        b" g:Source='track' exif:GPSAltitude='1/1'>\n"
        b"  <exif:GPSLatitude>1,0N</exif:GPSLatitude>\n"
        b"  <exif:GPSLongitude><rdf:Alt><rdf:li xml:lang='x-default'>2,0E</rdf:li></rdf:Alt></exif:GPSLongitude>\n"
        b"  <!-- kept --><exif:GPSMapDatum/>\n"
        b"</rdf:Description>" + RDF_CLOSE
    )
    out = merge(data, {(EXIF, "GPSLatitude"): "5,0N", (EXIF, "GPSLongitude"): "6,0E", (OURS, "Source"): 'manual "&" <x>'})
    # In place: the element's text, the attribute's value (in its own quotes, escaped); the
    # structure and the empty element, not simple values, are replaced by attributes; the
    # altitude we no longer say is gone.
    assert b"<exif:GPSLatitude>5,0N</exif:GPSLatitude>" in out
    assert b"g:Source='manual &quot;&amp;&quot; &lt;x&gt;'" in out
    assert b"rdf:Alt" not in out and b"GPSMapDatum" not in out and b"GPSAltitude" not in out
    assert b'exif:GPSLongitude="6,0E"' in out and b"<!-- kept -->" in out
    assert xmp_merge.scan(out).values() == {(EXIF, "GPSLatitude"): "5,0N", (EXIF, "GPSLongitude"): "6,0E", (OURS, "Source"): 'manual "&" <x>'}
    assert exiftool_reading_of(out, tmp_path)["XMP-g:Source"] == 'manual "&" <x>'


def test_new_properties_go_beside_ours_using_the_prefixes_in_scope():
    # exiftool's layout: one rdf:Description per namespace; the exif namespace bound to another
    # prefix, and "exif" itself bound to something else.
    data = (
        RDF_OPEN + b"\n <rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:format>image/jpeg</dc:format></rdf:Description>"
        b"\n <rdf:Description rdf:about='' xmlns:ex='http://ns.adobe.com/exif/1.0/' xmlns:exif='urn:not-exif'>\n  <ex:GPSVersionID>2.2.0.0</ex:GPSVersionID>\n </rdf:Description>\n"
        + RDF_CLOSE
    )
    out = merge(data, {(EXIF, "GPSVersionID"): "2.3.0.0", (EXIF, "GPSLatitude"): "1,0N", (OURS, "Source"): "track"})
    second = out[out.index(b"xmlns:ex=") :]
    assert b'ex:GPSLatitude="1,0N"' in second and b'xmlns:geolocator="' + OURS.encode() + b'"' in second
    assert b"<ex:GPSVersionID>2.3.0.0</ex:GPSVersionID>" in out and out.count(b"exif:") == 0
    inserted(data.replace(b"2.2.0.0", b"2.3.0.0"), out)

    taken = RDF_OPEN + b"<rdf:Description rdf:about='' xmlns:geolocator='urn:someone-else'/>" + RDF_CLOSE
    assert b'xmlns:geolocator1="' + OURS.encode() + b'" geolocator1:Source="ai"' in merge(taken, {(OURS, "Source"): "ai"})


@pytest.mark.parametrize(
    "rdf",
    [b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n </rdf:RDF>', b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'],
    ids=["empty", "empty-element"],
)
def test_a_packet_without_rdf_description_gets_one(tmp_path, rdf):
    data = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">\n ' + rdf + b"\n</x:xmpmeta>\n"
    out = merge(data, {(EXIF, "GPSLatitude"): "1,30.0N", (EXIF, "GPSLongitude"): "2,0.0E", (OURS, "Source"): "manual"})
    assert b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:geolocator="' in out and b'rdf:about=""' in out
    tags = exiftool_reading_of(out, tmp_path)
    assert tags["XMP-exif:GPSLatitude"] == 1.5 and tags["XMP-geolocator:Source"] == "manual"


def test_the_xpacket_wrapper_padding_and_a_bom_are_kept():
    body = RDF_OPEN + b'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:ExposureTime="1/8"/>' + RDF_CLOSE
    for data in (
        b"<?xpacket begin='\xef\xbb\xbf' id='W5M0MpCehiHzreSzNTczkc9d'?>\n" + body + b"\n" + (b" " * 99 + b"\n") * 20 + b"<?xpacket end='w'?>",
        b"\xef\xbb\xbf<?xml version='1.0' encoding='UTF-8'?>\n" + body + b"\n",
    ):
        out = merge(data, {(OURS, "Source"): "nearby"})
        only_ours(inserted(data, out))


def test_the_same_names_inside_a_structure_are_not_ours():
    location_shown = (
        b"<Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li rdf:parseType='Resource'>"
        b"<exif:GPSLatitude>10,0N</exif:GPSLatitude><geolocator:Source>other</geolocator:Source>"
        b"</rdf:li></rdf:Bag></Iptc4xmpExt:LocationShown>"
    )
    data = (
        RDF_OPEN + b"<rdf:Description rdf:about='' xmlns:exif='http://ns.adobe.com/exif/1.0/' xmlns:geolocator='" + OURS.encode() + b"'"
        b" xmlns:Iptc4xmpExt='http://iptc.org/std/Iptc4xmpExt/2008-02-29/'>" + location_shown + b"</rdf:Description>" + RDF_CLOSE
    )
    assert {found.name for found in xmp_merge.scan(data).found} == {("http://iptc.org/std/Iptc4xmpExt/2008-02-29/", "LocationShown")}
    out = merge(data, {(EXIF, "GPSLatitude"): "1,0N"})
    assert location_shown in out
    only_ours(inserted(data, out))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "not well-formed"),
        (b"\x00\xffnot xml", "not UTF-8"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + RDF_OPEN + b"&b;" + RDF_CLOSE, "DTD"),
        (b'<!DOCTYPE x SYSTEM "file:///etc/passwd">' + RDF_OPEN + RDF_CLOSE, "DTD"),
        (b"<html><body>not xmp</body></html>", "not an XMP packet"),
        (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>', "no rdf:RDF"),
        ('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'.encode("utf-16"), "not UTF-8"),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?>' + RDF_OPEN + RDF_CLOSE, "ISO-8859-1"),
        (RDF_OPEN + b"<rdf:Description nope:x='1'/>" + RDF_CLOSE, "not well-formed"),
        (RDF_OPEN + b"<rdf:Description>" + RDF_CLOSE, "not well-formed"),
    ],
    ids=["empty", "binary", "entities", "external", "html", "no-rdf", "utf-16", "latin-1", "unbound-prefix", "unclosed"],
)
def test_what_is_not_xmp_we_can_edit_is_refused(data, why):
    with pytest.raises(xmp_merge.NotMergeable, match=why):
        merge(data, {(OURS, "Source"): "manual"})


def test_written_values_read_back_exactly_whatever_they_hold():
    tricky = ["a\tb\nc\rd", "quotes \" and ' and &amp;", "<![CDATA[x]]>", "é🙂", "   spaced   ", "]]>"]
    data = ls.render(track(1.0, 2.0))
    for text in tricky:
        data = merge(data, {(OURS, "Source"): "track", (OURS, "Place"): text})
        assert xmp_merge.scan(data).values()[(OURS, "Place")] == text
