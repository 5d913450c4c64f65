"""Whether two photos show the same picture (pure, on numpy): a perceptual signature of each, the
windows to look a copy up by, and the finer check that tells a copy from another photo.

A copy is the same picture re-encoded (JPEG at any quality, WebP, HEIC made JPEG), resized,
stripped of its metadata, turned upright, and cropped by up to a tenth on any side. Decoded
upright and small (`media.images.decode` bounds the work), every picture becomes a grey image of
GREY_PX on its long side, and its signature is two 64-bit pHashes: of the whole frame and of its
centre (CENTRE, the middle 80% each way). A pHash is the sign of each of the 8x8 lowest spatial
frequencies (a DCT of the 32x32 grey picture) against their median: re-encoding and resizing
change it by a few bits of 64, while a different photo differs by about 32. Cropping moves it
more, so a crop is found through the centre: the centre of an original lies, in any copy cropped
by up to a tenth a side, within one of COPY_WINDOWS; the centre of a copy lies in its original
within one of ORIGINAL_WINDOWS. Hashes of those windows looked up among the stored centres find
the pair (a Hamming distance of at most COARSE_RADIUS; as each hash has as many bits set as the
median leaves, distances are even).

Written here rather than taken from `imagehash`: its phash hashes one PIL image per call (a
resize each, then scipy's DCT) and `import imagehash` loads PyWavelets and scipy, while this
needs the hashes of fifty windows of one grey picture at once, which is one resize per window
and two matrix products for all of them.

Candidates are then checked on the pictures themselves (`likeness`): the copy's grey picture is
fitted into the original's (the crop found per axis from the row and column profiles, then
refined in 2-D), and both the correlation of the grey levels and that of their edges (gradient
magnitudes) must be high. That separates different photos of one scene, whose hashes may be
near. Pictures with too little in them to tell apart are not compared at all (`plain`): a clear
sky, fog or a blank wall (hardly any detail), a page of text, a drawing or a logo (few tones).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

GREY_PX = 160  # the grey picture compared, long side
DECODE_PX = 320  # decoded at least this large before shrinking (`media.images.decode`: JPEG draft scaling keeps it cheap)
HASH_PX = 32  # pHash input
MIN_PX = 32  # smaller pictures are not compared
COARSE_RADIUS = 8  # Hamming distance (of 64 bits) within which two hashes are candidates
PLAIN = ""  # the signature of a picture too plain to compare

# Plain pictures (see `plain`): grey levels at 64x64 differ from their neighbours' by less than
# this on average (a clear sky: 0.6-1.0; photos of anything: 3.5 and more), or their histogram
# of 32 grey levels holds less than this entropy (a page of text: 1.2-2.0 bits; drawings and
# logos: 0.6-1.6; photos: 2.8 and more, most over 3.5).
MIN_DETAIL = 2.0
MIN_ENTROPY_BITS = 2.5

# The finer check (`likeness`): measured by bench/copies.py on 256 copies of the corpus's photos
# (re-encoded at quality 60-95, WebP, HEIC to JPEG, resized to 640 px, stripped, turned upright,
# cropped by up to a tenth a side) the fitted copies correlate at 0.992 and more, their edges at
# 0.9 and more; other photos the hashes offer, at 0.967 and less: two shots of one chandelier 26 s
# apart, one a little to the side (the corpus's canon_hdr pair, a crop of one fitted into the
# other), which the capture times tell apart only while both files keep them.
SAME_CORRELATION = 0.98
SAME_EDGES = 0.6
MAX_CROP_SEARCH = 0.12  # how far in from each side the fit looks (crops are up to 0.10)
MAX_ASPECT_CHANGE = 0.04  # a copy keeps the shape of the part of the original it shows
_FIT_PX = 64
_EDGE_STEPS = np.linspace(0.0, MAX_CROP_SEARCH, 13)
_REFINE_STEPS = (0.01, 0.005, 0.0025)


@dataclass(frozen=True)
class Box:
    """A window of a picture, as fractions of its width and height."""

    x0: float
    y0: float
    x1: float
    y1: float

    def describe(self) -> str:
        """What a crop to this window took off: "3% left, 2% bottom", or "nothing"."""
        cut = {"left": self.x0, "top": self.y0, "right": 1 - self.x1, "bottom": 1 - self.y1}
        said = [f"{round(value * 100)}% {side}" for side, value in cut.items() if round(value * 100) > 0]
        return ", ".join(said) or "nothing"


WHOLE = Box(0.0, 0.0, 1.0, 1.0)
CENTRE = Box(0.1, 0.1, 0.9, 0.9)


def _windows(sizes: Sequence[float], shifts: Sequence[float] = (-0.05, -0.025, 0.0, 0.025, 0.05)) -> tuple[Box, ...]:
    return tuple(Box(0.5 - s / 2 + dx, 0.5 - s / 2 + dy, 0.5 + s / 2 + dx, 0.5 + s / 2 + dy) for s in sizes for dx in shifts for dy in shifts)


# An original's CENTRE, seen in a copy that kept from 90% to all of each side: 0.8 to 0.89 of
# the copy's width, off its middle by up to 0.056. A copy's CENTRE in its original: 0.72 to 0.8,
# off by up to 0.05. Fifty windows each cover those ranges closely enough that the hashes of
# 99% of the corpus's crops come within COARSE_RADIUS (bench/copies.py).
COPY_WINDOWS = _windows((0.82, 0.865))
ORIGINAL_WINDOWS = _windows((0.74, 0.78))


@dataclass(frozen=True)
class Picture:
    """A photo's picture as compared: small, grey, upright, with its two hashes."""

    grey: np.ndarray  # grey levels (float, rows by columns), long side at most GREY_PX
    table: np.ndarray  # its `summed` table, which every window is read from
    full: int  # pHash of the whole frame
    centre: int  # pHash of CENTRE
    plain: str | None = None  # why it is too plain to compare (then it is never matched)

    @property
    def signature(self) -> str:
        """As a record keeps it (`PhotoRecord.phash`): 32 hex digits, or PLAIN."""
        return PLAIN if self.plain else f"{self.full:016x}{self.centre:016x}"


def parse_signature(text: str | None) -> tuple[int, int] | None:
    """(full, centre) of a stored signature; None for none, a plain picture or a malformed one."""
    if not text or len(text) != 32:
        return None
    try:
        return int(text[:16], 16), int(text[16:], 16)
    except ValueError:
        return None


def picture_of(image: Image.Image) -> Picture:
    """The picture of an upright image (any mode)."""
    small = image.convert("L")
    small.thumbnail((GREY_PX, GREY_PX), Image.Resampling.BOX)
    grey = np.asarray(small, dtype=np.float64)
    table = summed(grey)
    why = plain(grey, table)
    if why is not None:
        return Picture(grey, table, 0, 0, why)
    full, centre = (int(h) for h in hashes(table, (WHOLE, CENTRE)))
    return Picture(grey, table, full, centre)


def plain(grey: np.ndarray, table: np.ndarray) -> str | None:
    """Why a picture has too little in it to be told from another like it, else None. Two clear
    skies, two pages of text or two drawings on white match each other as well as a copy matches
    its original: such pictures are never compared (and their copies never found)."""
    height, width = grey.shape
    if min(height, width) < MIN_PX:
        return f"too small to compare ({width}x{height} pixels)"
    small = resampled(table, WHOLE, 64)
    detail = (np.abs(np.diff(small, axis=0)).mean() + np.abs(np.diff(small, axis=1)).mean()) / 2
    if detail < MIN_DETAIL:
        return "hardly any detail (a clear sky, fog, a blank wall)"
    counts = np.bincount(grey.astype(np.uint8).ravel() >> 3, minlength=32)
    shares = counts[counts > 0] / counts.sum()
    if float(-(shares * np.log2(shares)).sum()) < MIN_ENTROPY_BITS:
        return "few tones (a page of text, a drawing, a logo)"
    return None


@functools.cache
def _dct_rows() -> np.ndarray:
    """The 8 lowest rows of the orthonormal DCT-II matrix of size HASH_PX."""
    k = np.arange(8)[:, None]
    i = np.arange(HASH_PX)[None, :]
    rows = np.cos(np.pi * (2 * i + 1) * k / (2 * HASH_PX)) * math.sqrt(2 / HASH_PX)
    rows[0] /= math.sqrt(2)
    return rows


def summed(grey: np.ndarray) -> np.ndarray:
    """The summed-area table of a grey picture: [y, x] is the sum of everything above and left of
    that corner ((height + 1) x (width + 1))."""
    table = np.zeros((grey.shape[0] + 1, grey.shape[1] + 1))
    table[1:, 1:] = grey.cumsum(axis=0).cumsum(axis=1)
    return table


def resampled(table: np.ndarray, window: Box, size: int) -> np.ndarray:
    """The `window` of a picture (given by its `summed` table) at `size` x `size`."""
    one: np.ndarray = resampled_many(table, (window,), size)[0]
    return one


def resampled_many(table: np.ndarray, windows: Sequence[Box], size: int) -> np.ndarray:
    """Windows of a picture (given by its `summed` table) at `size` x `size` each, (len(windows),
    size, size): each pixel the mean of the part of the picture it covers, four corners of the
    table read between its points (the integral of square pixels is bilinear within each, so
    that is exact). Done here rather than by Pillow's resize (no image made for each of the
    hundred windows a picture is looked at through) or by matrix products (which OpenBLAS hands
    to threads at these sizes: slower, by far, on a busy machine)."""
    height, width = table.shape[0] - 1, table.shape[1] - 1
    steps = np.arange(size + 1) / size
    bounds = np.array([(w.x0, w.y0, w.x1, w.y1) for w in windows], dtype=np.float64)
    xs = np.clip(width * (bounds[:, 0:1] + (bounds[:, 2:3] - bounds[:, 0:1]) * steps), 0.0, width)  # (windows, size + 1)
    ys = np.clip(height * (bounds[:, 1:2] + (bounds[:, 3:4] - bounds[:, 1:2]) * steps), 0.0, height)
    x0 = np.minimum(xs.astype(np.intp), width - 1)
    y0 = np.minimum(ys.astype(np.intp), height - 1)
    fx, fy = (xs - x0)[:, None, :], (ys - y0)[:, :, None]
    rows, cols = y0[:, :, None], x0[:, None, :]
    corners = (
        table[rows, cols] * (1 - fy) * (1 - fx) + table[rows, cols + 1] * (1 - fy) * fx
        + table[rows + 1, cols] * fy * (1 - fx) + table[rows + 1, cols + 1] * fy * fx
    )  # fmt: skip
    sums = corners[:, 1:, 1:] - corners[:, 1:, :-1] - corners[:, :-1, 1:] + corners[:, :-1, :-1]
    areas = np.diff(ys, axis=1)[:, :, None] * np.diff(xs, axis=1)[:, None, :]
    out: np.ndarray = sums / np.maximum(areas, 1e-12)
    return out


def hashes(table: np.ndarray, windows: Sequence[Box]) -> np.ndarray:
    """The pHash (uint64) of each window of a picture (given by its `summed` table)."""
    stack = resampled_many(table, windows, HASH_PX)
    dct = _dct_rows()
    rows = np.einsum("ki,nij->nkj", dct, stack)  # small einsums: no BLAS threads (see `resampled_many`)
    coefficients = np.einsum("nkj,lj->nkl", rows, dct).reshape(len(windows), 64)
    bits = coefficients > np.median(coefficients[:, 1:], axis=1, keepdims=True)  # DC is always above: 63 bits vary
    return np.packbits(bits, axis=1).view(">u8").ravel().astype(np.uint64)


def window_hashes(picture: Picture, windows: Sequence[Box]) -> np.ndarray:
    """The distinct hashes of `windows` of a picture (neighbouring windows often agree)."""
    return np.unique(hashes(picture.table, windows))


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


@dataclass(frozen=True)
class Likeness:
    """How alike a copy is to an original, once fitted into it."""

    correlation: float  # of their grey levels
    edges: float  # of their gradient magnitudes
    crop: Box  # the part of the original the copy shows
    aspect_change: float  # how far the copy's shape is from that part's (log ratio)

    @property
    def same(self) -> bool:
        return self.correlation >= SAME_CORRELATION and self.edges >= SAME_EDGES and self.aspect_change <= MAX_ASPECT_CHANGE

    def describe(self) -> str:
        return f"likeness {self.correlation:.3f}, edges {self.edges:.2f}, cropped by {self.crop.describe()}"


def likeness(original: Picture, copy: Picture) -> Likeness:
    """How well `copy` fits into `original` as a part of it cropped by up to MAX_CROP_SEARCH a side."""
    seen = resampled(copy.table, WHOLE, _FIT_PX)
    target = _standard(seen)
    x0, x1 = _fit_axis(original.grey.mean(axis=0), target.mean(axis=0))
    y0, y1 = _fit_axis(original.grey.mean(axis=1), target.mean(axis=1))
    box, score = _refine(original.table, target, Box(x0, y0, x1, y1))
    edges = float((_standard(_gradient(resampled(original.table, box, _FIT_PX))) * _standard(_gradient(seen))).mean())
    (height, width), (copy_height, copy_width) = original.grey.shape, copy.grey.shape
    shown = ((box.x1 - box.x0) * width) / ((box.y1 - box.y0) * height)
    aspect_change = abs(math.log(shown / (copy_width / copy_height)))
    return Likeness(score, edges, box, aspect_change)


def _standard(values: np.ndarray) -> np.ndarray:
    """Zero mean, unit deviation (all zeros for a flat picture: it correlates with nothing)."""
    centred = values - values.mean()
    spread = centred.std()
    return centred / spread if spread > 1e-9 else np.zeros_like(centred)


def _gradient(values: np.ndarray) -> np.ndarray:
    return np.hypot(np.diff(values, axis=1)[:-1, :], np.diff(values, axis=0)[:, :-1])


def _fit_axis(original: np.ndarray, copy: np.ndarray) -> tuple[float, float]:
    """The span (start, end) of the original's profile along one axis that the copy's matches best."""
    grid_starts, grid_ends = np.meshgrid(_EDGE_STEPS, 1 - _EDGE_STEPS, indexing="ij")
    starts, ends = grid_starts.ravel(), grid_ends.ravel()
    samples = starts[:, None] + (np.arange(len(copy)) + 0.5)[None, :] / len(copy) * (ends - starts)[:, None]
    centres = (np.arange(len(original)) + 0.5) / len(original)
    rows = np.interp(samples, centres, original)
    rows = rows - rows.mean(axis=1, keepdims=True)
    rows /= np.maximum(rows.std(axis=1, keepdims=True), 1e-9)
    best = int(np.argmax((rows * _standard(copy)).sum(axis=1)))
    return float(starts[best]), float(ends[best])


def _refine(table: np.ndarray, target: np.ndarray, box: Box) -> tuple[Box, float]:
    """`box` moved side by side, in ever smaller steps, while the fit improves."""

    def score(candidate: Box) -> float:
        return float((_standard(resampled(table, candidate, _FIT_PX)) * target).mean())

    edges = [box.x0, box.y0, box.x1, box.y1]
    limits = [(0.0, MAX_CROP_SEARCH), (0.0, MAX_CROP_SEARCH), (1 - MAX_CROP_SEARCH, 1.0), (1 - MAX_CROP_SEARCH, 1.0)]
    best = score(box)
    for step in _REFINE_STEPS:
        improved = True
        while improved:
            improved = False
            for side in range(4):
                for delta in (-step, step):
                    moved = list(edges)
                    low, high = limits[side]
                    moved[side] = min(max(moved[side] + delta, low), high)
                    value = score(Box(*moved))
                    if value > best + 1e-6:
                        best, edges, improved = value, moved, True
    return Box(*edges), best
