"""What the vision model is sent, per photo: bytes vs the original file, longest side, prep time.

    .venv/bin/python bench/ai_payload.py [--max-px 1344] [--all]

Runs over the readable JPEG/HEIC/HEIF/TIFF photos of ../shared/corpus/exif-samples plus a
generated 12 MP photo (4000x3000, EXIF orientation 6, structure and noise, quality 95). Target:
for a 12 MP photo, at most 1/10 of the file's bytes and a longest side <= max_px. Many corpus
files are small old camera JPEGs already under 100 kB: their ratio is shown, but the target is
about full-size photos. Exit 1 when the 12 MP photo misses the target.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from geolocator.errors import UnreadableImage  # noqa: E402
from geolocator.locate.ai.imageprep import DEFAULT_MAX_PX, prepare_image  # noqa: E402
from tests.corpus import CORPUS as CORPUS_ROOT  # noqa: E402

CORPUS = CORPUS_ROOT / "exif-samples"
SUFFIXES = {".jpg", ".jpeg", ".heic", ".heif", ".tif", ".tiff"}


def generated_12mp(folder: Path) -> Path:
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:3000, 0:4000]
    base = np.stack([(x * 255 // 4000), (y * 255 // 3000), ((x + y) % 256)], axis=-1).astype(np.int16)
    pixels = np.clip(base + rng.integers(-40, 40, size=base.shape), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = folder / "generated-12MP-4000x3000.jpg"
    Image.fromarray(pixels, "RGB").save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


def measure(path: Path, max_px: int) -> tuple[int, int, tuple[int, int], float]:
    started = time.perf_counter()
    sent = prepare_image(path, max_px)
    elapsed = time.perf_counter() - started
    return path.stat().st_size, len(sent), Image.open(io.BytesIO(sent)).size, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-px", type=int, default=DEFAULT_MAX_PX)
    parser.add_argument("--all", action="store_true", help="list every corpus photo (default: those over 200 kB, plus a summary)")
    args = parser.parse_args()

    photos = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES) if CORPUS.is_dir() else []
    rows, unreadable = [], []
    for path in photos:
        try:
            rows.append((str(path.relative_to(CORPUS)), *measure(path, args.max_px)))
        except UnreadableImage as exc:
            unreadable.append(str(exc))

    with tempfile.TemporaryDirectory() as tmp:
        big = generated_12mp(Path(tmp))
        measure(big, args.max_px)  # warm up Pillow's codecs
        target = (big.name, *measure(big, args.max_px))

    print(f"{'photo':<48} {'original':>10} {'sent':>9} {'ratio':>7} {'sent px':>11} {'prep ms':>8}")
    for name, original, sent, size, elapsed in [target] + [r for r in rows if args.all or r[1] > 200_000]:
        print(f"{name[:48]:<48} {original:>10,} {sent:>9,} {sent / original:>7.3f} {size[0]:>5}x{size[1]:<5} {elapsed * 1000:>8.1f}")
    if rows:
        small = [r for r in rows if r[1] <= 200_000]
        large = [r for r in rows if r[1] > 200_000]
        print(f"\ncorpus: {len(rows)} photos read, {len(unreadable)} unreadable (reported as UnreadableImage)")
        for label, group in (("over 200 kB", large), ("200 kB or less", small)):
            if group:
                ratios = [r[2] / r[1] for r in group]
                print(
                    f"  {label:<15} {len(group):>3} photos: median ratio {statistics.median(ratios):.3f}, "
                    f"max longest side {max(max(r[3]) for r in group)}, median prep {statistics.median(r[4] for r in group) * 1000:.1f} ms, "
                    f"max prep {max(r[4] for r in group) * 1000:.1f} ms"
                )
    name, original, sent, size, elapsed = target
    ok = sent <= original / 10 and max(size) <= args.max_px
    print(
        f"\n12 MP target: sent {sent:,} of {original:,} bytes (1/{original / sent:.0f}), {size[0]}x{size[1]}, "
        f"{elapsed * 1000:.0f} ms: {'MET' if ok else 'MISSED'} (<= 1/10 of the file, longest side <= {args.max_px})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
