#!/usr/bin/env python3
"""The service's memory with 100k records, after it has filed a photo: the real process.

    .venv/bin/python bench/service_rss.py [--records N]

A database of N synthetic records (100k by default; 95% read from files, 5% AI estimates with a
description, the model's raw answer and its decisions) is written beforehand with the store's
own writer (`Store.put_many`). Then `daemon.py --config` runs as a user would (watcher, two
ingest workers, the map page on a free port; Ollama off), announcing READY through a real
NOTIFY_SOCKET. One photo with GPS is renamed into the inbox; once the map's API says it is
filed (located, its file in the library), VmRSS and VmHWM are read from /proc/PID/status.
Target: VmRSS <= 200 MB. Also shown: RSS at READY, and after the map page's first full load
of `/api/map` (every record as a map row), which a browser opening the page asks for.

Run twice: on the database as we write it, and on the same records in the layout a previous
version (or TinyDB's own JSON storage, or a person following the README) writes: one JSON
document, `{"photos": {"<doc_id>": {record}, ...}}` on one line, which the service migrates as
it starts. Targets there: right after migrating (at READY) VmRSS <= 200 MB and VmHWM <= 250 MB.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pyenv import status_mb  # noqa: E402 (bench/, the script's folder)

from geolocator.locate import places  # noqa: E402
from geolocator.record import PhotoRecord, Source, Status, record_id  # noqa: E402
from geolocator.record.store import Store, doc_id, load_records  # noqa: E402
from tests.corpus import CORPUS as CORPUS_ROOT  # noqa: E402

CORPUS = CORPUS_ROOT / "exif-samples" / "jpg" / "gps"
RSS_TARGET_MB = 200.0
MIGRATION_PEAK_MB = 250.0  # VmHWM at READY, after migrating a database in the previous layout
DEADLINE = 60.0  # seconds for READY and for the photo to be filed


def place_names(count: int) -> list[places.PlaceName]:
    """Real place names for `count` points spread over the inhabited latitudes."""
    return [places.name(-40.0 + (i * 7.31) % 100.0, -170.0 + (i * 13.7) % 340.0) for i in range(count)]


def synthetic(n: int, name: places.PlaceName) -> PhotoRecord:
    sha = hashlib.sha256(b"rss-synthetic%d" % n).hexdigest()
    base = PhotoRecord(
        id=record_id(sha), sha256=sha, name=f"IMG_{n:06d}.jpg", path=f"20{n % 20:02d}/{n % 12 + 1:02d}/IMG_{n:06d}.jpg",
        status=Status.LOCATED, source=Source.EXIF, lat=-40.0 + (n * 0.731) % 100.0, lon=-170.0 + (n * 1.37) % 340.0,
        altitude=float(n % 900), place=name.label, city=name.city, region=name.region, country_code=name.country_code,
        taken_at=f"20{n % 20:02d}-{n % 12 + 1:02d}-{n % 28 + 1:02d}T12:{n % 60:02d}:00+01:00",
        taken_utc=f"20{n % 20:02d}-{n % 12 + 1:02d}-{n % 28 + 1:02d}T11:{n % 60:02d}:00+00:00", time_basis="file offset",
        camera=("Apple iPhone 13 Pro", "Google Pixel 7", "Canon EOS 80D", "SONY ILCE-7M3")[n % 4],
    )
    if n % 20:
        return base
    raw = {"country": name.country_code, "region": name.region, "city": name.city, "landmark": None, "lat": base.lat, "lon": base.lon, "description": "A harbour at dusk " * 10}
    return dataclasses.replace(
        base, source=Source.AI, confidence=0.62, radius_km=25.0, model="qwen2.5vl", prompt_version="3", ai_raw=json.dumps(raw),
        description="A harbour at dusk with fishing boats, whitewashed houses on a hillside and a church tower.",
        ai_decisions=("city resolved in the gazetteer", "model's point within 25 km of the city: kept", "confidence from the level: city"),
    )


def prefill(database: Path, n: int) -> None:
    names = place_names(2000)
    with Store(database) as store:
        for start in range(0, n, 5000):
            store.put_many(synthetic(i, names[i % len(names)]) for i in range(start, min(n, start + 5000)))




def fmt(mem: dict[str, float]) -> str:
    return f"VmRSS {mem['VmRSS']:6.1f} MB  VmHWM {mem['VmHWM']:6.1f} MB  (anon {mem['RssAnon']:.1f}, file-backed {mem['RssFile']:.1f})"


def mappings_kb(pid: int) -> dict[str, int]:
    """Resident kB per mapped file (or [heap], [anon]...), from /proc/PID/smaps."""
    out: dict[str, int] = {}
    name = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
            name = fields[5] if len(fields) > 5 else "[anon]"
        elif fields and fields[0] == "Rss:":
            out[name] = out.get(name, 0) + int(fields[1])
    return out


def print_growth(before: dict[str, int], after: dict[str, int]) -> None:
    growth = sorted(((after.get(k, 0) - before.get(k, 0), k) for k in after.keys() | before.keys()), reverse=True)
    for kb, name in growth[:8]:
        if kb:
            print(f"      {kb / 1024:+7.1f} MB  {name}")


def get_json(url: str) -> object | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            data: object = json.loads(response.read())
            return data
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def as_previous_layout(database: Path) -> None:
    """Rewrite the database as one JSON document on one line, as TinyDB's own storage writes it."""
    records = load_records(database)
    database.write_text(json.dumps({"photos": {doc_id(rid): record.to_dict() for rid, record in records.items()}}))


def run(root: Path, records: int, detail: bool, previous_layout: bool) -> bool:
    for folder in ("inbox", "library", "failed", "duplicates"):
        (root / folder).mkdir()
    database = root / "geolocator.json"
    began = time.perf_counter()
    prefill(database, records)
    if previous_layout:
        as_previous_layout(database)
    size = database.stat().st_size / 1e6
    layout = "the previous layout (one JSON document), migrated as the service starts" if previous_layout else "our layout"
    print(f"database: {records} records written with Store.put_many in {time.perf_counter() - began:.1f} s ({size:.0f} MB of JSON), in {layout}")
    config = root / "config.toml"
    config.write_text("[ollama]\nenabled = false\n[viewer]\nport = 0\n")

    photo = sorted(CORPUS.glob("DSCN*.jpg"))[0]
    outside = root / "outside.jpg"
    shutil.copyfile(photo, outside)
    old = time.time() - 3600
    os.utime(outside, (old, old))
    rid = record_id(hashlib.sha256(outside.read_bytes()).hexdigest())

    sock_path = root / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(DEADLINE)
    env = dict(os.environ, NOTIFY_SOCKET=str(sock_path))
    with (root / "service.log").open("wb") as log_file:
        began = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(REPO / "daemon.py"), "--config", str(config)], env=env, stdout=subprocess.PIPE, stderr=log_file, cwd=root)
        try:
            while not sock.recv(4096).startswith(b"READY=1"):
                pass
            ready = time.perf_counter() - began
            at_ready = status_mb(proc.pid)
            maps_ready = mappings_kb(proc.pid)
            line = (proc.stdout.readline() if proc.stdout else b"").decode().strip()  # "map: http://127.0.0.1:PORT/", printed before READY
            if not line.startswith("map: "):
                raise RuntimeError(f"the service did not print its map address: {line!r}")
            url = line.removeprefix("map: ")

            dropped = time.perf_counter()
            os.rename(outside, root / "inbox" / photo.name)  # arrives whole, as a move from the same disk does
            deadline = dropped + DEADLINE
            while True:
                data = get_json(f"{url}api/images/{rid}")
                if isinstance(data, dict) and data.get("status") == Status.LOCATED.value and data.get("has_file"):
                    break
                if time.perf_counter() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the photo was not filed within {DEADLINE:.0f} s: {data!r}; see {root / 'service.log'}")
                time.sleep(0.05)
            filed_after = time.perf_counter() - dropped
            after_photo = status_mb(proc.pid)
            maps_photo = mappings_kb(proc.pid)

            full_map = get_json(f"{url}api/map")
            rows = len(full_map["rows"]) if isinstance(full_map, dict) else 0
            after_map = status_mb(proc.pid)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=DEADLINE)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sock.close()
    ok = after_photo["VmRSS"] <= RSS_TARGET_MB
    print(f"service (daemon.py, watcher + 2 workers + map page, Ollama off): READY after {ready:.2f} s")
    print(f"  {'at READY, right after migrating:' if previous_layout else 'at READY:':<45}{fmt(at_ready)}")
    if previous_layout:
        migrated_ok = at_ready["VmRSS"] <= RSS_TARGET_MB and at_ready["VmHWM"] <= MIGRATION_PEAK_MB
        print(f"    targets VmRSS <= {RSS_TARGET_MB:.0f} MB, VmHWM <= {MIGRATION_PEAK_MB:.0f} MB{'' if migrated_ok else '  TARGET NOT MET'}")
        ok = ok and migrated_ok
    print(f"  after filing one GPS photo ({filed_after:.2f} s after the drop; {data.get('place')!r}):")
    print(f"                                               {fmt(after_photo)}")
    print(f"    target VmRSS <= {RSS_TARGET_MB:.0f} MB: {after_photo['VmRSS'] / RSS_TARGET_MB:.2f} of it{'' if ok else '  TARGET NOT MET'}")
    if detail:
        print("    growth from READY, by mapping:")
        print_growth(maps_ready, maps_photo)
        print("    largest mappings after filing:")
        print_growth({}, maps_photo)
    print(f"  after the map page's first /api/map ({rows} rows): {fmt(after_map)}")
    print(f"  SIGTERM: exit {code}")
    return ok and code == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--detail", action="store_true", help="also where the memory is, by mapping (/proc/PID/smaps)")
    args = parser.parse_args()
    ok = True
    for previous_layout in (False, True):
        with tempfile.TemporaryDirectory(prefix="geolocator-rss-") as tmp:
            ok = run(Path(tmp), args.records, args.detail, previous_layout) and ok
        print()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
