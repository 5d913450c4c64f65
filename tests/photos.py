"""Test photos: corpus files COPIED into a temp folder (never moved), and synthetic ones."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from corpus import CORPUS
from exiftool_process import exiftool
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


@dataclass(frozen=True)
class Exif:
    """What exiftool writes into a photo: GPS (signed degrees), the capture time, the camera."""

    lat: float | None = None
    lon: float | None = None
    taken: str | None = None  # "2023:05:01 10:00:00"
    make: str = "Panasonic"
    model: str = "DMC-GH4"
    offset: str | None = None  # OffsetTimeOriginal: "+02:00"

    def assignments(self) -> list[str]:
        tags = [f"-Make={self.make}", f"-Model={self.model}"]
        if self.lat is not None and self.lon is not None:
            tags += [f"-GPSLatitude={abs(self.lat)}", f"-GPSLatitudeRef={'N' if self.lat >= 0 else 'S'}"]
            tags += [f"-GPSLongitude={abs(self.lon)}", f"-GPSLongitudeRef={'E' if self.lon >= 0 else 'W'}"]
        if self.taken:
            tags.append(f"-DateTimeOriginal={self.taken}")
        if self.offset:
            tags.append(f"-OffsetTimeOriginal={self.offset}")
        return tags


def noise_jpeg(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A JPEG of random pixels (its image data is most of the file, as a camera's is)."""
    pixels = random.Random(seed).randbytes(size[0] * size[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def raw_tiff(seed: int) -> bytes:
    """A Panasonic-style raw: a TIFF whose header says "IIU" (RW2), its strips after its IFDs."""
    pixels = random.Random(seed).randbytes(128 * 128 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (128, 128), pixels).save(out, "TIFF")
    data = bytearray(out.getvalue())
    data[2:4] = b"U\0"
    return bytes(data)


def exiftool_photos(photos: dict[Path, tuple[bytes, Exif]]) -> dict[Path, bytes]:
    """Write each photo's bytes to its path, then its EXIF with exiftool. Returns the files' final bytes."""
    for path, (data, exif) in photos.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        exiftool("-q", "-overwrite_original", *exif.assignments(), str(path))
    return {path: path.read_bytes() for path in photos}


def exiftool_read(*paths: Path) -> list[dict]:
    """exiftool's own reading (`-n`: signed degrees) of the files, in order."""
    done = exiftool("-n", "-j", "-GPSLatitude", "-GPSLongitude", "-DateTimeOriginal", *map(str, paths), check=False)
    return json.loads(done)


COMPACT = "Canon PowerShot S95"  # a compact camera: no GPS, no time zone in its files


class Camera:
    """Photos made outside the inbox with exiftool, renamed in whole into it."""

    def __init__(self, root: Path) -> None:
        self.staging, self.inbox = root / "staging", root / "inbox"
        self.staging.mkdir()
        self.inbox.mkdir(exist_ok=True)
        self.seed = 0

    def shoot(self, name: str, taken: str, model: str = COMPACT, *, serial: str | None = None, offset: str | None = None,
              gps: tuple[float, float] | None = None) -> None:
        self.seed += 1
        path = write_jpeg(self.staging / name, self.seed)
        args = ["-q", "-overwrite_original", f"-DateTimeOriginal={taken}", f"-Model={model}"]
        args += [f"-SerialNumber={serial}"] if serial else []
        args += [f"-OffsetTimeOriginal={offset}"] if offset else []
        args += [f"-GPSLatitude={gps[0]}", "-GPSLatitudeRef=N", f"-GPSLongitude={gps[1]}", "-GPSLongitudeRef=E"] if gps else []
        exiftool(*args, str(path))
        os.replace(path, self.inbox / name)

    def text(self, name: str, content: str) -> None:
        """A text file (a track) made outside and renamed into the inbox."""
        path = self.staging / name
        path.write_text(content)
        os.replace(path, self.inbox / name)
