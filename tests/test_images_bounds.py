"""Reading users' images stays bounded: 2 GB files, a HEIC claiming 60000x60000, slivers and specks.

Memory is measured in a fresh process (bench/image_bounds.py --measure) with resource.getrusage;
the files are real (sparse where large), the model's side is the fake Ollama over real HTTP.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_ollama import FakeOllama
from photos import heic_claiming
from PIL import Image

from geolocator.config import OllamaConfig
from geolocator.errors import UnreadableImage
from geolocator.locate.ai import AILocator
from geolocator.locate.ai.imageprep import MAX_ASPECT, MIN_SIDE_PX, prepare_image, within_model_bounds
from geolocator.media.images import MAX_BMFF_BYTES
from viewer.thumbnails import Thumbnails

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from image_bounds import sparse_jpeg_header, sparse_junk, sparse_raw  # noqa: E402

TWO_GB = 2 << 30
RSS_GROWTH_KB = 100 * 1024  # before the fix: 4.3 GB (AI path) and 2.2 GB (/thumb) for a 2 GB file


def measured(kind: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "image_bounds.py"), "--measure", kind, str(path)], capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- 2 GB files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [sparse_jpeg_header, sparse_junk], ids=["jpeg header then nothing", "junk with a JPEG marker every MB"])
@pytest.mark.parametrize("kind", ["ai", "thumb"])
def test_a_2_gb_unreadable_file_is_refused_without_reading_it(tmp_path: Path, make: Any, kind: str) -> None:
    big = make(tmp_path / "big.jpg", TWO_GB)
    result = measured(kind, big)
    if kind == "thumb":
        assert result["outcome"] == "no thumbnail (unreadable)", result
    else:
        assert result["outcome"].startswith("UnreadableImage: big.jpg: "), result
    assert result["size"] is None
    assert result["growth_kb"] < RSS_GROWTH_KB, result
    assert result["seconds"] < 5, result


@pytest.mark.parametrize("kind", ["ai", "thumb"])
def test_a_2_gb_raw_is_read_through_its_preview_in_bounded_memory(tmp_path: Path, kind: str) -> None:
    raw = sparse_raw(tmp_path / "IMG_0001.CR2", TWO_GB)
    result = measured(kind, raw)
    assert result["size"] == ([1344, 896] if kind == "ai" else [320, 214]), result
    assert result["growth_kb"] < RSS_GROWTH_KB, result


def test_a_huge_heif_is_refused_before_pillow_heif_reads_it_whole(tmp_path: Path) -> None:
    heic = heic_claiming(tmp_path / "big.heic", 64, 48)
    with heic.open("r+b") as fh:
        fh.truncate(MAX_BMFF_BYTES + 1)  # a real HEIC header, then holes
    with pytest.raises(UnreadableImage, match=r"big\.heic: an ISO-BMFF file .* over the 128 MB we decode"):
        prepare_image(heic)


# -- a HEIC whose header claims 60000 x 60000 --------------------------------------------------------


def test_a_heic_claiming_60000_px_is_unreadable_with_libheifs_reason(tmp_path: Path) -> None:
    heic = heic_claiming(tmp_path / "claims.heic", 60000, 60000)
    with pytest.raises(UnreadableImage, match=r"claims\.heic: cannot decode image: .*60000x60000"):
        prepare_image(heic)


def test_its_thumbnail_is_none_with_the_reason_and_not_decoded_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    heic = heic_claiming(tmp_path / "claims.heic", 60000, 60000)
    thumbs = Thumbnails(tmp_path / "thumbnails")
    with caplog.at_level(logging.INFO, logger="viewer.thumbnails"):
        assert thumbs.get("abc", heic) is None
    assert any("60000x60000" in r.getMessage() for r in caplog.records)
    heic.unlink()  # a second request must not even look at the file
    assert thumbs.get("abc", heic) is None
    assert not (tmp_path / "thumbnails" / "abc.jpg").exists()


# -- shapes the model's image processor refuses ------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [(1, 1), (27, 27), (10, 3000), (3000, 10), (5000, 12), (28, 5700), (400, 2)],
    ids=lambda s: f"{s[0]}x{s[1]}",
)
def test_specks_and_slivers_reach_the_model_within_its_bounds(fake_ollama: FakeOllama, tmp_path: Path, size: tuple[int, int]) -> None:
    path = tmp_path / "odd.png"
    Image.new("RGB", size, (200, 30, 30)).save(path)
    config = OllamaConfig(enabled=True, host=fake_ollama.url, model="qwen2.5vl", timeout=5.0, max_image_px=1344)

    AILocator(config).estimate(path)

    [sent] = fake_ollama.chat_requests[0].images()
    width, height = Image.open(io.BytesIO(sent)).size
    assert min(width, height) >= MIN_SIDE_PX and max(width, height) / min(width, height) <= MAX_ASPECT
    assert max(width, height) <= max(1344, MIN_SIDE_PX * MAX_ASPECT)


def test_bounds_keep_what_fits_scale_specks_and_pad_slivers() -> None:
    photo = Image.new("RGB", (800, 600))
    assert within_model_bounds(photo, 1344) is photo  # nothing to do: the same image
    assert within_model_bounds(Image.new("RGB", (1, 1)), 1344).size == (28, 28)
    assert within_model_bounds(Image.new("RGB", (14, 20)), 1344).size == (28, 40)  # scaled, shape kept
    sliver = within_model_bounds(Image.new("RGB", (1344, 4), (255, 0, 0)), 1344)
    assert sliver.size == (1344, 28)  # padded: scaling up would pass max_px
    assert sliver.getpixel((600, 14)) == (255, 0, 0) and sliver.getpixel((600, 0)) == (128, 128, 128)
    assert within_model_bounds(Image.new("RGB", (1344, 10)), 1344).size == (1344, 28)
    assert within_model_bounds(Image.new("RGB", (3000, 20)), 3000).size == (3000, 30)  # aspect 100
