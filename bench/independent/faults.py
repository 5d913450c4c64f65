"""Issues 8 and 12: photos and faults this project's tests do not have, through `daemon.py scan`.

One inbox receives formats (CMYK, progressive, XMP-only GPS, PNG eXIf, WebP EXIF, 16-bit TIFF),
odd GPS (no refs, 0/0, below sea level), odd sizes (a 60 kB EXIF comment, a 10 MB ICC profile),
odd names (emoji, spaces, a leading dash, 255 bytes, two 255-byte names that clash), nested
folders, a zero-byte file, text named .jpg, a read-only file and a duplicate; then the invariant
of invariant.py is checked for each. Separate inboxes take the faults that need their own run:
symlink loops, a file even root cannot move (chattr +i), and a scan killed with SIGKILL mid-way.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from common import DAEMON, PYTHON, Result, Workspace, exiftool, exiftool_gps, jpeg, remove_tree, sha256, tag_gps, temp_root
from invariant import Input, describe
from invariant import check as invariant

DATE = "-DateTimeOriginal=2023:08:14 10:20:30"


def _raw_exif(lat: float, lon: float, scratch: Path) -> bytes:
    """EXIF bytes (with GPS) as exiftool writes them, to embed with Pillow where exiftool would not."""
    from PIL import Image

    src = jpeg(scratch / f"exif-{lat}-{lon}.jpg")
    tag_gps(src, lat, lon, DATE)
    with Image.open(src) as im:
        return bytes(im.info["exif"])


def make_formats(inbox: Path, scratch: Path) -> list[Input]:
    from PIL import Image

    out = []
    p = inbox / "cmyk.jpg"
    Image.new("CMYK", (80, 60), (10, 200, 30, 5)).save(p, "JPEG")
    tag_gps(p, 59.3293, 18.0686, DATE)
    out.append(describe("CMYK JPEG", p))

    p = jpeg(inbox / "progressive.jpg", (200, 30, 30), (320, 240), progressive=True)
    tag_gps(p, -33.4489, -70.6693, DATE)
    out.append(describe("progressive JPEG", p))

    p = jpeg(inbox / "xmp-only.jpg", (30, 200, 30))
    exiftool("-q", "-overwrite_original", "-XMP-exif:GPSLatitude=35.0116", "-XMP-exif:GPSLongitude=135.7681", DATE, p)
    out.append(describe("GPS in XMP only", p))

    p = inbox / "exif-chunk.png"
    Image.new("RGB", (64, 64), (1, 2, 250)).save(p, "PNG", exif=_raw_exif(-41.2865, 174.7762, scratch))
    out.append(describe("PNG with eXIf chunk", p))

    p = inbox / "exif.webp"
    Image.new("RGB", (64, 64), (250, 2, 250)).save(p, "WEBP", exif=_raw_exif(64.1466, -21.9426, scratch))
    out.append(describe("WebP with EXIF", p))

    p = inbox / "sixteen-bit.tif"
    Image.new("I;16", (64, 48), 40000).save(p, "TIFF")
    tag_gps(p, 46.2044, 6.1432, DATE)
    out.append(describe("16-bit TIFF", p))
    return out


def make_gps_oddities(inbox: Path) -> list[Input]:
    out = []
    p = jpeg(inbox / "no-refs.jpg", (11, 12, 13))
    exiftool("-q", "-overwrite_original", "-GPSLatitude=48.2082", "-GPSLongitude=16.3738", DATE, p)
    out.append(describe("GPS without hemisphere refs", p))

    p = jpeg(inbox / "zero-zero.jpg", (14, 15, 16))
    tag_gps(p, 0.0, 0.0, DATE)
    out.append(describe("GPS 0/0", p))

    p = jpeg(inbox / "dead-sea.jpg", (17, 18, 19))
    # exiftool takes the ref by its printed value; "-GPSAltitudeRef=1" is silently ignored (ref stays 0).
    tag_gps(p, 31.5590, 35.4732, DATE, "-GPSAltitude=430", "-GPSAltitudeRef=Below Sea Level")
    dead_sea = describe("altitude 430 m below sea level", p, altitude=True)
    if dead_sea.altitude != -430.0:
        raise RuntimeError(f"the test photo is wrong: exiftool reads altitude {dead_sea.altitude}, not -430")
    out.append(dead_sea)

    p = jpeg(inbox / "south-west.jpg", (20, 21, 22))
    tag_gps(p, -54.8019, -68.3030, DATE)
    out.append(describe("GPS south and west (Ushuaia)", p))
    return out


def make_sizes(inbox: Path, scratch: Path) -> list[Input]:
    from PIL import Image

    out = []
    p = jpeg(inbox / "huge-comment.jpg", (23, 24, 25))
    tag_gps(p, 52.3676, 4.9041, DATE, "-UserComment=" + "geolocator " * 5400, "-Comment=" + "x" * 60000)
    out.append(describe("60 kB EXIF UserComment and JPEG comment", p))

    p = inbox / "icc-10mb.jpg"
    fake_icc = os.urandom(10 * 1024 * 1024)
    Image.new("RGB", (64, 64), (26, 27, 28)).save(p, "JPEG", exif=_raw_exif(50.0755, 14.4378, scratch), icc_profile=fake_icc)
    out.append(describe("fake 10 MB ICC profile", p))
    return out


def tagged(dest: Path, colour: tuple[int, int, int], scratch: Path) -> Path:
    # exiftool cannot write in place under a 255-byte name (its temporary name would be longer): tag, then rename.
    tmp = jpeg(scratch / "naming.jpg", colour)
    tag_gps(tmp, 38.7223, -9.1393, DATE)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(dest)
    return dest


def make_names(inbox: Path, scratch: Path) -> list[Input]:
    out = []
    for label, name, colour in (
        ("emoji in the name", "holiday 📷🌍 café.jpg", (30, 31, 32)),
        ("spaces in the name", "  two  spaces  .jpg", (33, 34, 35)),
        ("leading dash", "-rf --help.jpg", (36, 37, 38)),
        ("255-byte name", "n" * 251 + ".jpg", (39, 40, 41)),
        ("255-byte name of 2-byte characters", "é" * 125 + ".jpeg", (42, 43, 44)),
    ):
        out.append(describe(label, tagged(inbox / name, colour, scratch)))
    # Two different photos with the same 255-byte name: the second needs a suffix in the library.
    for n, folder in enumerate(("clash-a", "clash-b")):
        p = tagged(inbox / folder / ("c" * 251 + ".jpg"), (45 + n, 46, 47), scratch)
        out.append(describe(f"255-byte name clashing ({folder})", p))
    return out


def make_misc(inbox: Path) -> list[Input]:
    out = []
    p = jpeg(inbox / "a" / "b" / "c" / "d" / "e" / "deep.jpg", (50, 51, 52))
    tag_gps(p, 41.3851, 2.1734, DATE)
    out.append(describe("five folders deep", p))

    p = inbox / "empty.jpg"
    p.write_bytes(b"")
    out.append(describe("zero-byte file", p))

    p = inbox / "notes.jpg"
    p.write_text("this is a shopping list, not a photo\n", encoding="utf-8")
    out.append(describe("text file named .jpg", p))

    p = jpeg(inbox / "read-only.jpg", (53, 54, 55))
    tag_gps(p, 45.4408, 12.3155, DATE)
    p.chmod(0o444)
    out.append(describe("read-only file (mode 0444)", p))

    p = jpeg(inbox / "original.jpg", (56, 57, 58))
    tag_gps(p, 40.4168, -3.7038, DATE)
    out.append(describe("photo", p))
    twin = inbox / "copy of original.jpg"
    shutil.copyfile(p, twin)
    out.append(describe("exact duplicate", twin))
    return out


def check_many() -> list[Result]:
    root = temp_root("faults")
    scratch = temp_root("scratch")
    try:
        ws = Workspace(root)
        inputs = [*make_formats(ws.inbox, scratch), *make_gps_oddities(ws.inbox), *make_sizes(ws.inbox, scratch),
                  *make_names(ws.inbox, scratch), *make_misc(ws.inbox)]
        started = time.monotonic()
        scan = ws.scan(timeout=240)
        took = time.monotonic() - started
        out = invariant("photos", ws, inputs)
        out.append(Result("photos", f"scan of {len(inputs)} odd files finishes", True,
                          f"{took:.1f} s, exit {scan.returncode}: {scan.stdout.strip()} {scan.stderr.strip()[-300:]}"))
        return out
    finally:
        remove_tree(root)
        remove_tree(scratch)


def check_symlinks() -> list[Result]:
    root = temp_root("symlinks")
    try:
        ws = Workspace(root)
        p = jpeg(ws.inbox / "real.jpg", (60, 61, 62))
        tag_gps(p, 48.8566, 2.3522, DATE)
        q = jpeg(ws.inbox / "sub" / "inside.jpg", (63, 64, 65))
        tag_gps(q, 48.8566, 2.3522, DATE)
        inputs = [describe("photo beside a symlink loop", p), describe("photo in a folder that links to its parent", q)]
        (ws.inbox / "loop.jpg").symlink_to("loop.jpg")
        (ws.inbox / "ping.jpg").symlink_to("pong.jpg")
        (ws.inbox / "pong.jpg").symlink_to("ping.jpg")
        (ws.inbox / "sub" / "up").symlink_to("..")
        try:
            scan = ws.scan(timeout=60)
            finished = f"exit {scan.returncode}: {scan.stdout.strip()} {scan.stderr.strip()[-300:]}"
        except subprocess.TimeoutExpired:
            return [Result("symlinks", "scan with symlink loops finishes", False, "still running after 60 s")]
        out = [r for r in invariant("symlinks", ws, inputs) if r.name != "inbox empty after the scan"]
        links = sorted(str(p.relative_to(ws.root)) for p in ws.root.rglob("*") if p.is_symlink())
        # A symlink is not a file that entered the inbox: it may stay, but must not be followed into a loop or filed as a photo.
        out.append(Result("symlinks", "scan with symlink loops finishes", True, f"{finished}; symlinks now at {links}"))
        return out
    finally:
        remove_tree(root)


def check_immutable() -> list[Result]:
    """A file even root cannot move (chattr +i): a clear reason, the other photos unharmed, nothing lost."""
    root = temp_root("immutable")
    try:
        ws = Workspace(root)
        stuck = jpeg(ws.inbox / "immutable.jpg", (70, 71, 72))
        tag_gps(stuck, 37.9838, 23.7275, DATE)
        fine = jpeg(ws.inbox / "fine.jpg", (73, 74, 75))
        tag_gps(fine, 37.9838, 23.7275, DATE)
        inputs = [describe("photo beside an immovable one", fine)]
        stuck_input = describe("immovable file (chattr +i)", stuck)
        if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True).returncode != 0:
            return [Result("immutable", "chattr +i available", False, "cannot set the immutable flag here")]
        scan = ws.scan(timeout=60)
        out = [r for r in invariant("immutable", ws, inputs) if r.name != "inbox empty after the scan"]
        recs = [r for r in ws.records() if r.get("sha256") == stuck_input.sha]
        still = stuck.exists()
        said = (scan.stdout + scan.stderr).replace("\n", " ")
        ok = still and scan.returncode != 0 and "immutable.jpg" in said and len(recs) <= 1
        out.append(Result("immutable", "immovable file: stays in the inbox, named in the output, exit 1", ok,
                          f"exit {scan.returncode}; still in inbox={still}; records={[(r['status'], r.get('error')) for r in recs]}; output: {said[-300:]}"))
        subprocess.run(["chattr", "-i", str(stuck)], capture_output=True)
        again = ws.scan(timeout=60)
        rec = [r for r in ws.records() if r.get("sha256") == stuck_input.sha]
        out.append(Result("immutable", "after chattr -i, the next scan files it once", len(rec) == 1 and not stuck.exists(),
                          f"exit {again.returncode}: {again.stdout.strip()}; records={[(r['status'], r['path']) for r in rec]}"))
        return out
    finally:
        remove_tree(root)


def check_kill9(count: int = 300) -> list[Result]:
    """SIGKILL a scan once some photos are filed, scan again: every photo once, with its record."""
    root = temp_root("kill9")
    try:
        ws = Workspace(root)
        template = jpeg(root / "template.jpg", (80, 81, 82), (640, 480))
        tag_gps(template, 51.2194, 4.4025, DATE)
        data, gps = template.read_bytes(), exiftool_gps(template)
        inputs = []
        for n in range(count):
            p = ws.inbox / f"burst{n:04d}.jpg"
            # The same photo with 4 different bytes after its end marker: distinct files, the same GPS.
            p.write_bytes(data + n.to_bytes(4, "big"))
            inputs.append(Input(f"burst photo {n}", p.name, sha256(p), gps))
        proc = subprocess.Popen([PYTHON, str(DAEMON), "scan", "--config", str(ws.config)], cwd=root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        library = root / "library"
        while time.monotonic() < deadline and proc.poll() is None:
            filed = sum(1 for _ in library.rglob("*.jpg")) if library.exists() else 0
            if filed >= count // 3:
                break
            time.sleep(0.01)
        killed_at = sum(1 for _ in library.rglob("*.jpg")) if library.exists() else 0
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        again = ws.scan(timeout=180)
        out = invariant("kill -9", ws, inputs)
        bad = [r for r in out if not r.ok]
        summary = Result("kill -9", f"scan killed with SIGKILL after {killed_at}/{count} filed, then rerun",
                         not bad, f"rerun exit {again.returncode}: {again.stdout.strip()}; {len(bad)} problem(s)")
        return [summary, *bad[:10]]
    finally:
        remove_tree(root)


def check() -> list[Result]:
    return [*check_many(), *check_symlinks(), *check_immutable(), *check_kill9()]
