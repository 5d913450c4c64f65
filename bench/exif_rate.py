#!/usr/bin/env python3
"""Throughput of geolocator's read_metadata beside exiftool's batch read of the same files.

    .venv/bin/python bench/exif_rate.py [--copies N] [--repeats R]

Reads every file of the sample corpus that exiftool recognises (the truth list), first as it
is, then N copies of it in a temp folder. The page cache is warmed before timing, so both
tools are measured on CPU, not disk. exiftool runs once for all files, as one process reading
an argfile (`exiftool -n -j -GPSLatitude -GPSLongitude -@ FILE`), its startup included: that is
its best batch rate. Plain exifread (details=False) is shown as a reference.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import exifread  # noqa: E402

from geolocator.locate.metadata import read_metadata  # noqa: E402
from tests.corpus import CORPUS as CORPUS_ROOT  # noqa: E402

CORPUS = CORPUS_ROOT
TARGET = 8.0


def ours(files: list[Path]) -> int:
    return sum(read_metadata(path).has_location for path in files)


def plain_exifread(files: list[Path]) -> int:
    located = 0
    for path in files:
        with open(path, "rb") as fh:
            tags = exifread.process_file(fh, details=False, extract_thumbnail=False)
        located += "GPS GPSLatitude" in tags
    return located


def exiftool(files: list[Path], workdir: Path) -> int:
    argfile = workdir / "files.args"
    argfile.write_text("".join(f"{path}\n" for path in files))
    out = subprocess.run(["exiftool", "-n", "-j", "-q", "-GPSLatitude", "-GPSLongitude", "-@", str(argfile)], capture_output=True, text=True, check=False)
    return sum(isinstance(item.get("GPSLatitude"), (int, float)) for item in json.loads(out.stdout))


def best_time(run: Callable[[], int], repeats: int) -> tuple[float, int]:
    best, located = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        located = run()
        best = min(best, time.perf_counter() - start)
    return best, located


def measure(label: str, files: list[Path], workdir: Path, repeats: int) -> float:
    for path in files:  # warm the page cache
        path.read_bytes()
    size_mb = sum(path.stat().st_size for path in files) / 1e6
    print(f"\n{label}: {len(files)} files, {size_mb:.1f} MB, page cache warm, best of {repeats}")
    tool_s, tool_found = best_time(lambda: exiftool(files, workdir), repeats)
    ours_s, ours_found = best_time(lambda: ours(files), repeats)
    plain_s, plain_found = best_time(lambda: plain_exifread(files), repeats)
    rows = [
        ("exiftool batch (-n -j, one process, -@ argfile)", tool_s, tool_found, None),
        ("geolocator read_metadata (every format)", ours_s, ours_found, tool_s / ours_s),
        ("plain exifread.process_file(details=False)", plain_s, plain_found, tool_s / plain_s),
    ]
    for name, seconds, found, ratio in rows:
        versus = f"{ratio:5.1f}x exiftool" if ratio else "  reference"
        print(f"  {name:<50} {seconds:7.3f} s {len(files) / seconds:8.0f} files/s  {versus}   ({found} with GPS)")
    return tool_s / ours_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=20, help="copies of the corpus for the larger run (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per reader; the best is kept (default 3)")
    args = parser.parse_args()
    if shutil.which("exiftool") is None:
        print("exiftool is needed: apt-get install libimage-exiftool-perl", file=sys.stderr)
        return 2
    logging.disable(logging.WARNING)  # exifread warns on odd files; the timing is what matters here
    truth = json.loads((CORPUS / "exif-samples.truth.json").read_text())
    files = [CORPUS / item["file"] for item in truth]
    version = subprocess.run(["exiftool", "-ver"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"exiftool {version}, exifread {exifread.__version__}, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="exif_rate.") as tmp:
        workdir = Path(tmp)
        measure("corpus as is", files, workdir, args.repeats)
        copies = []
        for copy in range(args.copies):
            for index, path in enumerate(files):
                target = workdir / f"copy{copy:03d}" / f"{index:03d}_{path.name}"
                target.parent.mkdir(exist_ok=True)
                shutil.copyfile(path, target)
                copies.append(target)
        ratio = measure(f"{args.copies} copies of the corpus", copies, workdir, args.repeats)
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(f"\nread_metadata is {ratio:.1f}x exiftool's batch throughput: {verdict} the {TARGET:.0f}x target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
