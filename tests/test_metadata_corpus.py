"""The sample corpus against exiftool's reading of it, and `daemon.py locate --no-ai` end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from processes import REPO, run_daemon

from geolocator.errors import UnreadableImage
from geolocator.locate.metadata import read_metadata

# Fields exiftool reads from blocks we deliberately do not decode (MakerNotes, Olympus APP12):
# checked with `exiftool -G -a -s -Make -Model -DateTimeOriginal FILE`.
NOT_FROM_EXIF = {
    "exif-samples/jpg/Reconyx_HC500_Hyperfire.jpg": {"taken"},  # [MakerNotes]
    "exif-samples/jpg/exif-org/olympus-d320l.jpg": {"taken"},  # [APP12]
    "exif-samples/jpg/exif-org/sony-powershota5.jpg": {"taken", "make", "model"},  # [MakerNotes]
}


def _all_files(corpus: Path) -> list[str]:
    return sorted(str(p.relative_to(corpus)) for p in (corpus / "exif-samples").rglob("*") if p.is_file())


def exif_date(iso: str | None) -> str | None:
    """Our ISO 8601 back in EXIF's "YYYY:MM:DD HH:MM:SS" form."""
    return iso[:19].replace("-", ":").replace("T", " ") if iso else None


@pytest.mark.timeout(60)
def test_corpus_matches_exiftool(corpus, truth):
    mismatches = []
    for item in truth:
        meta = read_metadata(corpus / item["file"])
        if item["lat"] is None:
            if meta.lat is not None or meta.lon is not None:
                mismatches.append(f"{item['file']}: GPS {meta.lat},{meta.lon} where exiftool has none")
            continue
        if meta.lat is None or abs(meta.lat - item["lat"]) > 1e-6 or abs(meta.lon - item["lon"]) > 1e-6:
            mismatches.append(f"{item['file']}: GPS {meta.lat},{meta.lon} != {item['lat']},{item['lon']}")
        if item["altitude"] is not None and (meta.altitude is None or abs(meta.altitude - item["altitude"]) > 1e-6):
            mismatches.append(f"{item['file']}: altitude {meta.altitude} != {item['altitude']}")
    for item in truth:
        meta = read_metadata(corpus / item["file"])
        skip = NOT_FROM_EXIF.get(item["file"], set())
        for field in ("make", "model"):
            if item[field] is not None and field not in skip and getattr(meta, field) != item[field].strip():
                mismatches.append(f"{item['file']}: {field} {getattr(meta, field)!r} != {item[field]!r}")
        if item["taken"] and "taken" not in skip and exif_date(meta.taken_at) != item["taken"][:19]:
            mismatches.append(f"{item['file']}: taken {meta.taken_at!r} != {item['taken']!r}")
    assert not mismatches, "\n".join(mismatches)
    assert sum(item["lat"] is not None for item in truth) == 18  # the corpus README's count


@pytest.mark.timeout(60)
def test_files_exiftool_does_not_list_give_an_error(corpus, truth):
    """Files missing from the truth (text, dumps, READMEs) must give UnreadableImage, no other
    exception. The exception is asked of exiftool itself: the truth skips `"tiff/...tiff"`
    (its path has a quote in it) although exiftool reads it as an image (a TIFF without GPS);
    an unlisted file exiftool calls an image must read without error and without GPS."""
    listed = {item["file"] for item in truth}
    others = [name for name in _all_files(corpus) if name not in listed]
    assert others, "expected unlisted files in the corpus"
    types = {}
    if shutil.which("exiftool"):
        out = subprocess.run(["exiftool", "-j", "-MIMEType", *others], cwd=corpus, capture_output=True, text=True, check=False)
        types = {item["SourceFile"]: item.get("MIMEType", "") for item in json.loads(out.stdout or "[]")}
    for name in others:
        if types.get(name, "").startswith(("image/", "video/")):
            meta = read_metadata(corpus / name)
            assert meta.lat is None, name
            continue
        with pytest.raises(UnreadableImage) as caught:
            read_metadata(corpus / name)
        assert str(caught.value) and "\n" not in str(caught.value), name


@pytest.mark.timeout(60)
def test_locate_command_over_a_mix(corpus, tmp_path):
    good = os.path.relpath(corpus / "exif-samples/jpg/gps/DSCN0010.jpg", REPO)  # relative, as a user types it
    south = str(corpus / "exif-samples/jpg/Kodak_CX7530.jpg")
    no_gps = str(corpus / "exif-samples/jpg/Canon_40D.jpg")
    corrupt = tmp_path / "broken photo.jpg"
    corrupt.write_bytes(b"PK\x03\x04not a photo")
    empty = tmp_path / "empty.heic"
    empty.write_bytes(b"")
    files = [good, south, no_gps, str(corrupt), str(empty)]
    result = run_daemon("locate", "--no-ai", *files, cwd=REPO, timeout=60)  # `good` is relative to the checkout
    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    by_file = {line["file"]: line for line in lines}
    assert by_file[good]["lat"] == pytest.approx(43.4674483333333, abs=1e-6)
    assert by_file[good]["lon"] == pytest.approx(11.8851266666639, abs=1e-6)
    assert by_file[good]["source"] == "exif" and by_file[good]["error"] is None
    assert by_file[good]["taken_at"] == "2008-10-22T16:28:39"
    assert by_file[south]["lat"] == pytest.approx(-0.3713, abs=1e-6) and by_file[south]["source"] == "exif"
    assert by_file[no_gps]["lat"] is None and by_file[no_gps]["source"] is None and by_file[no_gps]["error"] is None
    assert by_file[str(corrupt)]["error"].startswith("not a supported image or video")
    assert by_file[str(empty)]["error"] == "file is empty"
    assert all(by_file[f]["lat"] is None for f in (str(corrupt), str(empty)))


@pytest.mark.timeout(60)
def test_locate_command_exits_zero_when_all_read(corpus, tmp_path):
    files = [str(corpus / "exif-samples/jpg/Canon_40D.jpg"), str(corpus / "exif-samples/heic/IMG_5195.HEIC")]
    result = run_daemon("locate", "--no-ai", *files, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[1]["lat"] == pytest.approx(39.0513444444444, abs=1e-6) and lines[1]["taken_at"] == "2021-04-11T15:47:53-05:00"
