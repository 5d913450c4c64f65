"""Issue 8 items 4 and 7 for the metadata readers: nothing we read can block, and no file can make
a read big or slow. Each case runs read_metadata in a real child process, which reports its own
peak RSS before and after the read and the read's wall time; the large files are sparse
(gigabytes long, no disk used) or crafted to make a naive reader loop or inflate.

The peak is the kernel's VmHWM (/proc/self/status), not resource.getrusage's ru_maxrss: Linux
carries ru_maxrss over fork and exec, so a child of a big pytest process would report the
parent's peak and hide any growth below it."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
GB = 1 << 30
MAX_GROWTH_MB = 32  # the biggest legitimate read is one 8 MB XMP packet, and its copies while parsed
MAX_SECONDS = 3.0

# Reads `warm` first (imports, caches), then `target`; prints the peak RSS growth and the time.
PROBE = """
import json, sys, time
from pathlib import Path
from geolocator.errors import UnreadableImage
from geolocator.locate.metadata import read_metadata
def peak_kb():
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0])
read_metadata(Path(sys.argv[1]))
before = peak_kb()
started = time.monotonic()
try:
    meta = read_metadata(Path(sys.argv[2]))
    outcome = {"lat": meta.lat, "lon": meta.lon}
except UnreadableImage as exc:
    outcome = {"error": str(exc)}
seconds = time.monotonic() - started
after = peak_kb()
print(json.dumps({**outcome, "growth_mb": (after - before) / 1024, "seconds": seconds}))
"""


def probe(warm: Path, target: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", PROBE, str(warm), str(target)], cwd=REPO, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def sparse(path: Path, head: bytes, size: int, tail: bytes = b"") -> Path:
    """`head`, then zeros (a hole: no disk) up to `size`, then `tail`."""
    with path.open("wb") as fh:
        fh.write(head)
        fh.seek(size - len(tail))
        fh.write(tail)
        fh.truncate(size)
    return path


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def loci_box(lat: float, lon: float) -> bytes:
    return box(b"loci", b"\0\0\0\0\x15\xc7Here\0" + struct.pack(">Biii", 0, round(lon * 65536), round(lat * 65536), 0) + b"\0\0")


def jpeg_junk(folder: Path) -> Path:
    """APP0, then 2 GB without a single 0xFF: the search for the next marker must stop early."""
    return sparse(folder / "junk.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\0\1\1\0\0\1\0\1\0\0", 2 * GB)


def huge_sidecar(folder: Path) -> Path:
    """A photo without GPS beside a 2 GB sidecar: at most one packet's worth is read."""
    photo = folder / "photo.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG")
    photo.write_bytes(buf.getvalue())
    sparse(folder / "photo.xmp", b'<x:xmpmeta xmlns:x="adobe:ns:meta/">', 2 * GB)
    return photo


def huge_xmp_tag(folder: Path) -> Path:
    """A TIFF whose IFD0 XMP tag claims 2 GB of XMP."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x02BC, 1, 2 * GB - 64, 64) + struct.pack("<I", 0)
    return sparse(folder / "xmp.tif", b"II*\0\x08\0\0\0" + ifd, 2 * GB)


def png_xmp_bombs(folder: Path) -> Path:
    """200 compressed XMP chunks, each inflating to 8 MB: 1.6 GB if all were kept."""
    text = b"<x:xmpmeta>" + b" " * ((8 << 20) - 64)
    itxt = png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\1\0\0\0" + zlib.compress(text, 9))
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    path = folder / "bombs.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + ihdr + itxt * 200 + png_chunk(b"IEND", b""))
    return path


def heif_iloc_loop(folder: Path) -> Path:
    """An iloc box of 10,000 items with 65,535 zero-byte extents each: 655 million steps if walked."""
    items = b"".join(struct.pack(">HHH", item, 0, 0xFFFF) for item in range(1, 10_001))
    iloc = box(b"iloc", b"\0\0\0\0" + b"\0\0" + struct.pack(">H", 10_000) + items)
    meta = box(b"meta", b"\0\0\0\0" + box(b"hdlr", b"\0" * 8 + b"pict" + b"\0" * 13) + iloc)
    path = folder / "loop.heic"
    path.write_bytes(box(b"ftyp", b"heic\0\0\0\0mif1heic") + meta)
    return path


def camera_movie(folder: Path) -> Path:
    """A movie as cameras write it: 3 GB of media data first, the moov (with its loci box) at the end."""
    moov = box(b"moov", box(b"mvhd", b"\0" * 100) + box(b"udta", loci_box(46.2044, 6.1432)))
    ftyp = box(b"ftyp", b"3gp5\0\0\2\0" + b"3gp5isom")
    mdat_size = 3 * GB
    head = ftyp + struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", mdat_size)
    return sparse(folder / "camera.3gp", head, len(ftyp) + mdat_size + len(moov), moov)


CASES: dict[str, tuple[Callable[[Path], Path], str | None]] = {
    "jpeg_junk": (jpeg_junk, "corrupt JPEG: no segment marker"),
    "huge_sidecar": (huge_sidecar, None),
    "huge_xmp_tag": (huge_xmp_tag, None),
    "png_xmp_bombs": (png_xmp_bombs, None),
    "heif_iloc_loop": (heif_iloc_loop, None),
    "camera_movie": (camera_movie, None),
}


@pytest.fixture(scope="module")
def warm(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("warm") / "warm.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", sorted(CASES))
def test_reads_are_bounded_in_memory_and_time(tmp_path, warm, case):
    build, error = CASES[case]
    report = probe(warm, build(tmp_path))
    assert report["growth_mb"] < MAX_GROWTH_MB, report
    assert report["seconds"] < MAX_SECONDS, report
    if error is not None:
        assert error in report["error"], report
    else:
        assert "error" not in report, report


def test_camera_movie_location_is_found_past_the_media_data(tmp_path, warm):
    report = probe(warm, camera_movie(tmp_path))
    assert (report["lat"], report["lon"]) == (pytest.approx(46.2044, abs=2e-5), pytest.approx(6.1432, abs=2e-5))


# ---------------------------------------------------------------------------------------------
# FIFOs: refused at once, never opened in a way that waits for a writer. Each read runs in a
# child process with a deadline, so a read that blocked would fail the test instead of hanging it.

FIFO_PROBE = """
import json, sys
from pathlib import Path
from geolocator.errors import UnreadableImage
from geolocator.locate.metadata import read_metadata
try:
    meta = read_metadata(Path(sys.argv[1]))
    print(json.dumps({"lat": meta.lat, "lon": meta.lon, "origin": meta.gps_origin}))
except UnreadableImage as exc:
    print(json.dumps({"error": str(exc)}))
"""


def read_in_child(path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        result = subprocess.run([sys.executable, "-c", FIFO_PROBE, str(path)], capture_output=True, text=True, env=env, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"read_metadata({path.name}) blocked")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def xmp_sidecar(lat: str, lon: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="{lat}" exif:GPSLongitude="{lon}"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()


def test_fifo_named_like_a_photo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "IMG_0001.JPG"
    os.mkfifo(fifo)
    assert read_in_child(fifo) == {"error": "not a regular file (a FIFO)"}
    link = tmp_path / "link.jpg"
    link.symlink_to(fifo)
    assert read_in_child(link) == {"error": "not a regular file (a FIFO)"}


def test_fifo_named_like_a_sidecar_is_skipped(tmp_path, warm):
    """A FIFO a.xmp beside a.jpg: the photo is read, the FIFO skipped, the next sidecar name used."""
    photo = tmp_path / "a.jpg"
    photo.write_bytes(warm.read_bytes())
    os.mkfifo(tmp_path / "a.xmp")
    assert read_in_child(photo) == {"lat": None, "lon": None, "origin": None}
    (tmp_path / "a.jpg.xmp").write_bytes(xmp_sidecar("48,51.5N", "2,17.7E"))
    located = read_in_child(photo)
    assert located["origin"] == "sidecar" and located["lat"] == pytest.approx(48 + 51.5 / 60)
    assert (tmp_path / "a.xmp").is_fifo()  # left as it was


def test_two_fifo_pairs_in_one_process(tmp_path, warm):
    """The issue's "two such pairs stop all ingest": both reads finish, in one process."""
    for name in ("b", "c"):
        (tmp_path / f"{name}.jpg").write_bytes(warm.read_bytes())
        os.mkfifo(tmp_path / f"{name}.xmp")
        os.mkfifo(tmp_path / f"{name}.jpg.XMP")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = "import sys; from pathlib import Path; from geolocator.locate.metadata import read_metadata; print([read_metadata(Path(p)).lat for p in sys.argv[1:]])"
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "b.jpg"), str(tmp_path / "c.jpg")], capture_output=True, text=True, env=env, timeout=20, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[None, None]"
