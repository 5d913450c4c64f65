#!/usr/bin/env python3
"""Indexing an archive in place (`[library] move = false`) beside `scan` in move mode.

    .venv/bin/python bench/in_place.py [--files N] [--repeats R]

N small real JPEGs (10k by default; Pillow writes each with EXIF GPS, a capture time and a camera,
at points spread over the globe) sorted in an archive of year/month folders, 100 files a folder.
Measured, each as a whole process as a user runs it (the place index and Python's module cache
built beforehand, bench/pyenv.py), best of R:

1. `scan` in place, the first run (fresh database): every file hashed, read, located, recorded
   where it is;
2. `scan` in place again, nothing changed: every file looked at (one lstat), none read;
3. the service in place restarted with nothing changed (`daemon.py run`, a real NOTIFY_SOCKET):
   time to READY, time until its watcher has looked at every file (the log line it writes then),
   the files it handed over to be read (must be 0: its log says "0 to read"), its RSS;
4. `scan` in move mode on the same files copied into an inbox: hashed, read, located, recorded
   and moved into the library;
5. exiftool's read-only batch of the same files, for reference.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from PIL.TiffImagePlugin import IFDRational

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from ingest import Run, run_timed  # noqa: E402
from pyenv import installed_env  # noqa: E402

from geolocator.locate import places  # noqa: E402

PER_FOLDER = 100
DEADLINE = 600.0  # seconds for READY and for the watcher's first look
SCANNED = re.compile(rb"the archive .*, as scanned: (\d+) unchanged, (\d+) renamed, (\d+) back, (\d+) missing, (\d+) to read")


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    value = abs(value)
    return IFDRational(int(value)), IFDRational(int(value * 60) % 60), IFDRational(round(value * 3600 % 60 * 1000), 1000)


def gps_jpeg(i: int) -> bytes:
    """A small real JPEG with EXIF: GPS at a point of its own, a capture time, a camera."""
    image = Image.new("RGB", (160, 120), ((i * 37) % 256, (i * 91) % 256, (i * 13) % 256))
    image.putpixel((i % 160, (i // 160) % 120), (255, 255, 255))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 80D"
    exif.get_ifd(0x8769)[0x9003] = f"20{10 + i % 14:02d}:{i % 12 + 1:02d}:{i % 28 + 1:02d} 12:{i % 60:02d}:00"
    lat, lon = -60.0 + (i * 0.0137) % 120.0, -170.0 + (i * 0.0291) % 340.0
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = ("N" if lat >= 0 else "S"), _dms(lat)
    gps[3], gps[4] = ("E" if lon >= 0 else "W"), _dms(lon)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue() + i.to_bytes(4, "big")  # distinct even where two images look alike


def make_archive(root: Path, n: int) -> list[Path]:
    old = time.time() - 3600  # written an hour ago: nothing is still being written
    paths = []
    for i in range(n):
        folder = root / f"20{10 + (i // PER_FOLDER) % 14:02d}" / f"{(i // PER_FOLDER) // 14 + 1:03d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IMG_{i:06d}.jpg"
        path.write_bytes(gps_jpeg(i))
        os.utime(path, (old, old))
        paths.append(path)
    return paths


def write_config(folder: Path, *, in_place: bool, inbox: str, port: int = 0) -> Path:
    library = "[library]\nmove = false\n" if in_place else ""
    viewer = f"[viewer]\nenabled = true\nport = {port}\n" if port else "[viewer]\nenabled = false\n"
    config = folder / "config.toml"
    config.write_text(f'[paths]\ninbox = "{inbox}"\n{library}[ollama]\nenabled = false\n[watch]\nsettle_seconds = 0.5\n{viewer}')
    return config


def scan(config: Path, env: dict[str, str], log: Path) -> Run:
    with log.open("wb") as log_file:
        return run_timed([sys.executable, str(REPO / "daemon.py"), "scan", "--config", str(config)], log_file, env)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def restart(config: Path, env: dict[str, str], log: Path) -> tuple[float, float, list[int], float]:
    """The service started on an archive already indexed: seconds to READY (sd_notify), seconds
    until its watcher has looked at every file (its log line), what that line says, RSS then."""
    sock_path = config.parent / "notify.sock"
    sock_path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(DEADLINE)
    env = {**env, "NOTIFY_SOCKET": str(sock_path)}
    with log.open("wb") as log_file:
        began = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(REPO / "daemon.py"), "run", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=log_file, cwd=REPO, env=env)
        try:
            while b"READY=1" not in sock.recv(4096):
                pass
            ready = time.perf_counter() - began
            deadline = time.monotonic() + DEADLINE
            while (found := SCANNED.search(log.read_bytes())) is None:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the service never finished looking at the archive; its log:\n{log.read_text()[-3000:]}")
                time.sleep(0.02)
            looked = time.perf_counter() - began
            rss = rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            sock.close()
    return ready, looked, [int(g) for g in found.groups()], rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--in-place-only", action="store_true", help="leave out move mode and exiftool (for a large N)")
    args = parser.parse_args()
    n = args.files
    places.gazetteer()  # the place index exists (built at the first run ever)
    with tempfile.TemporaryDirectory(prefix="geo-in-place-") as tmp:
        root = Path(tmp)
        env = installed_env(root / "pycache")
        began = time.perf_counter()
        originals = make_archive(root / "originals", n)
        print(f"{n:,} JPEGs with EXIF GPS ({sum(p.stat().st_size for p in originals) / n / 1024:.1f} KB each) in {n // PER_FOLDER} folders, written in {time.perf_counter() - began:.1f} s")
        firsts, agains, moves, theirs = [], [], [], []
        for attempt in range(args.repeats):
            run = root / f"run{attempt}"
            run.mkdir()
            shutil.copytree(root / "originals", run / "archive", copy_function=shutil.copy2)
            config = write_config(run, in_place=True, inbox="archive")
            firsts.append(scan(config, env, run / "first.log"))
            if f"{n} located" not in firsts[-1].out.decode():
                raise RuntimeError(f"the first scan in place did not locate every file: {firsts[-1].out!r}")
            agains.append(scan(config, env, run / "again.log"))
            if f"in place: {n} unchanged, 0 renamed or moved, 0 missing" not in agains[-1].out.decode():
                raise RuntimeError(f"the second scan in place read something: {agains[-1].out!r}")
            if args.in_place_only:
                continue
            moved = root / f"move{attempt}"
            moved.mkdir()
            shutil.copytree(root / "originals", moved / "inbox", copy_function=shutil.copy2)
            config = write_config(moved, in_place=False, inbox="inbox")
            moves.append(scan(config, env, moved / "scan.log"))
            if f"{n} located" not in moves[-1].out.decode() or any(p.is_file() for p in (moved / "inbox").rglob("*")):
                raise RuntimeError(f"scan in move mode did not file every photo: {moves[-1].out!r}")
            exiftool = shutil.which("exiftool")
            if exiftool:
                argfile = moved / "files.args"
                argfile.write_text("".join(f"{p}\n" for p in (run / "archive").rglob("*.jpg")))
                theirs.append(run_timed([exiftool, "-n", "-j", "-q", "-GPSLatitude", "-GPSLongitude", "-@", str(argfile)]))
            shutil.rmtree(moved)
        show(n, args.repeats, firsts, agains, moves, theirs)
        # The service restarted on the last run's archive: nothing changed since its scans.
        config = write_config(run, in_place=True, inbox="archive", port=free_port())
        restarts = [restart(config, env, run / f"restart{i}.log") for i in range(args.repeats)]
    ready, looked, found, rss = min(restarts, key=lambda r: r[1])
    unchanged, renamed, back, missing, to_read = found
    print(f"  service in place, restarted, nothing changed: READY {ready:.2f} s, every file looked at {looked:.2f} s, RSS {rss:.0f} MB")
    print(f"    its watcher: {unchanged:,} unchanged, {renamed} renamed, {back} back, {missing} missing, {to_read} handed over to be read (hashed)  (target 0)")
    if to_read or unchanged != n:
        raise SystemExit("TARGET NOT MET: the restart read files again")


def show(n: int, repeats: int, firsts: list[Run], agains: list[Run], moves: list[Run], theirs: list[Run]) -> None:
    def best(runs: list[Run]) -> Run:
        return min(runs, key=lambda r: r.wall)

    first, again = best(firsts), best(agains)
    print(f"\nbest of {repeats}, whole processes, {n:,} files            wall      CPU    files/s")
    print(f"  scan in place, first run (hash, read, locate, record)  {first.wall:7.2f} s {first.cpu:7.2f} s {n / first.wall:8.0f}")
    print(f"  scan in place, nothing changed (one lstat a file)      {again.wall:7.2f} s {again.cpu:7.2f} s {n / again.wall:8.0f}")
    if moves:
        move = best(moves)
        print(f"  scan in move mode, same files (... and move)           {move.wall:7.2f} s {move.cpu:7.2f} s {n / move.wall:8.0f}")
    if theirs and moves:
        exif = best(theirs)
        print(f"  exiftool, read only (-n -j -GPSLatitude -GPSLongitude) {exif.wall:7.2f} s {exif.cpu:7.2f} s {n / exif.wall:8.0f}")
        print(f"  in place first run vs move mode: {move.wall / first.wall:.2f}x wall, {move.cpu / first.cpu:.2f}x CPU; vs exiftool's read-only batch: {exif.wall / first.wall:.2f}x faster")
    print(f"  the first scan in place said: {first.out.decode().strip()}")
    print(f"  the second: {again.out.decode().strip()}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()
