"""Issue 16 items 7-9: hostile track files, made here otherwise than tests/test_tracks_bounds.py does,
read by the watching service while its API is polled.

For each file a fresh service (`daemon.py --config FILE`, map page on a free port) starts; the file
is renamed into its inbox together with a photo with GPS; while the service reads them, `GET
/api/map` is asked every 50 ms. Each must hold:
- the file ends as a track (read) or in failed/ with "a GPS track we cannot read: <why>";
- the API answered every request, p99 <= 1 s;
- the service's peak resident memory (VmHWM in /proc/PID/status) <= 500 MB;
- the service is still running and the photo dropped with the file is filed as located.

The files:
- KML: 200,000 elements nested in a Placemark's <ExtendedData>, a valid gx:Track after them;
- KMZ: 100,000 members (stored, 16 bytes each) before its doc.kml;
- TCX: a billion-laughs DTD (entities 10 deep); another with an external entity naming /etc/passwd;
- GeoJSON: objects (not arrays) nested 100,000 deep in a feature's properties;
- Takeout Records.json: a location whose "activity" nests objects 100,000 deep;
- GPX with a byte-order mark and CRLF line ends, its DTD a billion laughs;
- FIT: a 20-minute ride cut at 60 % of its bytes (no CRC at the end);
- NMEA: ten good $GPRMC fixes, 50 MB of random bytes (lines of garbage, NULs, no end), ten more.
"""

from __future__ import annotations

import io
import os
import random
import statistics
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import trackfiles as tf
from common import Result, Workspace, jpeg, remove_tree, tag_gps, temp_root, until
from http_check import Service

AREA = "hostile tracks"
TOML = '[ollama]\nenabled = false\n[viewer]\nport = 0\ntile_url = ""\n[watch]\nsettle_seconds = 0.3\n'
P99_S = 1.0
PEAK_MB = 500.0
OUTCOME_WAIT = 300.0
CANNOT_READ = "a GPS track we cannot read"
DEPTH = 100_000


def kml_deep_extended_data() -> bytes:
    depth = 200_000
    head = ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">\n'
            "<Document><Placemark><name>walk</name><ExtendedData>")
    nest = '<Data name="d"><value>' * depth + "x" + "</value></Data>" * depth
    track = ("</ExtendedData><gx:Track><when>2020-03-01T10:00:00Z</when><when>2020-03-01T10:01:00Z</when>"
             "<gx:coord>7.44 46.95 540</gx:coord><gx:coord>7.45 46.96 545</gx:coord></gx:Track></Placemark></Document></kml>\n")
    return (head + nest + track).encode()


def kmz_many_members() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as kmz:
        for n in range(100_000):
            kmz.writestr(f"files/tile_{n:06d}.png", b"\x89PNG\r\n\x1a\n" + n.to_bytes(8, "big"))
        kmz.writestr("doc.kml", '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Placemark>'
                                "<TimeStamp><when>2020-03-01T10:00:00Z</when></TimeStamp><Point><coordinates>7.44,46.95</coordinates></Point>"
                                "</Placemark></kml>")
    return buffer.getvalue()


def laughs_dtd(root: str, depth: int = 10) -> str:
    lines = ['<!ENTITY l0 "ha! ha! ha! ha! ha! ha! ha! ha! ha! ha!">']
    lines += [f'<!ENTITY l{n} "{"".join(f"&l{n - 1};" for _ in range(10))}">' for n in range(1, depth)]
    return f"<!DOCTYPE {root} [\n " + "\n ".join(lines) + "\n]>"


TCX_HEAD = '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
TCX_POINT = ("<Trackpoint><Time>2020-03-01T10:00:00Z</Time><Position><LatitudeDegrees>46.95</LatitudeDegrees>"
             "<LongitudeDegrees>7.44</LongitudeDegrees></Position></Trackpoint>")


def tcx_laughs() -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + laughs_dtd("TrainingCenterDatabase") + "\n" + TCX_HEAD
            + '<Activities><Activity Sport="Running"><Id>2020-03-01T10:00:00Z</Id><Notes>&l9;</Notes>'
            + f'<Lap StartTime="2020-03-01T10:00:00Z"><Track>{TCX_POINT}</Track></Lap></Activity></Activities></TrainingCenterDatabase>\n').encode()


def tcx_external() -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE TrainingCenterDatabase [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>\n'
            + TCX_HEAD + '<Activities><Activity Sport="Running"><Id>2020-03-01T10:00:00Z</Id><Notes>&secret;</Notes>'
            + f'<Lap StartTime="2020-03-01T10:00:00Z"><Track>{TCX_POINT}</Track></Lap></Activity></Activities></TrainingCenterDatabase>\n').encode()


def geojson_deep_objects() -> bytes:
    nest = '{"k":' * DEPTH + "1" + "}" * DEPTH
    return ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"coordTimes": '
            '["2020-03-01T10:00:00Z", "2020-03-01T10:01:00Z"], "extra": ' + nest + '}, "geometry": {"type": "LineString", '
            '"coordinates": [[7.44, 46.95], [7.45, 46.96]]}}]}').encode()


def records_deep_objects() -> bytes:
    nest = '{"type":' * DEPTH + '"STILL"' + "}" * DEPTH
    return ('{\n  "locations": [{\n    "latitudeE7": 469500000,\n    "longitudeE7": 74400000,\n    "accuracy": 12,\n'
            '    "timestamp": "2020-03-01T10:00:00.000Z",\n    "activity": [' + nest + ']\n  }]\n}\n').encode()


def gpx_bom_crlf_laughs() -> bytes:
    text = ('<?xml version="1.0" encoding="UTF-8"?>\r\n' + laughs_dtd("gpx").replace("\n", "\r\n") + "\r\n"
            '<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">\r\n<metadata><desc>&l9;</desc></metadata>\r\n'
            '<trk><trkseg><trkpt lat="46.95" lon="7.44"><time>2020-03-01T10:00:00Z</time></trkpt></trkseg></trk>\r\n</gpx>\r\n')
    return b"\xef\xbb\xbf" + text.encode()


def fit_truncated() -> bytes:
    fixes = tf.line(datetime(2020, 3, 1, 10, 0, tzinfo=UTC), 20 * 60, 1, (46.95, 7.44), (46.99, 7.50), 540)
    whole = tf.fit(fixes, compressed_from=300)
    return whole[: len(whole) * 6 // 10]


def nmea_garbage() -> bytes:
    def rmc(n: int) -> bytes:
        return (tf.nmea(f"GPRMC,10{n:02d}00.00,A,4657.000,N,00726.400,E,0.5,90.0,010320,,,A") + "\r\n").encode()
    rng = random.Random(16)
    garbage = rng.randbytes(50 * 1024 * 1024)
    return b"".join(rmc(n) for n in range(10)) + garbage + b"\r\n" + b"".join(rmc(n) for n in range(10, 20))


@dataclass(frozen=True)
class Hostile:
    name: str
    make: Callable[[], bytes]
    what: str
    points: int | None = None  # if it is read: the points it holds (None: any number)


FILES = (
    Hostile("deep-extended.kml", kml_deep_extended_data, "KML, 200k elements nested in <ExtendedData>", 2),
    Hostile("many-members.kmz", kmz_many_members, "KMZ of 100,000 members", 1),
    Hostile("laughs.tcx", tcx_laughs, "TCX, billion laughs", 1),
    Hostile("external-entity.tcx", tcx_external, "TCX, external entity file:///etc/passwd", 1),
    Hostile("deep-objects.geojson", geojson_deep_objects, "GeoJSON, objects nested 100k deep", 2),
    Hostile("Records.json", records_deep_objects, "Takeout Records.json, objects nested 100k deep", 1),
    Hostile("laughs-bom-crlf.gpx", gpx_bom_crlf_laughs, "GPX with BOM and CRLF, billion laughs", 1),
    Hostile("cut.fit", fit_truncated, "FIT cut at 60 %"),
    Hostile("garbage.nmea", nmea_garbage, "NMEA, 50 MB of random bytes between good fixes", 20),
)


class Poller(threading.Thread):
    """Asks GET /api/map every 50 ms until stopped: each request's time, or its failure."""

    def __init__(self, service: Service) -> None:
        super().__init__(daemon=True)
        self.service = service
        self.times: list[float] = []
        self.failures: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            started = time.monotonic()
            try:
                status, _ = self.service.request("GET", "/api/map")
                if status != 200:
                    self.failures.append(f"HTTP {status}")
            except OSError as exc:
                self.failures.append(repr(exc))
            self.times.append(time.monotonic() - started)
            self.halt.wait(0.05)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else (values[0] if values else float("nan"))


def alive_now(service: Service) -> bool:
    return service.proc.poll() is None


def check_file(hostile: Hostile) -> list[Result]:
    root = temp_root("hostile")
    service = None
    try:
        ws = Workspace(root, TOML)
        staging = root / "staging"
        staging.mkdir()
        data = hostile.make()
        (staging / hostile.name).write_bytes(data)
        photo = jpeg(staging / "alongside.jpg", (200, 10, 10))
        tag_gps(photo, 46.9480, 7.4474, "-DateTimeOriginal=2020:03:01 11:00:30")
        service = Service(ws, log=root / "service.log")
        poller = Poller(service)
        poller.start()
        started = time.monotonic()
        os.rename(staging / hostile.name, ws.inbox / hostile.name)
        os.rename(photo, ws.inbox / photo.name)

        def outcome() -> dict[str, dict[str, object]] | None:
            if service is None or service.proc.poll() is not None:
                return {"(the service exited)": {}}
            try:
                rows = {r["name"]: r for r in service.get_json("/api/images?fields=name,status,error,source")}
            except (OSError, RuntimeError):
                return None
            track, shot = rows.get(hostile.name, {}), rows.get(photo.name, {})
            decided = track.get("status") in ("track", "failed") and shot.get("status") in ("located", "unlocated", "failed")
            return rows if decided and not ws.inbox_left() else None  # a record names its place before the move

        rows = until(outcome, OUTCOME_WAIT, 0.5)
        points = None
        track_id = next((str(r.get("id")) for r in service.get_json("/api/tracks") if r.get("name") == hostile.name), None) if alive_now(service) else None
        if track_id:
            lines = service.get_json(f"/api/tracks/{track_id}.geojson")
            points = sum(int(f["properties"]["points"]) for f in lines.get("features", []))
        took = time.monotonic() - started
        poller.halt.set()
        poller.join(timeout=90)
        alive = service.proc.poll() is None
        peak_mb = service.memory_kb("VmHWM") / 1024 if alive else float("nan")
        rows = rows or {}
        track, shot = rows.get(hostile.name, {}), rows.get(photo.name, {})
        status, error = track.get("status"), str(track.get("error") or "")
        label = f"{hostile.name} ({hostile.what}, {len(data) / 1e6:.1f} MB)"
        read_or_refused = (status == "track" and (hostile.points is None or points == hostile.points)) or (status == "failed" and CANNOT_READ in error)
        leaked = "root:" in error
        kept = [p for folder in ("library", "failed") for p in (root / folder).rglob(hostile.name) if p.is_file() and p.read_bytes() == data]
        out = [
            Result(AREA, f"{label}: read, or failed as '{CANNOT_READ}'", read_or_refused and not leaked,
                   f"status={status!r} error={error[:160]!r} after {took:.1f} s" + (f"; {points} points read (the file holds {hostile.points})" if status == "track" else "")
                   + ("; the error shows /etc/passwd" if leaked else "")),
            Result(AREA, f"{label}: kept once, bytes unchanged, in library/ or failed/", len(kept) == 1,
                   f"{[str(p.relative_to(root)) for p in kept]}"),
            Result(AREA, f"{label}: /api/map answered every request, p99 <= {P99_S} s",
                   bool(poller.times) and not poller.failures and p99(poller.times) <= P99_S,
                   f"{len(poller.times)} requests, p50 {statistics.median(poller.times) * 1000:.0f} ms, p99 {p99(poller.times) * 1000:.0f} ms, "
                   f"max {max(poller.times) * 1000:.0f} ms; failures {poller.failures[:3]}" if poller.times else "no request answered"),
            Result(AREA, f"{label}: service alive, peak RSS (VmHWM) <= {PEAK_MB:.0f} MB", alive and peak_mb <= PEAK_MB,
                   f"alive={alive}, VmHWM {peak_mb:.0f} MB"),
            Result(AREA, f"{label}: a photo dropped with it is filed as located", shot.get("status") == "located",
                   f"status={shot.get('status')!r} source={shot.get('source')!r}"),
        ]
        return out
    finally:
        if service is not None:
            service.stop()
        remove_tree(root)


def check() -> list[Result]:
    return [r for hostile in FILES for r in check_file(hostile)]
