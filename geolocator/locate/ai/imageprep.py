"""The image we send the model: upright, RGB, longest side <= max_px, re-encoded JPEG, no metadata,
and within the shapes vision models accept.

Never the original file: a 12 MP photo is several MB of base64 and thousands of image tokens,
which overflows the context of models such as qwen2.5vl (HTTP 400) and is slow to encode; and
its EXIF (camera serial numbers, times, sometimes a location) is nobody's business, not even a
local model's.

qwen2.5vl's image processor fails on a side under 28 px (its patch size x 2) and on an aspect
ratio of 200 or more, so a tiny image is scaled up and a sliver is padded, centred on grey.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image

from geolocator.config import setting_default
from geolocator.media.images import decode_still, encode_jpeg

DEFAULT_MAX_PX: int = setting_default("ollama", "max_image_px")
JPEG_QUALITY = 85
MIN_SIDE_PX = 28
MAX_ASPECT = 100  # half the model's limit of 200: margin for its own rounding to multiples of 28
PADDING = (128, 128, 128)


def prepare_image(path: Path, max_px: int = DEFAULT_MAX_PX) -> bytes:
    """JPEG bytes for the model (a video's first picture for a video); raises UnreadableImage
    (with the reason) when `path` cannot be decoded."""
    return encode_jpeg(within_model_bounds(decode_still(path, max_px), max_px), JPEG_QUALITY)


def within_model_bounds(image: Image.Image, max_px: int) -> Image.Image:
    """`image` scaled up (never past max_px) and padded so that both sides are >= MIN_SIDE_PX and
    the longer is at most MAX_ASPECT times the shorter; unchanged when it already is."""
    width, height = image.size
    short, long = min(width, height), max(width, height)
    if short < MIN_SIDE_PX:
        scale = min(MIN_SIDE_PX / short, max_px / long)
        if scale > 1:
            width, height = round(width * scale), round(height * scale)
            image = image.resize((width, height), Image.Resampling.BICUBIC)
    long = max(width, height)
    floor = max(MIN_SIDE_PX, math.ceil(long / MAX_ASPECT))
    if min(width, height) >= floor:
        return image
    padded_size = (max(width, floor), max(height, floor))
    padded = Image.new("RGB", padded_size, PADDING)
    padded.paste(image, ((padded_size[0] - width) // 2, (padded_size[1] - height) // 2))
    return padded
