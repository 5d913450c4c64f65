"""Issue 20 item 5: the new track formats, written here from their specifications (trackfiles.py),
place photos where exiftool's own geotagging puts them.

For each track: camera JPEGs without GPS (local time plus OffsetTimeOriginal) are geotagged by
exiftool itself, `exiftool -geotag TRACK '-Geotime<${DateTimeOriginal}${OffsetTimeOriginal}'
-o OUT/ PHOTOS`, and the point exiftool writes is the reference. Then the track and the photos go
into an inbox and `daemon.py scan` runs: the track must be recorded as a track, and each photo
placed with source `track` within 2 m of exiftool's point, or left without a track location where
exiftool writes none (too far beyond the track, inside a gap of more than 30 min). exiftool does
not read FIT: there the reference is the interpolation of tracks.py (exiftool's rules) over the
fixes the file was written from.

- an IGC flight (LXNAV style: I and J extensions, K and E records, L comments, G records,
  `HFDTEDATE:` header) with a 42-minute gap (the pilot switched the logger off on the ground);
- an IGC flight across UTC midnight (old `HFDTE` header; New Zealand in summer, photos at UTC+13);
- a TCX ride of two laps, a tunnel in the second where trackpoints have time and heart rate but
  no position;
- a u-blox multi-GNSS log with RMC and GGA off: `$GNGLL` and `$GNZDA` (talker GN, not GP),
  among VTG, GSA, GSV and TXT sentences, CRLF line ends;
- a Magellan `$PMGNTRK` log with dates;
- a FIT activity with compressed timestamp headers and records without position.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import trackfiles as tf
from common import Result, Workspace, exiftool, exiftool_gps, jpeg, metres, remove_tree, temp_root
from tracks import expected, track_verdict

AREA = "track formats"
TOLERANCE_M = 2.0


@dataclass(frozen=True)
class Case:
    file: str
    fixes: list[tf.Fix]
    write: Callable[[list[tf.Fix]], bytes]
    offset_hours: float  # the camera's clock: local time at the place
    photos: tuple[datetime, ...]  # UTC moments
    by_exiftool: bool = True  # else the reference is tracks.expected over the fixes with a position


def z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _igc_fixes() -> list[tf.Fix]:
    # Serres-La Batie-Montsaleon (Hautes-Alpes) towards the Pic de Bure, a fix every 4 s; logger off 10:31-11:13 UTC.
    first = tf.line(z("2024-07-21T09:40:00"), 51 * 60, 4, (44.4580, 5.7280), (44.6270, 5.9340), 1200)
    second = tf.line(z("2024-07-21T11:13:00"), 30 * 60, 4, (44.5860, 5.9010), (44.5120, 6.1050), 1800)  # relaunched 5 km away
    return first + second


def _midnight_fixes() -> list[tf.Fix]:
    # Omarama (New Zealand) along the Benmore Range, 23:30 to 00:45 UTC (12:30-13:45 NZDT), a fix every 2 s.
    return tf.line(z("2024-01-14T23:30:00"), 75 * 60, 2, (-44.4870, 169.9700), (-44.2100, 170.2800), 1500)


def _tcx_laps() -> list[list[tf.Fix]]:
    # Around Lake Annecy, a point every 3 s; in lap 2, 6 minutes in the Tunnel du Puya with no position.
    lap1 = tf.line(z("2023-09-02T07:00:00"), 40 * 60, 3, (45.8990, 6.1290), (45.8050, 6.2180), 450)
    lap2 = tf.line(z("2023-09-02T07:41:00"), 35 * 60, 3, (45.8070, 6.2150), (45.8770, 6.1500), 450)  # 300 m on, pushed
    tunnel_from, tunnel_to = z("2023-09-02T07:55:00"), z("2023-09-02T08:01:00")
    lap2 = [tf.Fix(f.utc, f.lat, f.lon, f.alt, has_position=not (tunnel_from <= f.utc <= tunnel_to)) for f in lap2]
    return [lap1, lap2]


def _gnss_fixes() -> list[tf.Fix]:
    # A car in Hokkaido (Sapporo towards Otaru), one epoch a second for 25 min.
    return tf.line(z("2022-10-08T01:10:00"), 25 * 60, 1, (43.0680, 141.3500), (43.1900, 140.9950), 20)


def _magellan_fixes() -> list[tf.Fix]:
    # A hike near Lake Placid (Adirondacks), a point every 10 s, in two days' files joined.
    return tf.line(z("2009-04-02T18:20:00"), 50 * 60, 10, (44.2795, -73.9799), (44.1129, -73.9237), 600)


def _fit_fixes() -> list[tf.Fix]:
    # A ride in the Dolomites (Passo Gardena), a record every second, 2 minutes without a fix.
    fixes = tf.line(z("2021-08-15T08:00:00"), 45 * 60, 1, (46.5560, 11.7600), (46.5490, 11.8080), 2100)
    lost_from, lost_to = z("2021-08-15T08:20:00"), z("2021-08-15T08:22:00")
    return [tf.Fix(f.utc, f.lat, f.lon, f.alt, has_position=not (lost_from < f.utc < lost_to)) for f in fixes]


TCX_LAPS = _tcx_laps()
CASES = (
    Case("flight.igc", _igc_fixes(), lambda fx: tf.igc(fx, "HFDTEDATE:210724,01", {30: "PEV", 400: "FXA025", 770: "STA"}), 2, (
        z("2024-07-21T09:41:13"), z("2024-07-21T10:05:07"), z("2024-07-21T10:30:59"),
        z("2024-07-21T10:55:00"),  # 24 min into the 42-min gap: 18 min from the next fix, the relaunch
        z("2024-07-21T10:40:00"),  # 9 min after the logger stopped
        z("2024-07-21T10:51:00"),  # 20 min after the last fix, 22 before the relaunch: the nearer end
        z("2024-07-21T11:42:58"), z("2024-07-21T12:20:00"),  # 37 min after the end
        z("2024-07-21T09:15:00"),  # 25 min before the start
    )),
    Case("midnight.igc", _midnight_fixes(), lambda fx: tf.igc(fx, "HFDTE140124", {100: "PEV"}, k_every=30), 13, (
        z("2024-01-14T23:31:01"), z("2024-01-14T23:59:59"), z("2024-01-15T00:00:01"),
        z("2024-01-15T00:20:33"), z("2024-01-15T00:44:59"),
    )),
    Case("ride.tcx", [f for lap in TCX_LAPS for f in lap], lambda _: tf.tcx(TCX_LAPS), 2, (
        z("2023-09-02T07:03:31"), z("2023-09-02T07:40:30"),  # between the laps (a 60-s pause)
        z("2023-09-02T07:57:10"),  # in the tunnel: no position there
        z("2023-09-02T08:15:44"),
    )),
    Case("ublox-gn.nmea", _gnss_fixes(), tf.ublox_gll_zda, 9, (
        z("2022-10-08T01:10:01"), z("2022-10-08T01:22:17"), z("2022-10-08T01:34:59"),
        z("2022-10-08T01:05:00"),  # 5 min before the first fix
    )),
    Case("explorist.log", _magellan_fixes(), tf.magellan, -4, (
        z("2009-04-02T18:20:05"), z("2009-04-02T18:47:33"), z("2009-04-02T19:09:59"),
    )),
    Case("ride.fit", _fit_fixes(), lambda fx: tf.fit(fx, compressed_from=600), 2, (
        z("2021-08-15T08:05:00"), z("2021-08-15T08:12:30"),  # in the compressed-timestamp part
        z("2021-08-15T08:21:00"),  # during the lost fix: between the fixes around it
        z("2021-08-15T08:44:00"),
    ), by_exiftool=False),
)


def camera_photo(path: Path, utc: datetime, offset_hours: float, n: int) -> None:
    zone = timezone(timedelta(hours=offset_hours))
    local = utc.astimezone(zone)
    sign = "+" if offset_hours >= 0 else "-"
    hours, minutes = divmod(round(abs(offset_hours) * 60), 60)
    jpeg(path, colour=(n * 23 % 256, 100, 50))
    exiftool("-q", "-overwrite_original", f"-DateTimeOriginal={local:%Y:%m:%d %H:%M:%S}",
             f"-OffsetTimeOriginal={sign}{hours:02d}:{minutes:02d}", "-Model=FormatCam", path)


def exiftool_reference(track: Path, photos: list[Path], out: Path) -> dict[str, tuple[float, float] | None]:
    """exiftool's own geotagging of each photo (None where it writes no position)."""
    out.mkdir()
    exiftool("-q", "-q", "-geotag", track, "-Geotime<${DateTimeOriginal}${OffsetTimeOriginal}", "-o", f"{out}/", *photos, check=False)
    return {p.name: exiftool_gps(out / p.name) if (out / p.name).is_file() else None for p in photos}


def same_point(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and metres(a, b) <= TOLERANCE_M)


def check_case(case: Case) -> list[Result]:
    root = temp_root("formats")
    scratch = temp_root("formats-scratch")
    try:
        track = scratch / case.file
        track.write_bytes(case.write(case.fixes))
        photos = []
        for n, moment in enumerate(case.photos):
            p = scratch / f"{Path(case.file).stem}-{n}.jpg"
            camera_photo(p, moment, case.offset_hours, n)
            photos.append(p)
        mine = {p.name: expected([(f.utc, f.lat, f.lon) for f in case.fixes if f.has_position], m) for p, m in zip(photos, case.photos, strict=True)}
        if case.by_exiftool:
            reference = exiftool_reference(track, photos, scratch / "exiftool")
            placed = sum(v is not None for v in reference.values())
            if not placed:
                return [Result(AREA, f"{case.file}: exiftool reads the test track", False, "exiftool placed no photo: the test file is wrong")]
        else:
            reference = mine
        ws = Workspace(root)
        shutil.copyfile(track, ws.inbox / track.name)
        for p in photos:
            shutil.copyfile(p, ws.inbox / p.name)
        scan = ws.scan(timeout=300)
        records = {r["name"]: r for r in ws.records()}
        rec = records.get(case.file, {})
        out = [Result(AREA, f"{case.file}: recorded as a track", rec.get("status") == "track",
                      f"status={rec.get('status')!r} error={rec.get('error')!r}; scan: {scan.stdout.strip()[-200:]}")]
        for p, moment in zip(photos, case.photos, strict=True):
            want = reference[p.name]
            r = records.get(p.name, {})
            ref_name = "exiftool" if case.by_exiftool else "interpolation here"
            agree = "" if not case.by_exiftool or same_point(want, mine[p.name]) else f" (this bench's own reading differs: {mine[p.name]})"
            ok, seen = track_verdict(want, r, TOLERANCE_M, ref_name, 2)
            out.append(Result(AREA, f"{case.file}: photo at {moment:%Y-%m-%d %H:%M:%S}Z (camera UTC{case.offset_hours:+g})", ok, seen + agree))
        return out
    finally:
        remove_tree(root)
        remove_tree(scratch)


def check() -> list[Result]:
    return [r for case in CASES for r in check_case(case)]
