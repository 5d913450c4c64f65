"""missing_end: a file cut short is seen as such; whole files always pass."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from geolocator.fileio import NotRegularFile
from geolocator.locate.metadata.complete import missing_end


def test_every_readable_corpus_file_looks_complete(corpus, truth):
    incomplete = [t["file"] for t in truth if missing_end(corpus / t["file"]) is not None]
    assert incomplete == []


@pytest.mark.parametrize("name", ["exif-samples/jpg/gps/DSCN0038.jpg", "exif-samples/heic/IMG_5195.HEIC", "exif-samples/heic/mobile/HMD_Nokia_8.3_5G.heif"])
def test_a_cut_photo_is_seen_as_incomplete(corpus, tmp_path, name):
    data = (corpus / name).read_bytes()
    cut = tmp_path / Path(name).name
    for end in (len(data) // 4, len(data) // 2, len(data) - 1):
        cut.write_bytes(data[:end])
        assert missing_end(cut) is not None, end
    cut.write_bytes(data)
    assert missing_end(cut) is None


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_cut_short(tmp_path, fmt):
    out = io.BytesIO()
    Image.effect_noise((300, 200), 40).convert("RGB").save(out, fmt)
    data = out.getvalue()
    path = tmp_path / f"x.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    assert missing_end(path) is not None
    path.write_bytes(data)
    assert missing_end(path) is None


def test_files_we_cannot_judge_count_as_complete(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "text").write_bytes(b"hello")
    assert missing_end(tmp_path / "empty") is None and missing_end(tmp_path / "text") is None


@pytest.mark.parametrize("name", ["exif-samples/tiff/BSG1.tiff", "exif-samples/tiff/DudleyLeavittUtah.tiff", "exif-samples/tiff/Arbitro.tiff"])
def test_a_tiff_whose_strips_run_past_the_end_is_cut_short(corpus, tmp_path, name):
    data = (corpus / name).read_bytes()
    cut = tmp_path / Path(name).name
    for end in (len(data) // 4, len(data) // 2):
        cut.write_bytes(data[:end])
        assert missing_end(cut) == "TIFF data past the end of the file", end
    cut.write_bytes(data)
    assert missing_end(cut) is None


def test_a_tiff_written_by_pillow_cut_short(tmp_path):
    path = tmp_path / "tiled.tif"
    Image.effect_noise((512, 512), 40).convert("RGB").save(path, "TIFF")
    data = path.read_bytes()
    assert missing_end(path) is None
    path.write_bytes(data[: len(data) - 1000])
    assert missing_end(path) == "TIFF data past the end of the file"


@pytest.mark.parametrize(
    ("fmt", "reason"),
    [("JPEG", "JPEG without its end marker"), ("PNG", "PNG without its IEND chunk"), ("WEBP", "RIFF size past the end of the file")],
)
def test_the_reason_names_what_is_missing(tmp_path, fmt, reason):
    out = io.BytesIO()
    Image.effect_noise((300, 200), 40).convert("RGB").save(out, fmt)
    path = tmp_path / "x"
    path.write_bytes(out.getvalue()[: len(out.getvalue()) * 2 // 3])
    assert missing_end(path) == reason


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile):
        missing_end(fifo)  # returns at once: no writer is ever waited for
