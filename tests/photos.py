"""Test photos: corpus files COPIED into a temp folder (never moved), and synthetic ones."""

from __future__ import annotations

import io
import shutil
import struct
from pathlib import Path

from corpus import CORPUS
from PIL import Image

CORPUS_JPG = CORPUS / "exif-samples" / "jpg"
GPS_JPEGS = ["gps/DSCN0010.jpg", "gps/DSCN0012.jpg", "gps/DSCN0021.jpg", "gps/DSCN0025.jpg", "gps/DSCN0027.jpg"]
NO_GPS_JPEG = "Canon_40D.jpg"


def copy_corpus(name: str, dest: Path, extra: bytes = b"") -> Path:
    """Copy a corpus JPEG to `dest`; `extra` bytes appended after the image make the hash unique."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CORPUS_JPG / name, dest)
    if extra:
        with dest.open("ab") as fh:
            fh.write(extra)
    return dest


def jpeg_bytes(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small, valid JPEG without GPS, different for each seed."""
    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256))
    image.putpixel((seed % size[0], (seed // size[0]) % size[1]), (255 - (seed % 256), 0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue() + seed.to_bytes(8, "big")  # trailing bytes: distinct even if pixels collide


def write_jpeg(dest: Path, seed: int) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(jpeg_bytes(seed))
    return dest


def heic_claiming(path: Path, width: int, height: int) -> Path:
    """A real HEIC whose image-spatial-extents box ('ispe') claims width x height."""
    import pillow_heif

    pillow_heif.from_pillow(Image.new("RGB", (64, 48), (10, 200, 30))).save(path)
    data = bytearray(path.read_bytes())
    at = data.find(b"ispe")
    data[at + 8 : at + 16] = struct.pack(">II", width, height)
    path.write_bytes(bytes(data))
    return path
