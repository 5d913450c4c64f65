#!/usr/bin/env python3
"""Cost of merging a location into a sidecar that is there, beside exiftool editing the same file.

    .venv/bin/python bench/sidecar_merge.py [--repeats R]

Three sidecars: ours (under 1 KB), the real darktable one of the corpus (9.6 KB, 14 history
steps), and that one with its history repeated up to just under MAX_SIDECAR (2 MiB), the largest
we edit. For each: the time of `write_sidecar` (read, check with defusedxml, locate with pyexpat,
edit, check the result again, fsync, rename), its peak Python memory (tracemalloc), and the time
of one exiftool process writing the same GPS into a copy (`exiftool -overwrite_original
-XMP-exif:GPSLatitude=... FILE`), its startup included, as one edit costs it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from geolocator.locations import sidecar as ls  # noqa: E402
from geolocator.record import Source  # noqa: E402
from tests.corpus import CORPUS  # noqa: E402

DARKTABLE = CORPUS / "sidecars" / "darktable" / "DSC_9034.NEF.xmp"


def location(n: int) -> ls.SidecarLocation:
    return ls.SidecarLocation(48.1 + n * 1e-4, 11.5, 520.0, ls.Provenance(Source.TRACK, f"2026-01-01T00:00:{n % 60:02d}Z", radius_km=0.05))


def sidecars(folder: Path) -> dict[str, bytes]:
    ours = folder / "ours.jpg"
    ours.write_bytes(b"")
    ls.write_sidecar(ours, location(0))
    darktable = DARKTABLE.read_bytes()
    head, _, rest = darktable.partition(b"<darktable:history>\n    <rdf:Seq>\n")
    steps, _, tail = rest.partition(b"    </rdf:Seq>\n   </darktable:history>")
    copies = (ls.MAX_SIDECAR - len(darktable)) // len(steps)
    big = head + b"<darktable:history>\n    <rdf:Seq>\n" + steps * copies + b"    </rdf:Seq>\n   </darktable:history>" + tail
    return {"ours": ls.sidecar_path(ours).read_bytes(), "darktable": darktable, f"darktable x{copies}": big}


def best(run: Callable[[int], object], repeats: int) -> float:
    times = []
    for n in range(repeats):
        start = time.perf_counter()
        run(n)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("exiftool") is None:
        sys.exit("exiftool is needed for the comparison")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"{'sidecar':<18} {'size':>9} {'merge':>9} {'peak mem':>9} {'exiftool':>9} {'ratio':>6}")
        for name, data in sidecars(folder).items():
            photo = folder / f"{name.replace(' ', '_')}.NEF"
            photo.write_bytes(b"")
            target = ls.sidecar_path(photo)
            target.write_bytes(data)
            ls.write_sidecar(photo, location(1))  # warm: imports, page cache
            merge = best(lambda n, photo=photo: ls.write_sidecar(photo, location(n + 2)), args.repeats)
            tracemalloc.start()
            ls.write_sidecar(photo, location(99))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            other = folder / f"{name.replace(' ', '_')}.exiftool.xmp"
            other.write_bytes(data)

            def exiftool(n: int, other: Path = other) -> None:
                subprocess.run(["exiftool", "-q", "-overwrite_original", f"-XMP-exif:GPSLatitude={48.1 + n * 1e-4}", str(other)], check=True)

            theirs = best(exiftool, args.repeats)
            print(f"{name:<18} {len(data) / 1024:>7.1f}KB {merge * 1000:>7.1f}ms {peak / 2**20:>7.1f}MB {theirs * 1000:>7.0f}ms {theirs / merge:>5.1f}x")


if __name__ == "__main__":
    main()
