"""The first picture of a video (MP4, MOV, 3GP: phone videos), for thumbnails, through PyAV
(FFmpeg's demuxers and decoders, bundled in its wheels).

Imported only when a video's picture is asked for: PyAV loads FFmpeg's libraries (tens of MB),
which `scan`, `locate` and the service's start never need.

Bounded whatever the file claims: it is opened with `open_regular` (never a FIFO or a device) and
read through `_Budget`, which ends the file (EOF) after MAX_READ_BYTES or when the wall-time bound
has passed, so no demuxer loop reads a 2 GB file or runs on; the frame's declared size is checked
before anything is decoded, and the decoder itself refuses bigger pictures (`max_pixels`); one
decoder thread, only keyframes, at most MAX_PACKETS packets of at most MAX_PACKET_BYTES. The
picture is scaled by FFmpeg straight to the size asked for (a 4K frame never exists as a
full-size RGB image) and turned as the container's display matrix says (phones store portrait
videos as landscape frames and a 90° rotation). Every failure is an UnreadableImage with the
reason.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import BinaryIO

import av
from PIL import Image

from geolocator.errors import UnreadableImage
from geolocator.fileio import open_regular

MAX_FRAME_PIXELS = 7680 * 4320  # 8K UHD, the largest a phone records (~50 MB as YUV 4:2:0)
MAX_SIDE = 8192
MAX_PACKETS = 64  # the first keyframe is the first packet of a video stream; a few more for decoder delay
MAX_READ_BYTES = 32 * 1024 * 1024  # headers (the moov of an hour-long 4K video: a few MB) and the first frames
MAX_PACKET_BYTES = 16 * 1024 * 1024  # an 8K keyframe is a few MB; a bigger packet is not decoded
SECONDS = 5.0
_QUARTER_TURNS = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


class _Budget:
    """A file as PyAV reads it (read/seek/tell), ending early once `limit` bytes are read or the deadline passes."""

    def __init__(self, fh: BinaryIO, limit: int, deadline: float) -> None:
        self._fh = fh
        self._left = limit
        self._deadline = deadline
        self.exhausted = ""  # why the file was ended early, if it was

    def read(self, size: int = -1) -> bytes:
        if time.monotonic() > self._deadline:
            self.exhausted = f"more than {SECONDS:g} s"
        elif self._left <= 0:
            self.exhausted = f"more than {MAX_READ_BYTES >> 20} MB read"
        if self.exhausted:
            return b""
        data = self._fh.read(self._left if size < 0 else min(size, self._left))
        self._left -= len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()


def first_frame(path: Path, max_px: int) -> Image.Image:
    """The first picture of the video at `path`: upright, RGB, longest side <= max_px.

    Raises UnreadableImage (with the reason) when the file is not a video we can decode.
    """
    deadline = time.monotonic() + SECONDS
    try:
        with open_regular(path) as fh:
            budget = _Budget(fh, MAX_READ_BYTES, deadline)
            try:
                with av.open(budget, "r", timeout=SECONDS) as container:
                    frame = _first_keyframe(container, deadline)
            except UnreadableImage:
                raise
            except (av.FFmpegError, OSError, ValueError) as exc:  # FFmpeg's errors; a cut-short read
                raise UnreadableImage(f"cannot decode video: {_reason(exc, budget)}") from None
            if frame is None:
                raise UnreadableImage(f"no picture in the video's first {MAX_PACKETS} packets" + (f" ({budget.exhausted})" if budget.exhausted else ""))
            return _upright(_scaled(frame, max_px), frame.rotation)
    except UnreadableImage as exc:
        raise UnreadableImage(f"{path.name}: {exc}") from None
    except OSError as exc:  # open_regular: not a regular file, gone, no permission
        raise UnreadableImage(f"{path.name}: cannot read video: {exc.strerror or exc}") from None


def _first_keyframe(container: av.container.InputContainer, deadline: float) -> av.VideoFrame | None:
    if not container.streams.video:
        raise UnreadableImage("no video stream")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width <= 0 or height <= 0:
        raise UnreadableImage("the video stream declares no picture size")
    if width * height > MAX_FRAME_PIXELS or max(width, height) > MAX_SIDE:
        raise UnreadableImage(f"{width}x{height} pixels is too large to decode safely (limit {MAX_SIDE} px a side, {MAX_FRAME_PIXELS // 1_000_000} MP)")
    context = stream.codec_context
    context.thread_count = 1  # one picture: threads would only multiply the buffers
    context.skip_frame = "NONKEY"
    context.options = {"max_pixels": str(MAX_FRAME_PIXELS)}  # the decoder refuses a bigger picture than declared
    for count, packet in enumerate(container.demux(stream), start=1):
        if time.monotonic() > deadline:
            raise UnreadableImage(f"no picture within {SECONDS:g} s")
        if packet.size > MAX_PACKET_BYTES:
            raise UnreadableImage(f"a packet of {packet.size >> 20} MB, over the {MAX_PACKET_BYTES >> 20} MB we decode")
        frames = stream.decode(packet)
        if frames:
            return frames[0]
        if count >= MAX_PACKETS:
            break
    frames = stream.decode(None)  # what the decoder still holds (its reordering delay)
    return frames[0] if frames else None


def _scaled(frame: av.VideoFrame, max_px: int) -> Image.Image:
    scale = min(1.0, max_px / max(frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    image: Image.Image = frame.reformat(width, height, "rgb24", interpolation="BICUBIC").to_image()  # type: ignore[no-untyped-call]  # untyped in PyAV's stubs
    return image


def _upright(image: Image.Image, rotation: int) -> Image.Image:
    """`image` turned counter-clockwise by `rotation` degrees (the display matrix's angle, as PyAV reads it)."""
    turn = _QUARTER_TURNS.get(round(rotation / 90) * 90 % 360)
    return image.transpose(turn) if turn is not None else image


def _reason(exc: BaseException, budget: _Budget) -> str:
    reason = (exc.strerror if isinstance(exc, av.FFmpegError | OSError) else None) or str(exc) or type(exc).__name__
    return f"{reason} (stopped after {budget.exhausted})" if budget.exhausted else reason
