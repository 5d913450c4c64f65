#!/usr/bin/env python3
"""Hostile and real-size GPS tracks: peak memory and time of the real reader, and of the service.

    .venv/bin/python bench/tracks_bounds.py [--records-gb 3] [--quick] [--no-service]

Makes, in a temp folder (deleted after), each file of issue 16: a GPX with 150,000 nested
<extensions> elements, a GeoJSON with 40,000 nested `[`, a 15 MB GPX whose DTD (behind a comment
naming <gpx>) declares entities expanding a billionfold, a 153 KB KMZ unpacking to 150 MB, a
GeoJSON line of 10 million points; and real-size ones: a GPX of half a million points and a Records.json
of --records-gb GB in Takeout's format (pretty-printed; latitudeE7, longitudeE7, accuracy,
timestamp, and altitude and activity on some). Each is read by `read_track` (default limits) in a
fresh Python process: its peak RSS (VmHWM, after the parsers are imported, and the growth while
reading), wall and CPU time, and what it found. Then a restart: the Records.json's track cache
mapped (as the service does at every start) and 1,000 photos looked up on it. Then the service
(`daemon.py`, map page on): the Records.json dropped into its inbox, its API asked every 50 ms
while it reads it: p99 latency and the service's peak RSS.

Targets: every reader's peak RSS <= 500 MB, the Records.json's <= 300 MB; API p99 <= 1 s and the
service's peak <= 500 MB. Exit 1 when one is missed. It takes about 7 minutes of CPU (most of it
reading the Records.json twice); --quick makes everything ten times smaller (about one).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pyenv import status_mb  # bench/, the script's folder

REPO = Path(__file__).resolve().parent.parent
READER_PEAK_MB = 500.0
RECORDS_PEAK_MB = 300.0
API_P99_S = 1.0
T0 = 1_420_070_400  # 2015-01-01T00:00:00Z

CHILD = """
import json, resource, sys, time
import numpy, ijson, defusedxml.ElementTree, pynmea2, fitdecode  # the readers' libraries, before the baseline
from pathlib import Path
from geolocator.locate.tracks import fit, igc, jsontracks, nmea, xmltracks
from geolocator.locate.tracks.model import TrackError
from geolocator.locate.tracks.parse import read_track
from geolocator.locate.tracks.store import write_cache

def peak_kb():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))

base = peak_kb()
wall, cpu = time.perf_counter(), time.process_time()
try:
    found = read_track(sys.argv[1])
    outcome = f"read: {found.point_count:,} points in {len(found.tracks)} part(s)"
except TrackError as exc:
    found, outcome = None, f"refused: {exc}"
result = {"outcome": outcome, "base_mb": base / 1024, "peak_mb": peak_kb() / 1024, "seconds": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
if found is not None and len(sys.argv) > 2:
    write_cache(Path(sys.argv[2]), found.tracks)
print(json.dumps(result))
"""

RESTART_CHILD = """
import json, random, sys, time
from datetime import UTC, datetime
from pathlib import Path
import numpy
from geolocator.locate.tracks.interpolate import locate_on_tracks
from geolocator.locate.tracks.store import map_cache

def kb(field):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field))

rss, anon = kb("VmRSS:"), kb("RssAnon:")
wall = time.perf_counter()
tracks = map_cache(Path(sys.argv[1]))
mapped = time.perf_counter() - wall
t0, t1 = float(tracks[0].times[0]), float(tracks[0].times[-1])
wall = time.perf_counter()
found = sum(locate_on_tracks(tracks, datetime.fromtimestamp(random.uniform(t0, t1), UTC)) is not None for _ in range(1000))
looked = time.perf_counter() - wall
print(json.dumps({"points": sum(len(t) for t in tracks), "map_ms": mapped * 1000, "lookup_ms": looked, "found": found,
                  "rss_mb": (kb("VmRSS:") - rss) / 1024, "anon_mb": (kb("RssAnon:") - anon) / 1024}))
"""


_CLOCK = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
_DAYS: dict[int, str] = {}


def iso(t: int) -> str:
    """UTC `t` as 2015-01-01T00:00:00, fast (files of millions of points are written here)."""
    day, second = divmod(t, 86_400)
    if day not in _DAYS:
        _DAYS[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))
    return f"{_DAYS[day]}T{_CLOCK[second]}"


def deep_gpx(path: Path) -> Path:
    point = f'<trkpt lat="48.1" lon="11.5"><time>{iso(T0)}Z</time><extensions>{"<e>" * 150_000}{"</e>" * 150_000}</extensions></trkpt>'
    path.write_text(f'<?xml version="1.0"?>\n<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{point}</trkseg></trk></gpx>\n')
    return path


def deep_geojson(path: Path) -> Path:
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": ' + "[" * 40_000 + "]" * 40_000 + "}}]}")
    return path


def laughs_gpx(path: Path, megabytes: int) -> Path:
    """A comment naming <gpx> first (the old check looked for a DTD only before it), then a DTD
    whose entity e5 expands to 1000 * 30^5 bytes, used in the name of every point."""
    levels = ['<!ENTITY e0 "' + "ha" * 500 + '">'] + [f'<!ENTITY e{i} "' + f"&e{i - 1};" * 30 + '">' for i in range(1, 6)]
    with path.open("w") as fh:
        fh.write('<?xml version="1.0"?>\n<!-- <gpx> exported by hand -->\n<!DOCTYPE gpx [\n' + "\n".join(levels) + "\n]>\n")
        fh.write('<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>\n')
        i = 0
        while fh.tell() < megabytes << 20:
            fh.write(f'<trkpt lat="{48.1 + i * 1e-6:.7f}" lon="{11.5 + i * 1e-6:.7f}"><time>{iso(T0 + i)}Z</time><name>&e5;</name></trkpt>\n')
            i += 1
        fh.write("</trkseg></trk></gpx>\n")
    return path


def bomb_kmz(path: Path, megabytes: int) -> Path:
    """A KMZ whose doc.kml (a small gx:Track) is padded with `megabytes` MB of spaces: it unpacks
    to a thousand times its size."""
    whens = "".join(f"<when>{iso(T0 + 60 * i)}Z</when>" for i in range(5))
    coords = "".join(f"<gx:coord>11.5{i} 48.1{i} 500</gx:coord>" for i in range(5))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive, archive.open("doc.kml", "w", force_zip64=True) as kml:
        kml.write(b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2"><Document><Placemark><name>Walk</name><gx:Track>')
        for _ in range(megabytes):
            kml.write(b" " * (1 << 20))
        kml.write(f"{whens}{coords}</gx:Track></Placemark></Document></kml>".encode())
    return path


def geojson_line(path: Path, points: int) -> Path:
    """One LineString feature of `points` vertices, its times in coordTimes (@mapbox/togeojson)."""
    with path.open("w") as fh:
        fh.write('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "a year of rides", "coordTimes": [')
        for start in range(0, points, 100_000):
            stop = min(points, start + 100_000)
            fh.write(("," if start else "") + ",".join(f'"{iso(T0 + i)}Z"' for i in range(start, stop)))
        fh.write(']}, "geometry": {"type": "LineString", "coordinates": [')
        for start in range(0, points, 100_000):
            stop = min(points, start + 100_000)
            fh.write(("," if start else "") + ",".join(f"[{11.5 + (i % 100_000) * 1e-5:.6f},{48.1 + (i % 77_777) * 1e-5:.6f},{500 + i % 300}]" for i in range(start, stop)))
        fh.write("]}}]}\n")
    return path


def big_gpx(path: Path, points: int) -> Path:
    """A GPX as a Garmin unit writes it: pretty-printed, elevation, time, heart rate and cadence."""
    with path.open("w") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<gpx creator="Garmin Connect" version="1.1" xmlns="http://www.topografix.com/GPX/1/1" ')
        fh.write('xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n  <trk>\n    <name>A year of walks</name>\n    <trkseg>\n')
        for start in range(0, points, 50_000):
            fh.write(
                "".join(
                    f'      <trkpt lat="{48.1 + (i % 90_001) * 1e-6:.7f}" lon="{11.5 + (i % 70_001) * 1e-6:.7f}">\n        <ele>{500 + i % 300}.4</ele>\n'
                    f"        <time>{iso(T0 + 5 * i)}.000Z</time>\n        <extensions>\n          <gpxtpx:TrackPointExtension>\n"
                    f"            <gpxtpx:hr>{90 + i % 60}</gpxtpx:hr>\n            <gpxtpx:cad>{80 + i % 10}</gpxtpx:cad>\n"
                    "          </gpxtpx:TrackPointExtension>\n        </extensions>\n      </trkpt>\n"
                    for i in range(start, min(points, start + 50_000))
                )
            )
        fh.write("    </trkseg>\n  </trk>\n</gpx>\n")
    return path


def records_json(path: Path, gigabytes: float) -> Path:
    """Records.json as Google Takeout wrote it (pretty-printed, two-space indent): a location
    every 30 s from 2015, every fourth with altitude and vertical accuracy, every fifth with the
    activity guesses, until the file is `gigabytes` GB."""
    target = int(gigabytes * 1e9)
    with path.open("w") as fh:
        fh.write('{\n  "locations": [')
        i = 0
        while fh.tell() < target:
            block = []
            for j in range(i, i + 20_000):
                t = T0 + 30 * j
                stamp = iso(t)
                extra = f'    "altitude": {20 + j % 200},\n    "verticalAccuracy": {2 + j % 5},\n' if j % 4 == 0 else ""
                if j % 5 == 0:
                    extra += (
                        '    "activity": [{\n      "activity": [{\n        "type": "STILL",\n        "confidence": 72\n      }, {\n        "type": "ON_FOOT",\n'
                        f'        "confidence": 11\n      }}],\n      "timestamp": "{stamp}.{j % 1000:03d}Z"\n    }}],\n'
                    )
                block.append(
                    f'{{\n    "latitudeE7": {488583000 + (j * 7919) % 2_000_000 - 1_000_000},\n    "longitudeE7": {22944000 + (j * 104_729) % 3_000_000 - 1_500_000},\n'
                    f'    "accuracy": {3 + j % 40},\n{extra}    "source": "WIFI",\n    "deviceTag": -1234567890,\n    "platformType": "ANDROID",\n'
                    f'    "timestamp": "{stamp}.{(j * 37) % 1000:03d}Z"\n  }}'
                )
            fh.write(("" if i == 0 else ", ") + ", ".join(block))
            i += 20_000
        fh.write("]\n}\n")
    return path


@dataclass(frozen=True)
class Reading:
    outcome: str
    base_mb: float  # VmHWM once the parsers are imported
    peak_mb: float  # VmHWM after reading
    seconds: float
    cpu: float


def read_in_child(path: Path, cache: Path | None = None) -> Reading:
    """`read_track(path)` in a fresh process (writing its track cache to `cache`, as the service does)."""
    args = [sys.executable, "-c", CHILD, str(path)] + ([str(cache)] if cache else [])
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=3600)
    if done.returncode != 0:
        return Reading(f"CRASHED (exit {done.returncode}): {done.stderr.strip()[-300:]}", 0.0, float("nan"), 0.0, 0.0)
    return Reading(**json.loads(done.stdout))




@dataclass(frozen=True)
class ServiceRun:
    filed_s: float  # from the drop until the API lists the track
    latencies: list[float]  # of every API request meanwhile, sorted
    before: dict[str, float]  # the service's memory before the drop
    after: dict[str, float]  # and once the track is filed (VmHWM: its peak)
    summary: str

    def quantile(self, q: float) -> float:
        return self.latencies[min(len(self.latencies) - 1, int(len(self.latencies) * q))]


def service_reading(root: Path, track: Path) -> ServiceRun:
    """The service reading `track` dropped into its inbox while its API is asked every 50 ms."""
    for folder in ("inbox", "library", "failed", "duplicates"):
        (root / folder).mkdir(parents=True)
    (root / "config.toml").write_text("[ollama]\nenabled = false\n[viewer]\nport = 0\n")
    with (root / "service.log").open("wb") as log_file:
        proc = subprocess.Popen([sys.executable, str(REPO / "daemon.py"), "--config", str(root / "config.toml")], stdout=subprocess.PIPE, stderr=log_file, cwd=root)
        try:
            line = (proc.stdout.readline() if proc.stdout else b"").decode().strip()
            if not line.startswith("map: "):
                raise RuntimeError(f"the service did not print its map address: {line!r}")
            url = line.removeprefix("map: ") + "api/tracks"
            before = status_mb(proc.pid)
            os.rename(track, root / "inbox" / track.name)
            latencies, began = [], time.perf_counter()
            while True:
                asked = time.perf_counter()
                with urllib.request.urlopen(url, timeout=60) as response:
                    tracks = json.loads(response.read())
                latencies.append(time.perf_counter() - asked)
                if tracks or proc.poll() is not None or time.perf_counter() - began > 3600:
                    break
                time.sleep(0.05)
            filed = time.perf_counter() - began
            after = status_mb(proc.pid)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return ServiceRun(filed, sorted(latencies), before, after, tracks[0]["summary"] if tracks else "NOT FILED")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records-gb", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="everything ten times smaller (a quick look while working)")
    parser.add_argument("--no-service", action="store_true", help="skip the service run")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    ok = True
    with tempfile.TemporaryDirectory(prefix="geolocator-tracks-") as tmp:
        folder = Path(tmp)
        began = time.perf_counter()
        files = [
            ("hostile", deep_gpx(folder / "deep-extensions.gpx")),
            ("hostile", deep_geojson(folder / "deep-brackets.geojson")),
            ("hostile", laughs_gpx(folder / "entities-after-comment.gpx", 15 // scale)),
            ("hostile", bomb_kmz(folder / "bomb.kmz", 150 // scale)),
            ("hostile", geojson_line(folder / "10M-points.geojson" if scale == 1 else folder / "1M-points.geojson", 10_000_000 // scale)),
            ("real", big_gpx(folder / "year-of-walks.gpx", 500_000 // scale)),
            ("real", records_json(folder / "Records.json", args.records_gb / scale)),
        ]
        print(f"files made in {time.perf_counter() - began:.0f} s, in {folder}")
        print(f"{'file':<28} {'size':>9} {'wall s':>7} {'cpu s':>6} {'peak MB':>8} {'+MB':>6}  outcome")
        cache = folder / "records.track"
        for kind, path in files:
            result = read_in_child(path, cache if path.name == "Records.json" else None)
            budget = RECORDS_PEAK_MB if path.name == "Records.json" else READER_PEAK_MB
            met = result.peak_mb <= budget and not result.outcome.startswith("CRASHED")
            ok = ok and met
            size = path.stat().st_size
            shown = f"{size / 1e9:.2f} GB" if size >= 1e9 else f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"
            print(
                f"{path.name:<28} {shown:>9} {result.seconds:>7.1f} {result.cpu:>6.1f} {result.peak_mb:>8.0f} {result.peak_mb - result.base_mb:>6.0f}"
                f"  {result.outcome[:110]}{'' if met else f'  TARGET ({budget:.0f} MB) MISSED'}"
            )
            if kind == "hostile" and path.name != "bomb.kmz":
                path.unlink()  # the disk they take is not needed any longer
        print(f"targets: peak RSS <= {READER_PEAK_MB:.0f} MB, Records.json <= {RECORDS_PEAK_MB:.0f} MB (peak: the whole reading process, VmHWM; +MB: while reading)")
        if cache.exists():
            done = subprocess.run([sys.executable, "-c", RESTART_CHILD, str(cache)], capture_output=True, text=True, cwd=REPO, timeout=600, check=True)
            restart: dict[str, float] = json.loads(done.stdout)
            print(
                f"restart: the Records.json's cache ({cache.stat().st_size / 1e6:.0f} MB, {restart['points']:,} points) mapped in {restart['map_ms']:.1f} ms;"
                f" 1,000 photos looked up in {restart['lookup_ms']:.2f} s ({restart['found']} placed): RSS +{restart['rss_mb']:.1f} MB, own memory +{restart['anon_mb']:.1f} MB"
            )
        if not args.no_service:
            service = service_reading(folder / "service", folder / "Records.json")
            peak, p99 = service.after["VmHWM"], service.quantile(0.99)
            met = p99 <= API_P99_S and peak <= READER_PEAK_MB
            ok = ok and met
            print(
                f"service: Records.json dropped in the inbox, filed after {service.filed_s:.0f} s ({service.summary});"
                f" /api/tracks asked {len(service.latencies)} times meanwhile: p50 {service.quantile(0.5) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms,"
                f" max {service.latencies[-1] * 1000:.0f} ms; service RSS {service.before['VmRSS']:.0f} MB before, peak {peak:.0f} MB{'' if met else '  TARGET MISSED'}"
            )
            print(f"targets: API p99 <= {API_P99_S * 1000:.0f} ms, service peak <= {READER_PEAK_MB:.0f} MB")
    print("all targets MET" if ok else "a target was MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
