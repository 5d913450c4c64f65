"""Videos get thumbnails: their first picture, upright, through PyAV; bounded for broken and
crafted files. Real videos made with PyAV's encoders (h264 in MP4 and 3GP, MPEG-4 in MOV, some
with a rotation in the container's display matrix, read back by exiftool as the ground truth),
served by the real viewer over HTTP; memory and time measured on a fresh process."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from configs import write_config
from exiftool_process import exiftool
from expect import wait_until, wait_until_js
from PIL import Image
from processes import free_port, imported_modules, run_daemon, stop, wait_ready
from records import record, rid

from geolocator.config import load_config
from geolocator.core import Core
from geolocator.errors import UnreadableImage
from geolocator.media.images import decode_still
from geolocator.media.video_frames import MAX_PACKET_BYTES, MAX_SIDE
from geolocator.record import record_id
from geolocator.record.store import Store
from tests.test_browser import CHROMIUM, Viewer
from tests.test_viewer_http import Client
from viewer import ViewerServer, create_app
from viewer.thumbnails import THUMB_PX

pytestmark = pytest.mark.timeout(120)

RED, BLUE = (255, 0, 0), (0, 0, 255)
TWO_GB = 2 << 30


def picture(width: int, height: int) -> np.ndarray:
    """Red above, blue below: which way up a picture is shows at a glance."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[: height // 2] = RED
    pixels[height // 2 :] = BLUE
    return pixels


def video(path: Path, codec: str = "libx264", *, container: str | None = None, rotation: float | None = None,
          size: tuple[int, int] = (160, 96), frames: int = 6, faststart: bool = False) -> Path:
    """A real video of `frames` red-over-blue pictures; `rotation` (degrees counter-clockwise) in its display matrix."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format=container, options=options) as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for _ in range(frames):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(picture(*size), format="rgb24")))
        out.mux(stream.encode())
    return path


def exiftool_rotation(path: Path) -> int:
    """The clockwise rotation a player applies, as exiftool reads it from the track header."""
    done = exiftool("-j", "-n", "-Rotation", str(path))
    return int(json.loads(done)[0].get("Rotation", 0))


def upright_reference(path: Path, size: tuple[int, int]) -> Image.Image:
    """The picture as a player shows it: the original turned clockwise by exiftool's rotation."""
    return Image.fromarray(picture(*size)).rotate(-exiftool_rotation(path), expand=True)


def colour_at(image: Image.Image, fx: float, fy: float) -> tuple[int, int, int]:
    r, g, b = image.convert("RGB").getpixel((int(fx * (image.width - 1)), int(fy * (image.height - 1))))
    return r, g, b


def near(colour: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(colour, expected, strict=True))


def assert_looks_like(image: Image.Image, reference: Image.Image) -> None:
    assert image.size[0] * reference.size[1] == image.size[1] * reference.size[0], (image.size, reference.size)  # same shape
    for fx, fy in [(0.1, 0.1), (0.9, 0.1), (0.1, 0.9), (0.9, 0.9)]:
        assert near(colour_at(image, fx, fy), colour_at(reference, fx, fy)), (fx, fy, colour_at(image, fx, fy), colour_at(reference, fx, fy))


# -- crafted and broken files ----------------------------------------------------------------------


def patched(source: Path, target: Path, box: bytes, offset: int, fmt: str, *values: int) -> Path:
    """`source` with `values` packed at `offset` bytes into the first `box` box (after its type)."""
    data = bytearray(source.read_bytes())
    at = data.index(box) + len(box)
    struct.pack_into(fmt, data, at + offset, *values)
    target.write_bytes(bytes(data))
    return target


def claiming_size(path: Path, width: int, height: int) -> Path:
    """A real MOV of raw pictures (whose size only the container gives) whose sample entry claims width x height."""
    with av.open(str(path), "w", format="mov") as out:
        stream = out.add_stream("rawvideo", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "rgb24"
        out.mux(stream.encode(av.VideoFrame.from_ndarray(picture(64, 32), format="rgb24")))
        out.mux(stream.encode())
    # VisualSampleEntry after its type: reserved(6) data_reference_index(2) pre_defined/reserved(16) width(2) height(2)
    return patched(path, path, b"stsd", 4 + 4 + 4 + 4 + 6 + 2 + 16, ">HH", width, height)


def truncated(source: Path, target: Path, fraction: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def endless_mdat(source: Path, target: Path) -> Path:
    """The start of a real MP4 (ftyp) followed by an mdat box whose 64-bit size claims 2^62 bytes."""
    data = source.read_bytes()
    ftyp_size = struct.unpack(">I", data[:4])[0]
    target.write_bytes(data[:ftyp_size] + struct.pack(">I4sQ", 1, b"mdat", 1 << 62) + bytes(4096))
    return target


def huge_first_sample(source: Path, target: Path, sample_bytes: int) -> Path:
    """A real fast-start MP4 whose first sample claims `sample_bytes`, in a sparse 2 GB file."""
    # stsz after its type: version/flags(4) sample_size(4) sample_count(4) entry[0](4)
    patched(source, target, b"stsz", 12, ">I", sample_bytes)
    with target.open("r+b") as fh:
        fh.truncate(TWO_GB)
    return target


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    phone = video(folder / "phone.mp4", rotation=-90)  # a portrait phone video: landscape frames, turned clockwise
    fast = video(folder / "fast.mp4", faststart=True)
    return {
        "phone.mp4": phone,
        "clip.mov": video(folder / "clip.mov", "mpeg4", container="mov", rotation=90),
        "upside.mp4": video(folder / "upside.mp4", rotation=180),
        "web.mp4": video(folder / "web.mp4", "libvpx-vp9", rotation=-90),  # VP9: what Debian's chromium plays
        "call.3gp": video(folder / "call.3gp", container="3gp", size=(176, 144)),
        "fast.mp4": fast,
        "cut.mp4": truncated(phone, folder / "cut.mp4", 0.6),
        "cut-fast.mp4": truncated(fast, folder / "cut-fast.mp4", 0.9),
        "notes.mp4": _text(folder / "notes.mp4"),
        "giant.mov": claiming_size(folder / "giant.mov", 16000, 16000),
        "endless.mp4": endless_mdat(fast, folder / "endless.mp4"),
        "bigsample.mp4": huge_first_sample(fast, folder / "bigsample.mp4", 200_000_000),
    }


def _text(path: Path) -> Path:
    path.write_text("not a video at all\n" * 20)
    return path


# -- the first picture -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "clockwise"), [("phone.mp4", 90), ("clip.mov", 270), ("upside.mp4", 180), ("web.mp4", 90), ("call.3gp", 0), ("fast.mp4", 0)])
def test_the_first_picture_is_upright_as_players_show_it(videos, name, clockwise):
    path = videos[name]
    assert exiftool_rotation(path) == clockwise  # what the file says, read by another program
    size = (176, 144) if name.endswith(".3gp") else (160, 96)
    image = decode_still(path, THUMB_PX)
    assert image.mode == "RGB" and max(image.size) <= THUMB_PX
    assert image.size == upright_reference(path, size).size  # small enough already: not enlarged
    assert_looks_like(image, upright_reference(path, size))


def test_the_picture_is_scaled_to_the_size_asked(videos):
    image = decode_still(videos["phone.mp4"], 40)
    assert image.size == (24, 40)  # portrait, longest side 40
    assert_looks_like(image, upright_reference(videos["phone.mp4"], (160, 96)))


@pytest.mark.parametrize(("name", "reason"), [
    ("cut.mp4", "cut.mp4: no video stream"),  # its moov (written last) is gone: FFmpeg finds no stream
    ("cut-fast.mp4", "cut-fast.mp4: "),  # the headers are there, the pictures cut short
    ("notes.mp4", "notes.mp4: not an image format we can read"),  # known by content, not by name
    ("giant.mov", f"giant.mov: 16000x16000 pixels is too large to decode safely (limit {MAX_SIDE} px a side"),
    ("endless.mp4", "endless.mp4: cannot decode video: "),
    ("bigsample.mp4", "bigsample.mp4: a packet of "),  # 200 MB claimed; what 32 MB of reading gave, not decoded
])
def test_broken_and_crafted_videos_are_refused_with_the_reason(videos, name, reason):
    started = time.process_time()  # CPU time of the process (FFmpeg's threads too): not the machine's load
    with pytest.raises(UnreadableImage) as refused:
        decode_still(videos[name], THUMB_PX)
    assert str(refused.value).startswith(reason), str(refused.value)
    if name == "bigsample.mp4":
        assert str(refused.value).endswith(f" MB, over the {MAX_PACKET_BYTES >> 20} MB we decode")
    assert time.process_time() - started < 5


def test_a_fifo_named_like_a_video_is_never_opened(tmp_path):
    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(UnreadableImage, match=r"clip\.mp4: cannot read: not a regular file \(a FIFO\)"):
        decode_still(fifo, THUMB_PX)
    assert time.monotonic() - started < 30  # no writer ever comes: an open() would block forever


MEASURE = """
import json, resource, sys, time
from pathlib import Path
from geolocator.errors import UnreadableImage
from geolocator.record import record_id
from geolocator.media.images import decode_still
decode_still(Path(sys.argv[1]), 320)  # warm up: PyAV and FFmpeg loaded
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
results = {}
def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
for name in sys.argv[2:]:
    started = cpu_seconds()
    try:
        outcome = "picture %dx%d" % decode_still(Path(name), 320).size
    except UnreadableImage as exc:
        outcome = str(exc)
    results[Path(name).name] = {"outcome": outcome, "cpu_seconds": cpu_seconds() - started}
print(json.dumps({"growth_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline, "results": results}))
"""


def test_crafted_videos_cost_bounded_memory_and_time_in_a_fresh_process(videos):
    hostile = ["cut.mp4", "cut-fast.mp4", "giant.mov", "endless.mp4", "bigsample.mp4"]
    done = subprocess.run([sys.executable, "-c", MEASURE, str(videos["fast.mp4"]), *(str(videos[n]) for n in hostile)],
                          capture_output=True, text=True, timeout=60, check=True, cwd=Path(__file__).resolve().parent.parent)
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(measured["results"]) == set(hostile)
    for name, result in measured["results"].items():
        assert result["outcome"].startswith(name + ": "), result  # refused, with the reason
        assert result["cpu_seconds"] < 5, (name, result)
    # a 200 MB first packet in a 2 GB file: at most 32 MB of it is read, and never decoded (measured: ~31 MB)
    assert measured["growth_kb"] < 80 * 1024, measured


# -- over HTTP, through the real viewer -----------------------------------------------------------


@pytest.fixture
def viewer(tmp_path, videos):
    config = load_config(None, cwd=tmp_path)
    library = config.paths.library
    library.mkdir(parents=True)
    names = list(videos)
    for name in names:
        os.link(videos[name], library / name)  # the 2 GB sparse file stays sparse
    store = Store(config.paths.database)
    store.put_many([record(n, name=name, path=name) for n, name in enumerate(names, start=1)])
    server = ViewerServer(create_app(Core.build(config, store)), "127.0.0.1", 0).start()
    yield {"client": Client(server.url), "ids": {name: rid(n) for n, name in enumerate(names, start=1)},
           "thumbnails": config.paths.database.parent / "thumbnails", "library": library}
    server.stop()
    store.close()


@pytest.mark.parametrize("name", ["phone.mp4", "clip.mov", "web.mp4", "call.3gp"])
def test_a_video_has_a_thumbnail_made_once_and_cached(viewer, name):
    client, rid_ = viewer["client"], viewer["ids"][name]
    status, response, body = client.get(f"/thumb/{rid_}")
    assert status == 200 and response.getheader("Content-Type") == "image/jpeg", body[:200]
    thumb = Image.open(io.BytesIO(body))
    assert thumb.format == "JPEG" and len(thumb.getexif()) == 0
    size = (176, 144) if name.endswith(".3gp") else (160, 96)
    assert_looks_like(thumb, upright_reference(viewer["library"] / name, size))
    cached = viewer["thumbnails"] / f"{rid_}.jpg"
    assert cached.read_bytes() == body
    assert client.get(f"/thumb/{rid_}")[2] == body  # served from the cache


def test_a_video_still_plays_with_range_requests(viewer):
    client, rid_ = viewer["client"], viewer["ids"]["phone.mp4"]
    whole = (viewer["library"] / "phone.mp4").read_bytes()
    assert client.get(f"/thumb/{rid_}")[0] == 200
    status, response, body = client.get(f"/image/{rid_}", Range="bytes=10-99")
    assert status == 206 and response.getheader("Content-Type") == "video/mp4" and body == whole[10:100]


def test_a_3gp_the_browser_cannot_play_is_previewed_by_its_first_picture(viewer):
    status, response, body = viewer["client"].get(f"/preview/{viewer['ids']['call.3gp']}")
    assert status == 200 and response.getheader("Content-Type") == "image/jpeg"
    assert_looks_like(Image.open(io.BytesIO(body)), upright_reference(viewer["library"] / "call.3gp", (176, 144)))


def test_broken_and_crafted_videos_have_no_thumbnail_and_cost_little(viewer):
    client = viewer["client"]
    for name in ["cut.mp4", "cut-fast.mp4", "notes.mp4", "giant.mov", "endless.mp4", "bigsample.mp4"]:
        started = time.process_time()  # the server's threads are this process's
        status, _, body = client.get(f"/thumb/{viewer['ids'][name]}")
        assert status == 404 and b"no thumbnail for this file" in body, (name, status, body[:200])
        assert time.process_time() - started < 5, name
        assert not (viewer["thumbnails"] / f"{viewer['ids'][name]}.jpg").exists()
    assert client.get(f"/thumb/{viewer['ids']['fast.mp4']}")[0] == 200  # the viewer still works after them


# -- scan, locate and the service: PyAV only once a video's thumbnail is asked for ---------------

PYAV = {"av", "geolocator.media.video_frames"}
IMPORTTIME = ("-X", "importtime")  # every module listed on stderr as it is imported


def test_scan_and_locate_of_a_video_import_no_pyav(tmp_path, videos):
    config = write_config(tmp_path / "config.toml", settle=0.2)
    located = run_daemon("locate", "--no-ai", "--config", str(config), str(videos["phone.mp4"]), cwd=tmp_path, python=IMPORTTIME)
    assert json.loads(located.stdout.splitlines()[0])["file"] == str(videos["phone.mp4"]), located.stderr[-2000:]
    modules = imported_modules(located.stderr)
    assert "geolocator.locate.metadata" in modules and not PYAV & modules  # the measurement works; no PyAV
    (tmp_path / "inbox").mkdir(exist_ok=True)
    (tmp_path / "inbox" / "phone.mp4").write_bytes(videos["phone.mp4"].read_bytes())
    scanned = run_daemon("scan", "--config", str(config), cwd=tmp_path, python=IMPORTTIME)
    assert scanned.stdout.startswith("scan: "), scanned.stderr[-2000:]
    modules = imported_modules(scanned.stderr)
    assert "geolocator.pipeline" in modules and not PYAV & modules
    assert not (tmp_path / "inbox" / "phone.mp4").exists()  # it was filed


def test_the_service_files_a_video_without_pyav_and_serves_its_thumbnail(tmp_path, videos, daemon):
    port = free_port()
    config = write_config(tmp_path / "config.toml", settle=0.2, viewer={"enabled": True, "port": port})
    (tmp_path / "inbox").mkdir(exist_ok=True)
    data = videos["clip.mov"].read_bytes()
    (tmp_path / "inbox" / "clip.mov").write_bytes(data)
    proc = daemon("--config", str(config), python=IMPORTTIME)
    started = imported_modules(wait_ready(proc))
    assert "geolocator.service" in started and not PYAV & started
    client, thumb = Client(f"http://127.0.0.1:{port}"), f"/thumb/{record_id(hashlib.sha256(data).hexdigest())}"
    _, response, body = wait_until(lambda: (answer := client.get(thumb))[0] == 200 and answer, 30, "the filed video's thumbnail")
    assert response.getheader("Content-Type") == "image/jpeg"
    assert_looks_like(Image.open(io.BytesIO(body)), upright_reference(videos["clip.mov"], (160, 96)))
    _, rest = stop(proc, signal.SIGTERM, timeout=30)
    assert proc.returncode == 0, rest[-2000:]
    assert imported_modules(rest) >= PYAV  # imported for the thumbnail, not before


# -- in the page: the list, the popup and the photo viewer (Debian's chromium) ---------------------



@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (scripts/install-system-deps.sh)")
def test_the_page_shows_video_thumbnails_in_the_list_and_the_popup_and_plays_the_video(tabs, tmp_path, videos):
    served = Viewer(tmp_path)
    library = served.config.paths.library
    library.mkdir(parents=True)
    for name in ("phone.mp4", "clip.mov", "web.mp4"):
        shutil.copy(videos[name], library / name)
    store = Store(served.config.paths.database)
    store.put_many([record(1, name="phone.mp4", path="phone.mp4", lat=38.7139, lon=-9.1394, taken_at="2024-05-01T10:00:00"),
                    record(2, name="clip.mov", path="clip.mov", lat=38.7149, lon=-9.1384, taken_at="2024-05-02T10:00:00"),
                    record(3, name="web.mp4", path="web.mp4", lat=38.7144, lon=-9.1394, taken_at="2024-05-03T10:00:00")])
    store.close()
    served.start()
    try:
        with tabs() as page:
            page.goto(served.url)
            page.wait_for_selector("body[data-ready=true]", state="attached", timeout=20000)
            page.evaluate("void geolocator.map.setView([38.7144, -9.1389], 15, {animate: false})")
            wait_until_js(page, "document.querySelector('#list').dataset.total === '3'")
            # Each row's thumbnail is the video's first picture, upright: the phone video is portrait.
            sizes = wait_until_js(page, "(imgs => imgs.length === 3 && imgs.every(i => i.complete && i.naturalWidth > 0)"
                                        " && Object.fromEntries(imgs.map(i => [i.closest('.vrow').dataset.id, [i.naturalWidth, i.naturalHeight]])))"
                                        "([...document.querySelectorAll('#list .vrow-thumb img')])")
            assert sizes == {rid(1): [96, 160], rid(2): [96, 160], rid(3): [96, 160]}
            page.locator(f"#list .vrow[data-id='{rid(1)}'] .vrow-name").click()
            page.wait_for_selector(f".leaflet-popup .popup[data-id='{rid(1)}']")
            assert wait_until_js(page, "(i => i && i.complete && i.naturalWidth > 0 && [i.naturalWidth, i.naturalHeight])"
                                       "(document.querySelector('.leaflet-popup img.thumb'))") == [96, 160]
            # The viewer plays the video itself, from /image/ (Range), not a still: its metadata read, upright.
            page.click(f"#list .vrow[data-id='{rid(3)}'] .vrow-thumb")
            playing = "(v => v && v.readyState >= 1 && [v.getAttribute('src'), v.videoWidth, v.videoHeight])(document.querySelector('#photoviewer video.pv-media'))"
            assert wait_until_js(page, playing) == [f"/image/{rid(3)}", 96, 160]
            # H.264 (phones' codec): played where the browser can; a chromium built without it offers the download.
            page.keyboard.press("Escape")
            page.click(f"#list .vrow[data-id='{rid(1)}'] .vrow-thumb")
            shown = wait_until_js(page, f"{playing} || (a => a && a.getAttribute('href'))(document.querySelector('#photoviewer .pv-cannot a[download]'))")
            assert shown in ([f"/image/{rid(1)}", 96, 160], f"/image/{rid(1)}")
            assert not page.errors, page.errors
    finally:
        served.stop()


def test_the_model_is_shown_a_videos_first_picture_upright(videos: dict[str, Path]) -> None:
    """A video without GPS goes to the AI as its first picture, as a player shows it, without metadata."""
    from geolocator.locate.ai.imageprep import prepare_image

    sent = Image.open(io.BytesIO(prepare_image(videos["phone.mp4"], 1344)))
    assert sent.format == "JPEG" and not sent.getexif()
    assert sent.size == upright_reference(videos["phone.mp4"], (160, 96)).size  # portrait: turned as exiftool says
    with pytest.raises(UnreadableImage, match=r"notes\.mp4"):
        prepare_image(videos["notes.mp4"], 1344)
