"""The image we send the model: upright, RGB, longest side <= max_px, re-encoded JPEG, no metadata.

Never the original file: a 12 MP photo is several MB of base64 and thousands of image tokens,
which overflows the context of models such as qwen2.5vl (HTTP 400) and is slow to encode; and
its EXIF (camera serial numbers, times, sometimes a location) is nobody's business, not even a
local model's.
"""

from __future__ import annotations

from pathlib import Path

from geolocator.images import jpeg_copy

DEFAULT_MAX_PX = 1344
JPEG_QUALITY = 85


def prepare_image(path: Path, max_px: int = DEFAULT_MAX_PX) -> bytes:
    """JPEG bytes for the model; raises UnreadableImage (with the reason) when `path` cannot be decoded."""
    return jpeg_copy(path, max_px, JPEG_QUALITY)
