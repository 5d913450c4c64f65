"""The promise of issue 8, checked from the outside after a scan.

Every input file ends in library/, failed/ or duplicates/ exactly once, with exactly one record
saying why; its bytes are unchanged (sha256); nothing stays in the inbox; and where the file has
GPS the record holds exiftool's reading (except (0, 0), which the README says means "no location").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common import Result, Workspace, exiftool_altitude, exiftool_gps, sha256

FOLDER_OF = {"located": "library", "unlocated": "library", "pending": "library", "track": "library",
             "failed": "failed", "duplicate": "duplicates"}


@dataclass(frozen=True)
class Input:
    """A file put into the inbox: what it is, its bytes' hash, and exiftool's reading of its GPS."""

    label: str
    name: str  # the file name as written into the inbox
    sha: str
    gps: tuple[float, float] | None
    altitude: float | None = None


def describe(label: str, path: Path, altitude: bool = False) -> Input:
    """The input as exiftool reads it; `altitude` also compares the GPS altitude."""
    return Input(label, path.name, sha256(path), exiftool_gps(path), exiftool_altitude(path) if altitude else None)


def check(area: str, ws: Workspace, inputs: list[Input]) -> list[Result]:
    records = ws.records()
    filed = ws.filed()
    by_sha: dict[str, list[dict[str, object]]] = {}
    for r in records:
        by_sha.setdefault(str(r.get("sha256")), []).append(r)
    wanted: dict[str, int] = {}
    for i in inputs:
        wanted[i.sha] = wanted.get(i.sha, 0) + 1
    results = []
    for i in inputs:
        recs = by_sha.get(i.sha, [])
        files = filed.get(i.sha, [])
        problems = []
        if len(recs) != wanted[i.sha]:
            problems.append(f"{len(recs)} record(s) for {wanted[i.sha]} input(s) with these bytes")
        if len(files) != wanted[i.sha]:
            problems.append(f"{len(files)} filed cop(ies) for {wanted[i.sha]} input(s): {[str(f.relative_to(ws.root)) for f in files]}")
        rec = next((r for r in recs if r.get("name") == i.name), recs[0] if recs else None)
        status = rec.get("status") if rec else None
        if rec:
            where = ws.root / FOLDER_OF.get(str(status), "?") / str(rec.get("path"))
            if not where.is_file() or sha256(where) != i.sha:
                problems.append(f"record says {where.relative_to(ws.root)}, which is missing or has other bytes")
            if status in ("failed", "duplicate") and not rec.get("error"):
                problems.append("failed/duplicate without a reason")
            if i.gps and i.gps != (0.0, 0.0) and status != "duplicate":
                got = (rec.get("lat"), rec.get("lon"))
                if got[0] is None or abs(float(got[0]) - i.gps[0]) > 1e-6 or abs(float(got[1]) - i.gps[1]) > 1e-6:  # type: ignore[arg-type]
                    problems.append(f"GPS {got} but exiftool reads {i.gps}")
            if i.gps == (0.0, 0.0) and rec.get("lat") is not None:
                problems.append(f"(0, 0) in the file recorded as a location {rec.get('lat')}, {rec.get('lon')}")
            if i.altitude is not None and (rec.get("altitude") is None or abs(float(rec["altitude"]) - i.altitude) > 0.5):  # type: ignore[arg-type]
                problems.append(f"altitude {rec.get('altitude')} but exiftool reads {i.altitude}")
        seen = f"{status}: {rec.get('error') or rec.get('place') or ''}" if rec else "no record"
        results.append(Result(area, f"{i.label} ({i.name[:40]})", not problems, "; ".join(problems) or seen))
    left = ws.inbox_left()
    known = set(wanted)
    strays = [str(p.relative_to(ws.root)) for sha, paths in filed.items() if sha not in known for p in paths]
    results.append(Result(area, "inbox empty after the scan", not left, f"left: {left}" if left else ""))
    results.append(Result(area, "no file filed that was not an input", not strays, f"extra: {strays}" if strays else ""))
    return results
