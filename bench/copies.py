#!/usr/bin/env python3
"""Copies (geolocator.locate.pictures, geolocator.locate.hamming): what comparing pictures costs
per photo, how fast the index answers at 10k and 100k photos, and how often it is wrong.

    .venv/bin/python bench/copies.py [--photos 100000] [--queries 300]

1. Cost per photo filed: its picture decoded small and upright, then its signature (two pHashes
   and the plain check), for every picture of the corpus, beside exiftool reading the same files
   (one process for all of them, its best batch rate); then for a few kinds of photo; the fifty
   window hashes a photo filed is looked up by, and the finer check of one candidate.
2. The index (two hashes a photo, as the service keeps them) at 10k and --photos photos: built
   from the store's signatures at once and photo by photo, its memory, and a lookup as a photo
   filed is (its frame and its fifty windows) beside a scan of every hash. The hashes are those
   of windows cut at random from the corpus's pictures (natural images: their hashes are far from
   uniform, as a library's are).
3. Matches: every picture of the corpus against every other, in both roles (what the service
   would find were one located): false matches; copies of the corpus's located photos made as
   apps make them (re-encoded, resized to 640 px, stripped, turned upright, cropped by up to a
   tenth a side, WebP, HEIC to JPEG), found or missed in both arrival orders; every copy against
   every other photo (false matches); clear skies and pages of text (never compared).

Exits 1 when a target is missed: a false match, a copy an app makes not found (random crops: 98%
at least), or a lookup that is not sub-linear (its time grows by at most 10^0.7 from 10k to 100k
photos, and the index is at least twice as fast as a scan at 100k).
"""

from __future__ import annotations

import argparse
import functools
import io
import itertools
import json
import math
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import numpy as np  # noqa: E402
from copies_made import ORIGINALS, RECIPES, SAMPLES, document, encoded, random_crop, sky, upright, with_orientation  # noqa: E402
from PIL import Image  # noqa: E402

from geolocator.errors import UnreadableImage  # noqa: E402
from geolocator.locate.hamming import HammingIndex  # noqa: E402
from geolocator.locate.pictures import (  # noqa: E402
    COARSE_RADIUS,
    COPY_WINDOWS,
    DECODE_PX,
    ORIGINAL_WINDOWS,
    SAME_CORRELATION,
    SAME_EDGES,
    Box,
    Picture,
    hamming,
    hashes,
    likeness,
    picture_of,
    window_hashes,
)
from geolocator.locations.copies import read_picture  # noqa: E402
from geolocator.media.images import decode  # noqa: E402

EXTENSIONS = {".jpg", ".jpeg", ".heic", ".heif", ".tif", ".tiff"}
MAX_GROWTH_EXPONENT = 0.7  # lookup time ~ n^x from 10k to 100k photos: a scan is 1
MIN_SCAN_RATIO = 2.0
MIN_CROP_RECALL = 0.98


def corpus_files() -> list[Path]:
    return [p for p in sorted(SAMPLES.rglob("*")) if p.suffix.lower() in EXTENSIONS]


def median_ms(run: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def seen(data: bytes) -> Picture:
    """The picture of a file's bytes, decoded as the pipeline decodes files."""
    return picture_of(Image.open(io.BytesIO(data)).convert("RGB"))


def cost_per_photo(workdir: Path) -> None:
    print("1. Cost per photo filed")
    files = corpus_files()
    for path in files:  # the page cache warmed: CPU, not disk, for both
        path.read_bytes()
    start = time.perf_counter()
    read = 0
    for path in files:
        try:
            read_picture(path)
            read += 1
        except UnreadableImage:
            continue
    ours = (time.perf_counter() - start) / len(files) * 1000
    argfile = workdir / "files.args"
    argfile.write_text("".join(f"{path}\n" for path in files))
    start = time.perf_counter()
    out = subprocess.run(["exiftool", "-n", "-j", "-q", "-@", str(argfile)], capture_output=True, text=True, check=False)
    theirs = (time.perf_counter() - start) / len(files) * 1000
    print(f"   the corpus's {len(files)} pictures ({read} readable): {ours:.1f} ms a photo for its picture and signature; "
          f"exiftool reading all their metadata, in one process: {theirs:.1f} ms a file ({len(json.loads(out.stdout))} read): "
          f"{ours / theirs:.1f}x exiftool's time")  # fmt: skip
    heic_jpeg = workdir / "IMG_5195.jpg"
    heic_jpeg.write_bytes(RECIPES["heic-as-jpeg"](upright(ORIGINALS[3])))
    kinds = {
        "camera JPEG 640x480 (DSCN0010.jpg)": SAMPLES / "jpg/gps/DSCN0010.jpg",
        "phone JPEG 4608x1976 (HMD_Nokia_8.3_5G.jpg)": SAMPLES / "jpg/mobile/HMD_Nokia_8.3_5G.jpg",
        "iPhone HEIC 2566x3313 (IMG_5195.HEIC)": SAMPLES / "heic/IMG_5195.HEIC",
        "the same exported as JPEG, quality 90": heic_jpeg,
    }
    print(f"   {'photo (median of 5, ms)':<46} {'decode':>8} {'signature':>10} {'total':>8}")
    for label, path in kinds.items():
        image = decode(path, DECODE_PX)
        decoding = median_ms(functools.partial(decode, path, DECODE_PX))
        signing = median_ms(functools.partial(picture_of, image))
        print(f"   {label:<46} {decoding:8.1f} {signing:10.1f} {decoding + signing:8.1f}")
    picture = read_picture(SAMPLES / "jpg/gps/DSCN0010.jpg")
    copy = seen(RECIPES["editor-crop"](upright(ORIGINALS[0])))
    print(f"   the 50 window hashes a photo filed is looked up by: {median_ms(lambda: window_hashes(picture, COPY_WINDOWS)):.1f} ms; "
          f"the finer check of one candidate (a cropped copy fitted into its original): {median_ms(lambda: likeness(picture, copy)):.1f} ms")  # fmt: skip


def natural_hashes(count: int, rng: random.Random) -> np.ndarray:
    """`count` hashes of windows cut at random (a quarter to two thirds of each side) from the corpus's pictures."""
    pictures = []
    for path in corpus_files():
        try:
            found = read_picture(path)
        except UnreadableImage:
            continue
        if found.plain is None:
            pictures.append(found)
    out = []
    per = count // len(pictures) + 1
    for picture in pictures:
        windows = []
        for _ in range(per):
            w, h = rng.uniform(0.25, 0.67), rng.uniform(0.25, 0.67)
            x, y = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
            windows.append(Box(x, y, x + w, y + h))
        out.append(hashes(picture.table, windows))
    return np.concatenate(out)[:count]


@dataclass(frozen=True)
class Scale:
    photos: int
    index_ms: float  # a photo's lookup: its frame and 50 windows
    scan_ms: float


def index_at_scale(photos: int, queries: int) -> list[Scale]:
    print("\n2. The index: two hashes a photo (its frame, its centre); a photo filed is looked up by its frame and 50 windows")
    rng = random.Random(7)
    made = time.perf_counter()
    pool = natural_hashes(2 * photos, rng)
    print(f"   ({2 * photos:,} hashes of natural windows made in {time.perf_counter() - made:.1f} s)")
    print(f"   {'photos':>9} {'built at once':>13} {'photo by photo':>15} {'memory':>8} {'one hash':>9} {'a photo':>9} {'found':>6} {'scan':>9} {'scan/index':>10}")
    scales = []
    for n in sorted({10_000, photos}):
        full, centres = pool[:n], pool[len(pool) // 2 : len(pool) // 2 + n]
        start = time.perf_counter()
        by_full, by_centre = HammingIndex(), HammingIndex()
        by_full.extend(full, np.arange(n))
        by_centre.extend(centres, np.arange(n))
        at_once = time.perf_counter() - start
        start = time.perf_counter()
        one_by_one = HammingIndex()
        for slot, h in enumerate(full.tolist()):
            one_by_one.add(h, slot)
        per_photo_us = 2 * (time.perf_counter() - start) / n * 1e6  # two indexes
        size = by_full.nbytes + by_centre.nbytes
        asked = [int(v) for v in rng.sample(full.tolist(), queries)]
        one, whole, scan, offered = [], [], [], 0
        for q in asked:
            windows = np.array([q ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64)) for _ in range(50)], dtype=np.uint64)
            frame = np.array([q], dtype=np.uint64)
            start = time.perf_counter()
            by_full.near(frame, COARSE_RADIUS)
            one.append(time.perf_counter() - start)
            start = time.perf_counter()
            hits = by_full.near(frame, COARSE_RADIUS)
            hits.update(by_centre.near(windows, COARSE_RADIUS))
            whole.append(time.perf_counter() - start)
            offered += len(hits)
            start = time.perf_counter()
            np.nonzero(np.bitwise_count(full ^ frame) <= COARSE_RADIUS)
            np.nonzero((np.bitwise_count(centres[:, None] ^ windows[None, :]) <= COARSE_RADIUS).any(axis=1))
            scan.append(time.perf_counter() - start)
        one_us, photo_ms, scan_ms = statistics.median(one) * 1e6, statistics.median(whole) * 1e3, statistics.median(scan) * 1e3
        print(f"   {n:>9,} {at_once * 1000:11.0f}ms {per_photo_us:11.0f}µs/ph {size / 1e6:6.1f}MB {one_us:7.0f}µs {photo_ms:7.2f}ms "
              f"{offered / queries:6.1f} {scan_ms:7.1f}ms {scan_ms / photo_ms:9.1f}x")  # fmt: skip
        scales.append(Scale(n, photo_ms, scan_ms))
    return scales


def near_enough(original: Picture, copy: Picture, windows: dict[int, tuple[list[int], list[int]]]) -> int:
    """The hash distance at which the index would offer the pair in both arrival orders (the larger of the two)."""
    whole = hamming(original.full, copy.full)
    copy_first = min(whole, *(hamming(h, copy.centre) for h in windows[id(original)][0]))
    original_first = min(whole, *(hamming(h, original.centre) for h in windows[id(copy)][1]))
    return max(copy_first, original_first)


def windows_of(pictures: list[Picture]) -> dict[int, tuple[list[int], list[int]]]:
    """Each picture's window hashes, as an original and as a copy, by id()."""
    return {id(p): (window_hashes(p, ORIGINAL_WINDOWS).tolist(), window_hashes(p, COPY_WINDOWS).tolist()) for p in pictures}


def one_photograph(a: str, b: str) -> bool:
    """The corpus's pairs that are one photograph: the orientation samples (one photo, a numeral
    drawn on each), and the iPhone's HDR and normal versions of one shot."""
    if a.startswith("jpg/orientation/") and b.startswith("jpg/orientation/"):
        return a.split("/")[-1].split("_")[0] == b.split("/")[-1].split("_")[0]
    return {a, b} == {"jpg/hdr/iphone_hdr_NO.jpg", "jpg/hdr/iphone_hdr_YES.jpg"}


@dataclass
class Matches:
    false_in_corpus: int = 0
    false_against_copies: int = 0
    missed_by_app: int = 0
    crop_recall: float = 1.0


def app_copies(workdir: Path, compared: dict[str, Picture]) -> list[tuple[str, str, Picture, Picture]]:
    """(original's name, how the copy was made, original's picture, copy's picture)."""
    made = []
    for name in ORIGINALS:
        image = upright(name)
        made += [(name, recipe, compared[name], seen(make(image))) for recipe, make in RECIPES.items()]
        if name.lower().endswith(".jpg"):
            # Stripped: every tag taken out by exiftool, the picture's own bytes kept.
            stripped = workdir / "stripped.jpg"
            shutil.copyfile(SAMPLES / name, stripped)
            subprocess.run(["exiftool", "-q", "-q", "-overwrite_original", "-all=", str(stripped)], check=True)
            made.append((name, "stripped", compared[name], read_picture(stripped)))
            # Turned: the original as a camera stores it sideways (an Orientation tag), its copy upright.
            sideways = read_picture(with_orientation(SAMPLES / name, workdir / "sideways.jpg", 6))
            made.append((name, "sideways original", sideways, seen(encoded(image, "JPEG", 80))))
    return made


def matches(workdir: Path) -> Matches:
    print("\n3. Matches")
    result = Matches()
    pictures: dict[str, Picture] = {}
    unreadable = 0
    for path in corpus_files():
        try:
            pictures[path.relative_to(SAMPLES).as_posix()] = read_picture(path)
        except UnreadableImage:
            unreadable += 1
    compared = {name: p for name, p in pictures.items() if p.plain is None}
    print(f"   corpus: {len(pictures)} pictures ({unreadable} files unreadable), {len(pictures) - len(compared)} plain (never compared)")
    windows = windows_of(list(compared.values()))
    pairs = candidates = 0
    same_photo: list[tuple[str, str]] = []
    false: list[str] = []
    closest_other = closest_edges = 0.0
    for (a, first), (b, second) in itertools.permutations(compared.items(), 2):
        pairs += 1
        if near_enough(first, second, windows) > COARSE_RADIUS:
            continue
        candidates += 1
        found = likeness(first, second)
        if one_photograph(a, b):
            same_photo += [(a, b)] if found.same else []
            continue
        closest_other = max(closest_other, found.correlation)
        closest_edges = max(closest_edges, found.edges)
        if found.same:
            false.append(f"{a} ~ {b}: {found.describe()}")
    result.false_in_corpus = len(false)
    print(f"   every picture against every other, as original and as copy: {pairs:,} ordered pairs, {candidates} offered by the index, "
          f"{len(same_photo)} matched that are one photograph (the orientation samples: one photo with a numeral drawn on each; "
          f"an iPhone's HDR and normal versions of one shot)")  # fmt: skip
    print(f"   FALSE MATCHES in the corpus: {len(false)} of {pairs:,} pairs ({len(false) / pairs:.3%})" + "".join(f"\n     {f}" for f in false))

    rng = random.Random(11)
    made = app_copies(workdir, compared)
    for name in compared:
        if name.startswith(("jpg/orientation/", "jpg/invalid/")):
            continue
        image = decode(SAMPLES / name, 10_000)
        made += [(name, "random crop ≤10%", compared[name], seen(encoded(random_crop(image, rng), "JPEG", rng.randint(60, 95)))) for _ in range(3)]
    windows.update(windows_of([p for m in made for p in m[2:]]))
    found_by: dict[str, list[bool]] = {}
    distances, correlations, edges = [], [], []
    for _name, recipe, original, copy in made:
        distance = near_enough(original, copy, windows)
        distances.append(distance)
        fit = likeness(original, copy)
        correlations.append(fit.correlation)
        edges.append(fit.edges)
        found_by.setdefault(recipe, []).append(distance <= COARSE_RADIUS and fit.same)
    print(f"   copies made of the corpus's photos: {len(made)}; true-match rate, found in both arrival orders:")
    for recipe, results in found_by.items():
        print(f"     {recipe:<18} {sum(results)}/{len(results)}")
        if recipe.startswith("random crop"):
            result.crop_recall = sum(results) / len(results)
        else:
            result.missed_by_app += len(results) - sum(results)
    total = sum(sum(r) for r in found_by.values())
    print(f"   TRUE-MATCH RATE: {total}/{len(made)} = {total / len(made):.1%}; hash distances of copies: median {statistics.median(distances):.0f}, "
          f"max {max(distances)} (offered within {COARSE_RADIUS})")  # fmt: skip

    wrong: list[str] = []
    cross = 0
    for (name, recipe, _original, copy), (other, picture) in itertools.product(made, compared.items()):
        if other == name or one_photograph(name, other):
            continue
        cross += 1
        if near_enough(picture, copy, windows) > COARSE_RADIUS:
            continue
        fit = likeness(picture, copy)
        closest_other = max(closest_other, fit.correlation)
        closest_edges = max(closest_edges, fit.edges)
        if fit.same:
            wrong.append(f"a {recipe} copy of {name} ~ {other}: {fit.describe()}")
    result.false_against_copies = len(wrong)
    print(f"   FALSE MATCHES of copies against every other photo of the corpus: {len(wrong)} of {cross:,} pairs" + "".join(f"\n     {w}" for w in wrong))
    print(f"   the finer check's margin: copies fit their originals at a correlation of {min(correlations):.3f} and more (edges "
          f"{min(edges):.2f}), other photos offered by the index at {closest_other:.3f} and less (edges {closest_edges:.2f}); "
          f"the same picture from {SAME_CORRELATION} (edges {SAME_EDGES})")  # fmt: skip
    skies = [picture_of(sky(seed)) for seed in range(10)]
    pages = [picture_of(document(seed, photographed=seed % 2 == 1)) for seed in range(10)]
    print(f"   clear skies plain: {sum(p.plain is not None for p in skies)}/10; pages of text (flat and photographed) plain: {sum(p.plain is not None for p in pages)}/10")
    return result


def failures(scales: list[Scale], found: Matches) -> list[str]:
    out = []
    if found.false_in_corpus or found.false_against_copies:
        out.append(f"false matches: {found.false_in_corpus} in the corpus, {found.false_against_copies} of copies against other photos (target 0)")
    if found.missed_by_app:
        out.append(f"{found.missed_by_app} copies made as apps make them not found (target: all)")
    if found.crop_recall < MIN_CROP_RECALL:
        out.append(f"random crops found: {found.crop_recall:.1%} (target {MIN_CROP_RECALL:.0%})")
    small, large = scales[0], scales[-1]
    if large.photos > small.photos:
        growth = math.log(large.index_ms / small.index_ms) / math.log(large.photos / small.photos)
        print(f"\n   lookup time ~ n^{growth:.2f} from {small.photos:,} to {large.photos:,} photos (a scan: n^{math.log(large.scan_ms / small.scan_ms) / math.log(large.photos / small.photos):.2f})")
        if growth > MAX_GROWTH_EXPONENT:
            out.append(f"lookup not sub-linear: time ~ n^{growth:.2f} (target ≤ {MAX_GROWTH_EXPONENT})")
    if large.scan_ms / large.index_ms < MIN_SCAN_RATIO:
        out.append(f"the index is {large.scan_ms / large.index_ms:.1f}x faster than a scan at {large.photos:,} photos (target {MIN_SCAN_RATIO:.0f}x)")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cost_per_photo(Path(tmp))
        scales = index_at_scale(args.photos, args.queries)
        found = matches(Path(tmp))
    failed = failures(scales, found)
    for failure in failed:
        print(f"FAILED: {failure}")
    if not failed:
        print("\nall targets met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
