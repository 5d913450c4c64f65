"""Photos taken anywhere on Earth, for the benchmarks: real JPEGs with GPS written by exiftool.

Travel, sailing, hiking and polar photos are not taken in towns. `worldwide_points(n)` gives n
points: a fixed dozen in the hard places (Antarctica's interior and the South Pole, near the
North Pole, both sides of the antimeridian), then points drawn uniformly over the sphere, kept
until half of all are at sea (named after a sea or ocean by `places.name`) and half on land.
`write_photos` writes them into copies of corpus JPEGs with one exiftool process.
"""

from __future__ import annotations

import math
import random
import shutil
import subprocess
from pathlib import Path

from geolocator.locate import places

HARD_POINTS = (
    (-80.58, 49.35), (-90.0, 0.0), (-75.0, 0.0), (-83.23, -168.28),  # Antarctica: the interior, the pole, Queen Maud Land, the Ross Ice Shelf
    (89.9, -45.0), (90.0, 0.0), (88.0, 179.99),  # the North Pole's ocean
    (65.0, 179.99), (65.0, -179.99), (-16.5, 179.99), (-16.5, -179.99), (52.0, -179.99),  # the antimeridian: Chukotka, Fiji, the Bering Sea
)


def worldwide_points(n: int, seed: int = 19) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    points = list(HARD_POINTS[:n])
    at_sea = sum(places.name(lat, lon).sea is not None for lat, lon in points)
    on_land = len(points) - at_sea
    while len(points) < n:
        lat, lon = math.degrees(math.asin(rng.uniform(-1.0, 1.0))), rng.uniform(-180.0, 180.0)
        sea = places.name(lat, lon).sea is not None
        if sea and at_sea < n // 2:
            at_sea += 1
        elif not sea and on_land < n - n // 2:
            on_land += 1
        else:
            continue
        points.append((round(lat, 6), round(lon, 6)))
    return points


def write_photos(folder: Path, templates: list[Path], points: list[tuple[float, float]], prefix: str = "w") -> list[Path]:
    """One copy of a template per point (in turn), its EXIF GPS set to the point (exiftool, one process)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    args = []
    for i, (lat, lon) in enumerate(points):
        path = folder / f"{prefix}{i:05d}.jpg"
        shutil.copyfile(templates[i % len(templates)], path)
        paths.append(path)
        args += [
            f"-GPSLatitude={abs(lat)}", f"-GPSLatitudeRef={'N' if lat >= 0 else 'S'}",
            f"-GPSLongitude={abs(lon)}", f"-GPSLongitudeRef={'E' if lon >= 0 else 'W'}",
            "-overwrite_original", str(path), "-execute",
        ]
    argfile = folder.parent / f"{folder.name}.exiftool-args"
    argfile.write_text("\n".join(args) + "\n")
    subprocess.run(["exiftool", "-q", "-@", str(argfile)], check=True, capture_output=True)
    argfile.unlink()
    return paths
