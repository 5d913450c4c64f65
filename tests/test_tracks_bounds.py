"""Memory follows the points kept, not the file: a large Records.json read in a real process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geolocator.locate.tracks.model import TrackLimits, TrackTooBig
from geolocator.locate.tracks.parse import read_track

POINTS = 200_000
CHILD = """
import resource, sys, time
from geolocator.locate.tracks.parse import read_track
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
result = read_track(sys.argv[1])
print(result.point_count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, time.perf_counter() - start)
"""


def _records(path: Path, n: int) -> Path:
    t0 = 1.7e9
    with path.open("w") as fh:
        fh.write('{"locations": [')
        for i in range(n):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t0 + 10 * i))
            fh.write(("," if i else "") + json.dumps({"latitudeE7": 488583000 + i, "longitudeE7": 22944000 + i, "accuracy": 12, "source": "WIFI", "timestamp": stamp}))
        fh.write("]}")
    return path


def test_large_records_json_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = _records(tmp_path / "Records.json", POINTS)
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], check=True, capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    count, grown_kb, seconds = out.stdout.split()
    print(f"\n{POINTS:,} points, {path.stat().st_size / 1e6:.0f} MB: +{int(grown_kb) / 1024:.0f} MB RSS, {float(seconds):.1f} s")
    assert int(count) == POINTS
    # 32 bytes a point kept, twice while sorting: ~13 MB. The 29 MB file itself is never held.
    assert int(grown_kb) < 40 * 1024


def test_point_limit_refuses_the_file(tmp_path: Path) -> None:
    path = _records(tmp_path / "Records.json", 1000)
    with pytest.raises(TrackTooBig, match=r"^Records\.json: more than 999 track points"):
        read_track(path, TrackLimits(max_points=999))
    assert read_track(path, TrackLimits(max_points=1000)).point_count == 1000
