"""Memory stays bounded whatever the track: each hostile file of issue 16 (nesting, entities behind
a comment, a zip bomb, too many points, huge tokens) and real-size ones, read by the real reader
in a real process whose peak RSS (VmHWM) is measured. Scaled down where the real one would take
long; bench/tracks_bounds.py reads the real sizes (a 3 GB Records.json among them)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from geolocator.config import LocationConfig
from geolocator.locate.tracks.model import TrackLimits, TrackTooBig
from geolocator.locate.tracks.parse import read_track

REPO = Path(__file__).parent.parent
CHILD = """
import json, sys, time
import numpy, ijson, defusedxml.ElementTree, pynmea2, fitdecode  # loaded before the baseline
from geolocator.locate.tracks import fit, igc, jsontracks, nmea, xmltracks
from geolocator.locate.tracks.model import TrackError, TrackLimits
from geolocator.locate.tracks.parse import read_track

def peak_kb():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))

base = peak_kb()
start = time.perf_counter()
try:
    found = read_track(sys.argv[1], TrackLimits(**json.loads(sys.argv[2])))
    outcome = {"points": found.point_count}
except TrackError as exc:
    outcome = {"error": str(exc)}
outcome.update(grown_mb=(peak_kb() - base) / 1024, seconds=time.perf_counter() - start)
print(json.dumps(outcome))
"""


def measured(path: Path, **limits: int) -> dict[str, object]:
    """Read `path` in a fresh process: what it found (points or the error), how much its peak
    RSS grew while reading, in MB, and how long it took. The process must not crash."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), json.dumps(limits)], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    result: dict[str, object] = json.loads(out.stdout)
    print(f"\n{path.name} ({path.stat().st_size / 1e6:.1f} MB): {result}")
    return result


def grown(result: dict[str, object]) -> float:
    value = result["grown_mb"]
    assert isinstance(value, float)
    return value


T0 = 1_700_000_000


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def test_a_gpx_with_150000_nested_extensions_is_refused_without_a_crash(tmp_path: Path) -> None:
    """gpxpy's recursive copy crashed the daemon on this file (3 restarts out of 3)."""
    path = tmp_path / "deep.gpx"
    point = f'<trkpt lat="48.1" lon="11.5"><time>{_iso(T0)}</time><extensions>{"<x:e>" * 150_000}{"</x:e>" * 150_000}</extensions></trkpt>'
    path.write_text(f'<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1" xmlns:x="urn:x"><trk><trkseg>{point}</trkseg></trk></gpx>')
    result = measured(path)
    assert result["error"] == "deep.gpx: GPX nested more than 64 elements deep: no track is"
    assert grown(result) < 10


def test_a_geojson_with_40000_nested_brackets_is_refused_before_parsing(tmp_path: Path) -> None:
    """ijson's prefixes made this 80 KB file cost 4.1 GB, kept."""
    path = tmp_path / "deep.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": ' + "[" * 40_000 + "]" * 40_000 + "}}]}")
    result = measured(path)
    assert result["error"] == "deep.geojson: JSON nested more than 64 deep: no track is"
    assert grown(result) < 10


def _entities(root: str) -> str:
    """A DTD whose entities expand a thousandfold per level (a billion laughs), behind a comment
    naming the root: the old check looked for a DTD only before the first `<gpx`."""
    levels = ['<!ENTITY e0 "' + "ha" * 500 + '">'] + [f'<!ENTITY e{i} "' + f"&e{i - 1};" * 30 + '">' for i in range(1, 6)]
    return f'<?xml version="1.0"?>\n<!-- <{root} written by hand -->\n<!DOCTYPE {root} [\n' + "\n".join(levels) + "\n]>\n"


@pytest.mark.parametrize(
    ("name", "root", "body"),
    [
        ("laughs.gpx", "gpx", f'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><wpt lat="1" lon="1"><time>{_iso(T0)}</time><name>&e5;</name></wpt></gpx>'),
        ("laughs.kml", "kml", f'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&e5;</name><TimeStamp><when>{_iso(T0)}</when></TimeStamp><Point><coordinates>1,1</coordinates></Point></Placemark></kml>'),
        ("laughs.tcx", "TrainingCenterDatabase", '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Courses><Course><Name>&e5;</Name></Course></Courses></TrainingCenterDatabase>'),
    ],
)
def test_a_dtd_is_refused_whatever_comes_before_it(tmp_path: Path, name: str, root: str, body: str) -> None:
    path = tmp_path / name
    path.write_text(_entities(root) + body)
    result = measured(path)
    error = result["error"]
    assert isinstance(error, str) and error.startswith(f"{name}: ") and error.endswith("with a DTD: refused (a track never needs one; its entities could expand without end)")
    assert grown(result) < 10


def test_a_kmz_unpacking_to_a_thousand_times_its_size_is_streamed(tmp_path: Path) -> None:
    """A 153 KB KMZ unpacking to 150 MB took 3.4 GB; here 1/10 of it: 15 KB unpacking to 15 MB."""
    path = tmp_path / "bomb.kmz"
    whens = "".join(f"<when>{_iso(T0 + 60 * i)}</when>" for i in range(5))
    coords = "".join(f"<gx:coord>11.5{i} 48.1{i} 500</gx:coord>" for i in range(5))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive, archive.open("doc.kml", "w") as kml:
        kml.write(b'<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2"><Document><Placemark><gx:Track>')
        for _ in range(15):
            kml.write(b" " * (1 << 20))
        kml.write(f"{whens}{coords}</gx:Track></Placemark></Document></kml>".encode())
    assert path.stat().st_size < 20_000
    result = measured(path)
    assert result["points"] == 5 and grown(result) < 8  # 15 MB read, never held
    result = measured(path, max_bytes=10 << 20)  # [location] track_max_mb bounds what it unpacks too
    assert result["error"] == "bomb.kmz: KMZ whose doc.kml unpacks to 15,729,145 bytes: more than 10,485,760"


def _geojson_line(path: Path, points: int) -> Path:
    with path.open("w") as fh:
        fh.write('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [')
        fh.write(",".join(f"[{11.5 + i * 1e-6:.6f}, {48.1 + i * 1e-6:.6f}, {500 + i % 100}]" for i in range(points)))
        fh.write(']}, "properties": {"coordTimes": [')
        fh.write(",".join(f'"{_iso(T0 + i)}"' for i in range(points)))
        fh.write("]}}]}")
    return path


@pytest.mark.slow
def test_a_geojson_with_too_many_points_is_refused_while_streaming(tmp_path: Path) -> None:
    """A GeoJSON of 10M points took 2.8 GB before it was refused; here 500,000 points against a
    limit of 100,000: refused at the 100,001st, having held 100,000."""
    path = _geojson_line(tmp_path / "many.geojson", 500_000)
    result = measured(path, max_points=100_000)
    assert result["error"] == "many.geojson: more than 100,000 positions in one GeoJSON file: refused (raise [location] track_max_points to read it)"
    assert grown(result) < 24  # the positions held (2 MB), the parser's buffers and allocator
    result = measured(path)  # within the default limit: read, at ~20 bytes a point kept
    assert result["points"] == 500_000 and grown(result) < 48


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("string.json", lambda: b'{"locations": [{"latitudeE7": 1, "longitudeE7": 1, "timestamp": "' + b"9" * (40 << 20) + b'"}]}', "a JSON string or number longer than 1 MiB"),
        ("number.json", lambda: b'{"locations": [{"latitudeE7": ' + b"9" * (40 << 20) + b"}]}", "a JSON string or number longer than 1 MiB"),
        ("entry.json", lambda: b'{"locations": [{"activity": [' + b"0," * (10 << 20) + b'0], "latitudeE7": 1}]}', "one JSON entry (a location, a segment) of more than 1 MiB"),
        ("comment.gpx", lambda: b'<gpx version="1.1"><!-- ' + b"<" * (40 << 20) + b" -->", "GPX with a tag, comment or declaration of more than 1 MiB"),
        ("attribute.gpx", lambda: b'<gpx version="1.1"><wpt lat="' + b"1" * (40 << 20) + b'"/></gpx>', "GPX with a tag, comment or declaration of more than 1 MiB"),
        ("text.gpx", lambda: b'<gpx version="1.1"><wpt lat="1" lon="1"><time>' + b" " * (40 << 20) + b"</time></wpt></gpx>", "GPX with a <time> of more than 4,096 characters"),
    ],
)
def test_one_huge_token_is_refused_as_it_grows(tmp_path: Path, name: str, make: object, reason: str) -> None:
    """yajl and expat hold an unfinished token whole and scan it again at every read (a 200 MB
    number ran for minutes): refused once past its bound, before the parser sees the rest."""
    path = tmp_path / name
    assert callable(make)
    path.write_bytes(make())
    result = measured(path)
    error = result["error"]
    assert isinstance(error, str) and error.startswith(f"{name}: {reason}")
    assert grown(result) < 24  # of a 40 MB token


def _records(path: Path, n: int) -> Path:
    """Records.json as Takeout writes it: pretty-printed, with accuracy, sometimes altitude and
    activity, source and device fields. Each entry is one of two shapes printed once by `json`,
    its values put in by text (200,000 `json.dumps` took seconds)."""
    shapes = []
    for extra in ({}, {"altitude": 35, "verticalAccuracy": 3, "activity": [{"activity": [{"type": "STILL", "confidence": 90}], "timestamp": "@T@"}]}):
        entry = {"latitudeE7": "@LAT@", "longitudeE7": "@LON@", "accuracy": 12, "source": "WIFI", "deviceTag": -12345, "timestamp": "@MS@"} | extra
        shapes.append(json.dumps(entry, indent=2).replace("\n", "\n    "))
    with path.open("w") as fh:
        fh.write('{\n  "locations": [')
        for i in range(n):
            when = _iso(T0 + 10 * i)
            text = shapes[i % 3 == 0].replace('"@LAT@"', str(488583000 + i)).replace('"@LON@"', str(22944000 + i))
            fh.write(("," if i else "") + text.replace("@MS@", when[:-1] + ".123Z").replace("@T@", when))
        fh.write("]\n}\n")
    return path


def test_a_large_records_json_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = _records(tmp_path / "Records.json", 200_000)
    result = measured(path)
    # 20 bytes a point kept (4 MB), the parser's buffers and allocator: the 56 MB file is never held.
    assert result["points"] == 200_000 and grown(result) < 24


def test_a_gpx_over_the_old_16_mib_cap_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """GPX over 16 MiB went to failed/ (gpxpy held ~2 kB a point)."""
    path = tmp_path / "ride.gpx"
    with path.open("w") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="Garmin" xmlns="http://www.topografix.com/GPX/1/1" xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"><trk><name>Ride</name><trkseg>\n')
        for i in range(90_000):
            fh.write(
                f'  <trkpt lat="{48.1 + i * 1e-6:.7f}" lon="{11.5 + i * 1e-6:.7f}">\n    <ele>{500 + i % 50}.2</ele>\n    <time>{_iso(T0 + i)}</time>\n'
                f"    <extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{100 + i % 40}</gpxtpx:hr><gpxtpx:cad>80</gpxtpx:cad></gpxtpx:TrackPointExtension></extensions>\n  </trkpt>\n"
            )
        fh.write("</trkseg></trk></gpx>\n")
    assert path.stat().st_size > 16 << 20
    result = measured(path)
    assert result["points"] == 90_000 and grown(result) < 16


def test_the_size_cap_is_10_gib_and_configurable(tmp_path: Path) -> None:
    """A 1.5 GB Records.json went to failed/ for being over 1 GiB. Here a sparse one: real
    locations, then a hole of zero bytes; it is read (and stops at the zeros, which are not JSON),
    not refused for its size."""
    assert TrackLimits().max_bytes == 10 << 30 == TrackLimits.of(LocationConfig()).max_bytes
    path = _records(tmp_path / "Records.json", 1000)
    with path.open("r+b") as fh:
        fh.truncate(1_500_000_000)
    result = measured(path)
    error = result["error"]
    assert isinstance(error, str) and error.startswith("Records.json: malformed JSON") and grown(result) < 10
    with pytest.raises(TrackTooBig, match=r"^Records\.json: 1,500,000,000 bytes, more than the 1,048,576,000 a track may have \(raise \[location\] track_max_mb"):
        read_track(path, TrackLimits.of(LocationConfig(track_max_mb=1000)))


def test_point_limit_refuses_the_file(tmp_path: Path) -> None:
    path = _records(tmp_path / "Records.json", 1000)
    with pytest.raises(TrackTooBig, match=r"^Records\.json: more than 999 track points"):
        read_track(path, TrackLimits(max_points=999))
    assert read_track(path, TrackLimits(max_points=1000)).point_count == 1000


MAPPED_CHILD = """
import json, random, sys
from datetime import UTC, datetime
from pathlib import Path
import numpy
from geolocator.locate.tracks.interpolate import locate_on_tracks
from geolocator.locate.tracks.store import map_cache

def kb(field):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field))

rss, anon = kb("VmRSS:"), kb("RssAnon:")
tracks = map_cache(Path(sys.argv[1]))
t0, t1 = float(tracks[0].times[0]), float(tracks[0].times[-1])
found = sum(locate_on_tracks(tracks, datetime.fromtimestamp(random.uniform(t0, t1), UTC)) is not None for _ in range(100))
print(json.dumps({"points": sum(len(t) for t in tracks), "found": found, "rss_mb": (kb("VmRSS:") - rss) / 1024, "anon_mb": (kb("RssAnon:") - anon) / 1024}))
"""


def test_known_tracks_are_mapped_from_the_cache_not_loaded(tmp_path: Path) -> None:
    """A restart loaded every track whole (7 s and 2.5 GB for one big history): now the cache is
    mapped, and only the pages a lookup touches are read: the process's own memory does not grow,
    and its RSS only by the pages of the cache file the lookups touched (page cache, which the
    kernel can take back at any time)."""
    import numpy as np

    from geolocator.locate.tracks.model import sorted_track
    from geolocator.locate.tracks.store import write_cache

    n = 5_000_000  # a 100 MB cache: 20 bytes a point
    times = T0 + np.arange(n, dtype=np.float64) * 30
    track = sorted_track("history", [times, np.full(n, 488583000, np.int32), 22944000 + np.arange(n, dtype=np.int32), np.zeros(n, np.int16), np.full(n, 12, np.uint16)], in_order=True)
    write_cache(tmp_path / "big.track", [track])
    out = subprocess.run([sys.executable, "-c", MAPPED_CHILD, str(tmp_path / "big.track")], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    print(f"\n{result}")
    assert result["points"] == n and result["found"] == 100 and result["anon_mb"] < 4 and result["rss_mb"] < 32  # of a 100 MB file
    cut = tmp_path / "cut.track"
    cut.write_bytes((tmp_path / "big.track").read_bytes()[:-8])
    from geolocator.locate.tracks.store import map_cache

    with pytest.raises(ValueError, match="cut short"):
        map_cache(cut)  # then the store reads the track file again
