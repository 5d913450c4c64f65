"""What is sent to the model: small, upright, metadata-free JPEG; never the original file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from fake_ollama import FakeOllama
from PIL import Image

from geolocator.config import OllamaConfig
from geolocator.errors import UnreadableImage
from geolocator.locate.ai import AILocator
from geolocator.locate.ai.imageprep import prepare_image

ORIENTATION, MAKE, GPS_IFD = 0x0112, 0x010F, 0x8825


def twelve_megapixel(path: Path, orientation: int = 6) -> Path:
    """A 4000x3000 photo with structure and noise (so it weighs what a real one does)."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:3000, 0:4000]
    base = np.stack([(x * 255 // 4000), (y * 255 // 3000), ((x + y) % 256)], axis=-1).astype(np.int16)
    noisy = np.clip(base + rng.integers(-40, 40, size=base.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(noisy, "RGB")
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "TestCam"
    image.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


@pytest.mark.slow
def test_a_12_megapixel_photo_is_sent_small_upright_and_without_exif(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    original = twelve_megapixel(tmp_path / "big.jpg")
    assert original.stat().st_size > 3_000_000
    config = OllamaConfig(enabled=True, host=fake_ollama.url, model="qwen2.5vl", timeout=10.0, max_image_px=1344)

    AILocator(config).estimate(original)

    [sent] = fake_ollama.chat_requests[0].images()
    image = Image.open(io.BytesIO(sent))
    assert image.format == "JPEG"
    assert max(image.size) <= 1344
    assert image.width < image.height  # orientation 6: the 4000x3000 landscape is a portrait
    assert image.size == (1008, 1344)
    assert len(image.getexif()) == 0 and "exif" not in image.info and b"Exif" not in sent[:4096]
    assert len(sent) <= original.stat().st_size / 10


def test_orientation_is_applied_in_every_direction(tmp_path: Path) -> None:
    source = Image.new("RGB", (200, 100), (255, 0, 0))
    source.paste((0, 0, 255), (0, 0, 50, 50))  # blue square in the top-left corner
    for orientation, corner in [(1, (10, 10)), (3, (190, 90)), (6, (90, 10)), (8, (10, 190))]:
        path = tmp_path / f"o{orientation}.jpg"
        exif = Image.Exif()
        exif[ORIENTATION] = orientation
        source.save(path, quality=95, exif=exif.tobytes())
        image = Image.open(io.BytesIO(prepare_image(path)))
        assert image.size == ((200, 100) if orientation in (1, 3) else (100, 200))
        red, _green, blue = image.getpixel(corner)
        assert blue > 200 and red < 60, (orientation, image.getpixel(corner))


def test_small_images_are_not_enlarged_and_gps_never_leaves(tmp_path: Path) -> None:
    path = tmp_path / "small.jpg"
    exif = Image.Exif()
    exif[MAKE] = "TestCam"
    exif.get_ifd(GPS_IFD)[2] = (48.0, 51.0, 30.0)
    Image.new("RGB", (320, 240), (1, 2, 3)).save(path, exif=exif.tobytes())
    sent = prepare_image(path)
    assert Image.open(io.BytesIO(sent)).size == (320, 240)
    assert b"Exif" not in sent and b"TestCam" not in sent


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "CMYK", "I;16"])
def test_any_mode_becomes_rgb(tmp_path: Path, mode: str) -> None:
    path = tmp_path / f"image-{mode.replace(';', '')}.{'tiff' if mode in ('CMYK', 'I;16') else 'png'}"
    Image.new(mode, (2000, 500)).save(path)
    image = Image.open(io.BytesIO(prepare_image(path, 1000)))
    assert image.mode == "RGB" and image.size == (1000, 250)


def test_heic_is_read(tmp_path: Path) -> None:
    import pillow_heif

    path = tmp_path / "photo.heic"
    pillow_heif.from_pillow(Image.new("RGB", (1600, 1200), (200, 100, 50))).save(path)
    image = Image.open(io.BytesIO(prepare_image(path, 800)))
    assert image.format == "JPEG" and image.size == (800, 600)


def test_a_raw_file_is_read_through_its_embedded_preview(tmp_path: Path) -> None:
    preview = io.BytesIO()
    Image.new("RGB", (1600, 1067), (30, 60, 90)).save(preview, "JPEG")
    thumb = io.BytesIO()
    Image.new("RGB", (160, 120), (0, 0, 0)).save(thumb, "JPEG")
    raw = tmp_path / "IMG_0001.CR2"
    raw.write_bytes(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + b"\x00" * 500 + thumb.getvalue() + b"\x11" * 1000 + preview.getvalue() + b"\x22" * 2000)
    image = Image.open(io.BytesIO(prepare_image(raw, 1344)))
    assert image.size == (1344, 896)
    assert image.getpixel((5, 5))[2] > 70  # the preview's colour, not the thumbnail's black


def test_a_raw_file_without_preview_is_unreadable_with_a_reason(tmp_path: Path) -> None:
    raw = tmp_path / "IMG_0002.NEF"
    raw.write_bytes(b"MM\x00*" + b"\x00" * 4000)
    with pytest.raises(UnreadableImage, match=r"IMG_0002\.NEF"):
        prepare_image(raw)


def test_truncated_and_empty_files_are_unreadable(tmp_path: Path) -> None:
    whole = io.BytesIO()
    Image.new("RGB", (600, 400), (5, 5, 5)).save(whole, "JPEG")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(whole.getvalue()[:300])
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    for path in (truncated, empty):
        with pytest.raises(UnreadableImage, match=path.name):
            prepare_image(path)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow notices it too
def test_a_decompression_bomb_is_refused_before_it_is_decoded(tmp_path):
    # A tiny PNG that declares 12000 x 12000 pixels: decoding it would take ~0.5 GB.
    import resource

    from geolocator.errors import UnreadableImage
    from geolocator.media.images import MAX_DECODE_PIXELS

    bomb = tmp_path / "bomb.png"
    Image.new("L", (12000, 12000)).save(bomb, optimize=True)
    assert bomb.stat().st_size < 1_000_000 and MAX_DECODE_PIXELS < 12000 * 12000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(UnreadableImage, match="too large to decode safely"):
        prepare_image(bomb)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # kB: nothing decoded
