"""looks_complete: a file cut short is seen as such; whole files always pass."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from geolocator.metadata.complete import looks_complete


def test_every_readable_corpus_file_looks_complete(corpus, truth):
    incomplete = [t["file"] for t in truth if not looks_complete(corpus / t["file"])]
    assert incomplete == []


@pytest.mark.parametrize("name", ["exif-samples/jpg/gps/DSCN0038.jpg", "exif-samples/heic/IMG_5195.HEIC", "exif-samples/heic/mobile/HMD_Nokia_8.3_5G.heif"])
def test_a_cut_photo_is_seen_as_incomplete(corpus, tmp_path, name):
    data = (corpus / name).read_bytes()
    cut = tmp_path / Path(name).name
    for end in (len(data) // 4, len(data) // 2, len(data) - 1):
        cut.write_bytes(data[:end])
        assert not looks_complete(cut), end
    cut.write_bytes(data)
    assert looks_complete(cut)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_cut_short(tmp_path, fmt):
    out = io.BytesIO()
    Image.effect_noise((300, 200), 40).convert("RGB").save(out, fmt)
    data = out.getvalue()
    path = tmp_path / f"x.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    assert not looks_complete(path)
    path.write_bytes(data)
    assert looks_complete(path)


def test_files_we_cannot_judge_count_as_complete(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "text").write_bytes(b"hello")
    assert looks_complete(tmp_path / "empty") and looks_complete(tmp_path / "text")
