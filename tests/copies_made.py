"""Real corpus photos turned into copies the way apps make them, and photos that are not copies.

Each recipe takes the original as a viewer shows it (upright: `decode` applies its orientation)
and writes what the app would: re-encoded without any metadata (Pillow writes none unless
asked), resized, cropped. The sizes and qualities are those the apps are known to use
(WhatsApp: 1600 px at about quality 70; Telegram: 1280 px at 87; Signal: 1600 px at 75 in WebP
or JPEG; Messenger: 2048 px at 85; a web export: 640 px at 60; an editor's export: cropped a
little, quality 95; an iPhone's HEIC saved as JPEG).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pillow_heif
from corpus import CORPUS
from exiftool_process import exiftool
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from geolocator.media.images import decode

SAMPLES = CORPUS / "exif-samples"
# Photos that carry GPS (exiftool reads it): the originals copies are made from.
ORIGINALS = ("jpg/gps/DSCN0010.jpg", "jpg/gps/DSCN0021.jpg", "jpg/mobile/HMD_Nokia_8.3_5G.jpg", "heic/IMG_5195.HEIC")
# Photos of one afternoon in one town (the same camera, minutes apart): different photos of the same places.
SAME_PLACE = tuple(f"jpg/gps/DSCN00{n}.jpg" for n in (10, 12, 21, 25, 27, 29, 38, 40, 42))

Recipe = Callable[[Image.Image], bytes]


def upright(name: str) -> Image.Image:
    """The corpus photo as a viewer shows it, full size (`info["heic"]`: decoded from HEVC)."""
    image = decode(SAMPLES / name, 10_000)
    image.info["heic"] = Path(name).suffix.lower() in {".heic", ".heif"}
    return image


def encoded(image: Image.Image, kind: str = "JPEG", quality: int = 85) -> bytes:
    out = io.BytesIO()
    if kind == "HEIF":  # x265's fastest preset (its default takes ~30 s for 9 MP): still HEVC's blocks and smoothing
        pillow_heif.from_pillow(image).save(out, quality=quality, enc_params={"preset": "ultrafast"})
    else:
        image.save(out, kind, quality=quality)
    return out.getvalue()


def shrunk(image: Image.Image, long_side: int) -> Image.Image:
    image = image.copy()
    image.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return image


def cropped(image: Image.Image, left: float = 0.0, top: float = 0.0, right: float = 0.0, bottom: float = 0.0) -> Image.Image:
    """`image` with these fractions of its width and height cut off each side."""
    w, h = image.size
    return image.crop((round(left * w), round(top * h), round(w - right * w), round(h - bottom * h)))


def heic_as_jpeg(image: Image.Image) -> bytes:
    """As an iPhone exports its HEIC as JPEG: the HEIC's pixels saved as JPEG at quality 90 (a
    picture that was not HEIC is made one first, as if the phone had taken it: at most 2048 px,
    as x265 is slow)."""
    if not image.info.get("heic"):
        image = Image.open(io.BytesIO(encoded(shrunk(image, 2048), "HEIF", 80))).convert("RGB")
    return encoded(image, "JPEG", 90)


RECIPES: dict[str, Recipe] = {
    "whatsapp": lambda im: encoded(shrunk(im, 1600), "JPEG", 70),
    "telegram": lambda im: encoded(shrunk(im, 1280), "JPEG", 87),
    "signal-webp": lambda im: encoded(shrunk(im, 1600), "WEBP", 75),
    "messenger": lambda im: encoded(shrunk(im, 2048), "JPEG", 85),
    "web-640-q60": lambda im: encoded(shrunk(im, 640), "JPEG", 60),
    "q95": lambda im: encoded(im, "JPEG", 95),
    "editor-crop": lambda im: encoded(cropped(im, 0.04, 0.02, 0.03, 0.05), "JPEG", 95),
    "crop-10-left": lambda im: encoded(cropped(im, left=0.10), "JPEG", 85),
    "crop-10-top-right": lambda im: encoded(shrunk(cropped(im, top=0.05, right=0.05, left=0.05, bottom=0.05), 1200), "JPEG", 80),
    "heic-as-jpeg": heic_as_jpeg,
}


def random_crop(image: Image.Image, rng: random.Random) -> Image.Image:
    """Up to a tenth of the width and of the height cut off, split at random between the sides."""
    width_cut, height_cut = rng.uniform(0, 0.1), rng.uniform(0, 0.1)
    left, top = rng.uniform(0, width_cut), rng.uniform(0, height_cut)
    return cropped(image, left, top, width_cut - left, height_cut - top)


def with_orientation(source: Path, dest: Path, orientation: int) -> Path:
    """A copy of a camera file stored sideways, as cameras do: its pixels turned the other way and
    an Orientation tag (6: turn 90° clockwise to view) saying how to show it upright."""
    with Image.open(source) as camera:
        exif = camera.info["exif"]  # the whole EXIF segment as the camera wrote it (GPS and all)
        turned = camera.rotate(90, expand=True)  # counter-clockwise: orientation 6 turns it back
    turned.save(dest, "JPEG", quality=95, exif=exif)
    exiftool("-q", "-q", "-overwrite_original", f"-Orientation#={orientation}", str(dest))
    return dest


def burst(name: str, frames: int = 3) -> list[Image.Image]:
    """Frames of a burst: the camera moved a few pixels between them and a bird crossed the sky."""
    image = upright(name)
    w, h = image.size
    out = []
    for n in range(frames):
        frame = image.crop((n * w // 100, n * h // 150, w - (frames - n) * w // 100, h - (frames - n) * h // 150))
        draw = ImageDraw.Draw(frame)
        x, y = w // 5 + n * w // 6, h // 6
        draw.ellipse((x, y, x + w // 14, y + h // 24), fill=(30, 30, 30))
        out.append(frame)
    return out


def sky(seed: int, size: tuple[int, int] = (1600, 1200)) -> Image.Image:
    """A clear sky: a gradient with sensor noise and, for some seeds, a few soft clouds."""
    rng = np.random.default_rng(seed)
    w, h = size
    top = np.array([60, 120, 200]) + rng.integers(-20, 20, 3)
    bottom = np.array([170, 205, 240]) + rng.integers(-15, 15, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    pixels = top * (1 - t) + bottom * t + rng.normal(0, 2.0, (h, w, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    clouds = Image.new("L", size, 0)
    draw = ImageDraw.Draw(clouds)
    for _ in range(int(rng.integers(0, 4))):
        x, y, r = (int(v) for v in (rng.integers(0, w), rng.integers(0, h), rng.integers(40, 160)))
        draw.ellipse((x - 2 * r, y - r, x + 2 * r, y + r), fill=int(rng.integers(40, 110)))
    return Image.composite(Image.new("RGB", size, (250, 250, 252)), image, clouds.filter(ImageFilter.GaussianBlur(60)))


WORDS = [
    "the", "of", "and", "invoice", "total", "amount", "date", "payment", "due", "account", "number", "customer", "reference",
    "please", "pay", "within", "days", "thank", "you", "for", "your", "order", "item", "quantity", "price", "tax",
]  # fmt: skip


def document(seed: int, *, photographed: bool = False) -> Image.Image:
    """A printed page of text from one template (an invoice); `photographed`: lying askew on a desk."""
    rng = random.Random(seed)
    page = Image.new("RGB", (1240, 1754), (250, 250, 247))
    draw = ImageDraw.Draw(page)
    draw.text((100, 90), "ACME Ltd. Invoice", fill=(20, 20, 20), font=ImageFont.load_default(size=40))
    font = ImageFont.load_default(size=22)
    y = 200
    while y < page.height - 150:
        if rng.random() < 0.15:
            y += 40
            continue
        draw.text((100, y), " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 11))), fill=(25, 25, 25), font=font)
        y += 34
    if not photographed:
        return page
    desk = Image.new("RGB", (1800, 2300), (120, 85, 55))
    page = page.rotate(rng.uniform(-4, 4), expand=True, fillcolor=(120, 85, 55))
    desk.paste(page, (rng.randint(150, 350), rng.randint(150, 350)))
    return desk.filter(ImageFilter.GaussianBlur(0.8))
