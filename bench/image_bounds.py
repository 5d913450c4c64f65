"""A 2 GB file sent to the AI path and to the thumbnails: peak memory and time of the process reading it.

    .venv/bin/python bench/image_bounds.py [--gb 2]

Builds, in a temp folder, sparse files of --gb GB: a JPEG whose header is followed by nothing
(holes: Pillow would skip them a byte at a time), junk with a JPEG start marker and a JFIF segment
every MB (the reader must neither read the whole file nor copy it per marker; before the fix, RSS
grew by the file's size), and a raw (.cr2) whose 1600x1067 JPEG preview sits 1 MB in. Each is read in a fresh Python process by the
AI payload (`imageprep.prepare_image`) and by the thumbnail maker (`Thumbnails.get`): its peak RSS
above what it had after a warm-up decode (resource.getrusage) and its wall time. Target: growth
below 100 MB and under 10 s each. Exit 1 when one misses it.

`--measure {ai,thumb} PATH` is the child: one JSON line on stdout (the tests use it).
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RSS_BUDGET_KB = 100 * 1024
SECONDS_BUDGET = 10.0


def measure(kind: str, path: Path) -> dict[str, object]:
    from PIL import Image

    from geolocator.errors import UnreadableImage
    from geolocator.locate.ai.imageprep import prepare_image
    from viewer.thumbnails import Thumbnails

    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.jpg"
        Image.new("RGB", (640, 480), (90, 140, 200)).save(warm)
        thumbs = Thumbnails(Path(tmp) / "thumbnails")
        prepare_image(warm)
        thumbs.get("warm", warm)
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        outcome: str
        size: list[int] | None = None
        if kind == "ai":
            try:
                size = list(Image.open(io.BytesIO(prepare_image(path))).size)
                outcome = "decoded"
            except UnreadableImage as exc:
                outcome = f"UnreadableImage: {exc}"
        else:
            made = thumbs.get("big", path)
            outcome = "no thumbnail (unreadable)" if made is None else "thumbnail"
            if made is not None:
                size = list(Image.open(made).size)
        seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"outcome": outcome, "size": size, "seconds": round(seconds, 3), "baseline_kb": baseline, "growth_kb": peak - baseline}


def run_child(kind: str, path: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, __file__, "--measure", kind, str(path)], capture_output=True, text=True, timeout=300, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


JFIF = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"  # SOI and a valid APP0


def sparse_jpeg_header(path: Path, size: int) -> Path:
    """`size` bytes: a JPEG's SOI and APP0, then holes to the end."""
    with path.open("wb") as fh:
        fh.write(JFIF)
        fh.truncate(size)
    return path


def sparse_junk(path: Path, size: int, spacing: int = 1 << 20) -> Path:
    """`size` bytes, mostly holes, with a JPEG start and APP0 every `spacing` bytes (not at 0)."""
    with path.open("wb") as fh:
        for offset in range(spacing, size, spacing):
            fh.seek(offset)
            fh.write(JFIF + bytes(range(256)))
        fh.truncate(size)
    return path


def sparse_raw(path: Path, size: int) -> Path:
    """A TIFF-like raw of `size` bytes (mostly holes) with a 1600x1067 JPEG preview 1 MB in."""
    from PIL import Image

    preview = io.BytesIO()
    Image.new("RGB", (1600, 1067), (30, 60, 90)).save(preview, "JPEG")
    with path.open("wb") as fh:
        fh.write(b"II*\x00\x10\x00\x00\x00CR\x02\x00")
        fh.seek(1 << 20)
        fh.write(preview.getvalue())
        fh.truncate(size)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return 0
    ok = True
    size = int(args.gb * (1 << 30))
    print(f"{'file':<22} {'path':<6} {'seconds':>8} {'RSS +MB':>8}  outcome")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = [sparse_jpeg_header(folder / "header.jpg", size), sparse_junk(folder / "junk.jpg", size), sparse_raw(folder / "IMG_0001.CR2", size)]
        for path in files:
            for kind in ("ai", "thumb"):
                result = run_child(kind, path)
                growth = int(str(result["growth_kb"]))
                seconds = float(str(result["seconds"]))
                ok = ok and growth < RSS_BUDGET_KB and seconds < SECONDS_BUDGET
                label = f"{path.name} ({path.stat().st_size / (1 << 30):.1f} GB)"
                print(f"{label:<22} {kind:<6} {seconds:>8.2f} {growth / 1024:>8.1f}  {result['outcome']} {result['size'] or ''}")
    print(f"target (RSS growth < {RSS_BUDGET_KB // 1024} MB, < {SECONDS_BUDGET:g} s): {'MET' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
