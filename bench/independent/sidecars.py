"""Issue 16 items 1, 2 and 6: other programs' sidecars survive our location changes.

Sidecars made by other software, with tags the project's tests do not use, travel into the
watching service's inbox with their photos (camera JPEGs without GPS):

- exiftool: `-XMP-dc:Title`, `-XMP-lr:HierarchicalSubject`, `-XMP-iptcExt:LocationShown`
  (a bag of structures), `-XMP-xmp:Label` (NAME.EXT.xmp);
- exiv2: `exiv2 -eX` of a photo exiv2 edited, then `exiv2 -M"set Xmp.xmp.Rating 2"` on the sidecar
  (NAME.xmp, as exiv2 names it);
- written here: the attribute-less element form (`<rdf:Description>` with no attribute, every
  property an element), a byte-order mark with an XML declaration and CRLF line ends, Adobe's
  `xpacket` padding (2 kB of spaces before `<?xpacket end="w"?>`);
- exiftool with its own GPS (`-XMP-exif:GPSLatitude=...`): theirs, never to be overwritten;
- exiftool, for a photo no track covers (a manual fix, then a revert to no location).

Then each location change goes through the service as a user makes it: a GPX placing the photos
(dropped into the inbox), a manual fix (`POST /api/locations`), a revert
(`POST /api/images/<id>/revert`). After each, `exiftool -j -struct -G1` of the sidecar must read
every property it read before, the GPS and our namespace (XMP-geolocator) aside, the GPS exiftool
reads must be the record's point (or the other program's, or none after a revert to none), the
photo's bytes must be unchanged and it must keep one sidecar, under the name it came with.
Last, sidecars dropped after their photo was filed: one for a photo whose sidecar we wrote must end
as NAME.EXT.xmp beside it, theirs and ours merged; none as NAME.EXT-2.xmp, none in failed/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import Result, Workspace, exiftool, jpeg, metres, remove_tree, sha256, temp_root, until
from http_check import Service
from tracks import expected

AREA = "sidecars"
TOML = '[ollama]\nenabled = false\n[viewer]\nport = 0\ntile_url = ""\n[watch]\nsettle_seconds = 0.3\n'
START = datetime(2023, 6, 10, 9, 0, tzinfo=UTC)  # the GPX: 09:00-10:00 UTC in Porto, a point every 30 s
FROM, TO = (41.1400, -8.6200), (41.1600, -8.5900)
MANUAL = (41.14957, -8.61099)  # Ribeira, Porto: where the user puts them by hand
THEIR_GPS = (41.15780, -8.62910)  # the other program's own point (Boavista)
WAIT = 60.0
IGNORED_GROUPS = ("SourceFile", "ExifTool:", "System:", "File:", "XMP-geolocator:")

XMP_ELEMENTS = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
   xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
   xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">
  <rdf:Description>
   <xmp:Rating>4</xmp:Rating>
   <xmp:CreatorTool>Hand-written element form</xmp:CreatorTool>
   <photoshop:Credit>Ana Ribeiro</photoshop:Credit>
   <dc:creator><rdf:Seq><rdf:li>Ana Ribeiro</rdf:li></rdf:Seq></dc:creator>
   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">CC BY 4.0</rdf:li></rdf:Alt></dc:rights>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

XMP_BOM = ('\ufeff<?xml version="1.0" encoding="UTF-8"?>\r\n'
           '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Windows tool 1.0">\r\n'
           ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\r\n'
           '  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"\r\n'
           '    xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:Rating="5" xmp:Label="Green">\r\n'
           '   <dc:subject><rdf:Bag><rdf:li>ribeira</rdf:li><rdf:li>bridge</rdf:li></rdf:Bag></dc:subject>\r\n'
           '  </rdf:Description>\r\n'
           ' </rdf:RDF>\r\n'
           '</x:xmpmeta>\r\n')

XMP_PADDED = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
              '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00">\n'
              ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
              '  <rdf:Description rdf:about=""\n'
              '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
              '    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"\n'
              '   xmp:Rating="3"\n'
              '   crs:Exposure2012="+0.35"\n'
              '   crs:Temperature="5600"/>\n'
              ' </rdf:RDF>\n'
              '</x:xmpmeta>\n'
              + ("                                                                                                    \n" * 20)
              + '<?xpacket end="w"?>')


# A UTF-16 packet (big-endian, its BOM inside `begin`, as the XMP specification allows): exiftool reads it,
# exiv2 does not. geolocator may merge into it or leave it alone with a warning; it must not damage it.
UTF16 = "utf16.jpg"
XMP_UTF16 = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/">'
             '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
             'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:Rating="3">'
             '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Dezasseis bits</rdf:li></rdf:Alt></dc:title>'
             '</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>')


def camera_photo(path: Path, utc: datetime, n: int, model: str) -> Path:
    """A camera JPEG without GPS, local time in Porto (+01:00 in June) with its offset."""
    jpeg(path, colour=(40 + n * 20, 90, 140))
    local = utc + timedelta(hours=1)
    exiftool("-q", "-overwrite_original", f"-DateTimeOriginal={local:%Y:%m:%d %H:%M:%S}", "-OffsetTimeOriginal=+01:00",
             f"-Model={model}", path)
    return path


def track_points() -> list[tuple[datetime, float, float]]:
    steps = 120
    return [(START + timedelta(seconds=30 * i), FROM[0] + (TO[0] - FROM[0]) * i / steps, FROM[1] + (TO[1] - FROM[1]) * i / steps)
            for i in range(steps + 1)]


def write_gpx(path: Path) -> None:
    points = "\n".join(f'   <trkpt lat="{lat:.6f}" lon="{lon:.6f}"><ele>20</ele><time>{t:%Y-%m-%dT%H:%M:%SZ}</time></trkpt>'
                       for t, lat, lon in track_points())
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                    '<gpx version="1.1" creator="independent check" xmlns="http://www.topografix.com/GPX/1/1">\n'
                    f' <trk><name>Porto walk</name><trkseg>\n{points}\n </trkseg></trk>\n</gpx>\n', encoding="utf-8")


def by_exiftool(path: Path, *tags: str) -> None:
    exiftool("-q", *tags, path)  # a new .xmp file: exiftool makes it


def by_exiv2(path: Path, scratch: Path) -> None:
    """exiv2's own sidecar: `exiv2 -eX` of a photo it tagged, then an edit of the sidecar itself."""
    donor = jpeg(scratch / (path.stem + ".jpg"), (1, 2, 3))
    subprocess.run(["exiv2", "-M", "set Xmp.dc.subject azulejo", "-M", "set Xmp.photoshop.Headline Tiles of Porto", str(donor)], check=True)
    subprocess.run(["exiv2", "-f", "-eX", str(donor)], check=True, cwd=scratch)
    made = donor.with_suffix(".xmp")
    subprocess.run(["exiv2", "-M", "set Xmp.xmp.Rating 2", str(made)], check=True)
    shutil.move(made, path)


@dataclass(frozen=True)
class Case:
    photo: str  # the photo's name; its sidecar is `sidecar`
    sidecar: str
    make: Callable[[Path, Path], None]  # (sidecar path, scratch folder)
    utc: datetime
    theirs: tuple[float, float] | None = None  # the GPS the other program wrote
    on_track: bool = True
    model: str = "SidecarCam"  # the photo with its own GPS is from another camera: no "nearby" placement from it


EXIFTOOL_TAGS = ("-XMP-dc:Title=Harbour at dusk", "-XMP-lr:HierarchicalSubject=Places|Europe|Portugal|Porto",
                 "-XMP-lr:HierarchicalSubject+=Events|Holiday 2023",
                 "-XMP-iptcExt:LocationShown=[{City=Porto,CountryName=Portugal,Sublocation=Ribeira},{City=Vila Nova de Gaia,CountryName=Portugal}]",
                 "-XMP-xmp:Label=Red")

CASES = (
    Case("exiftool-tags.jpg", "exiftool-tags.jpg.xmp", lambda p, _: by_exiftool(p, *EXIFTOOL_TAGS), START + timedelta(minutes=7, seconds=10)),
    Case("exiv2.jpg", "exiv2.xmp", by_exiv2, START + timedelta(minutes=14, seconds=40)),
    Case("elements.jpg", "elements.jpg.xmp", lambda p, _: p.write_text(XMP_ELEMENTS, encoding="utf-8"), START + timedelta(minutes=21, seconds=5)),
    Case("bom-crlf.jpg", "bom-crlf.jpg.xmp", lambda p, _: p.write_bytes(XMP_BOM.encode("utf-8")), START + timedelta(minutes=29, seconds=55)),
    Case("Ribeira à noite.JPG", "Ribeira à noite.JPG.xmp", lambda p, _: p.write_text(XMP_PADDED, encoding="utf-8"), START + timedelta(minutes=36, seconds=20)),
    Case(UTF16, UTF16 + ".xmp", lambda p, _: p.write_bytes(XMP_UTF16.encode("utf-16-be")), START + timedelta(minutes=18, seconds=2)),
    Case("their-gps.jpg", "their-gps.jpg.xmp", lambda p, _: by_exiftool(
        p, f"-XMP-exif:GPSLatitude={THEIR_GPS[0]}", f"-XMP-exif:GPSLongitude={THEIR_GPS[1]}", "-XMP-xmp:Rating=1",
        "-XMP-dc:Description=GPS from my phone"), START + timedelta(minutes=44), theirs=THEIR_GPS, model="PhoneCam"),
    Case("off-track.jpg", "off-track.jpg.xmp", lambda p, _: by_exiftool(p, "-XMP-xmp:Rating=4", "-XMP-dc:Description=Taken before the walk"),
         START - timedelta(hours=3), on_track=False),
)
LATE = Case("late.jpg", "late.jpg.xmp", lambda p, _: by_exiftool(p, "-XMP-dc:Title=Added in darktable later", "-XMP-xmp:Label=Blue",
                                                                   "-XMP-xmp:Rating=5"), START + timedelta(minutes=50, seconds=30))
# No sidecar at first: the track's placement writes ours; then exiftool or exiv2 edits it (issue 16 item 1a).
OURS_EDITED = (
    Case("ours-exiftool.jpg", "ours-exiftool.jpg.xmp", lambda p, _: None, START + timedelta(minutes=3, seconds=33)),
    Case("ours-exiv2.jpg", "ours-exiv2.jpg.xmp", lambda p, _: None, START + timedelta(minutes=25, seconds=12)),
)
EDITS = {
    "ours-exiftool.jpg": ["exiftool", "-q", "-overwrite_original", "-XMP-dc:Title=Cais da Ribeira",
                          "-XMP-lr:HierarchicalSubject=Trips|Porto 2023|Day 1", "-XMP-xmp:Label=Purple",
                          "-XMP-iptcExt:LocationShown=[{City=Porto,CountryCode=PT,WorldRegion=Europe}]"],
    "ours-exiv2.jpg": ["exiv2", "-M", "set Xmp.xmp.Rating 2", "-M", "set Xmp.dc.title lang=x-default Edited with exiv2",
                       "-M", "set Xmp.photoshop.City Porto"],
}
# Lightroom's naming (NAME.xmp), after its photo was filed with no location and no sidecar.
LATE_UNPLACED = Case("late-lr.jpg", "late-lr.xmp", lambda p, _: by_exiftool(p, "-XMP-xmp:Rating=2", "-XMP-dc:Title=Catalogued in Lightroom"),
                     START + timedelta(hours=5), on_track=False)


def foreign(props: dict[str, Any]) -> dict[str, Any]:
    """exiftool's reading without what is ours to change: the file itself, the GPS, our namespace."""
    return {k: v for k, v in props.items() if not k.startswith(IGNORED_GROUPS) and "GPS" not in k}


def read_struct(path: Path) -> dict[str, Any]:
    out = exiftool("-j", "-struct", "-G1", path, check=False)
    return json.loads(out)[0] if out.strip() else {}


def gps_of(props: dict[str, Any]) -> tuple[float, float] | None:
    lat, lon = props.get("XMP-exif:GPSLatitude"), props.get("XMP-exif:GPSLongitude")
    return (float(lat), float(lon)) if isinstance(lat, (int, float)) and isinstance(lon, (int, float)) else None


def read_numeric(paths: list[Path]) -> dict[Path, dict[str, Any]]:
    """exiftool -n reading of many files at once (GPS as signed numbers), by path."""
    there = [p for p in paths if p.is_file()]
    if not there:
        return {}
    out = exiftool("-j", "-n", "-struct", "-G1", *there, check=False)
    return {Path(row["SourceFile"]): row for row in json.loads(out or "[]")}


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [f"{k}: {before.get(k)!r} -> {after.get(k, '(gone)')!r}" for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]


class Run:
    """The service, its records by name, and the checks made after each step."""

    def __init__(self, ws: Workspace, service: Service, originals: dict[str, tuple[dict[str, Any], str, str]]) -> None:
        self.ws, self.service, self.originals = ws, service, originals  # name -> (foreign props, sidecar sha, photo sha)
        self.out: list[Result] = []

    def records(self) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in self.service.get_json("/api/images")}

    def sidecars_of(self, record: dict[str, Any]) -> list[Path]:
        photo = self.ws.root / "library" / str(record["path"])
        stem = photo.name.rsplit(".", 1)[0]
        return sorted(p for p in photo.parent.iterdir() if p.suffix.lower() == ".xmp" and (p.name.startswith(photo.name) or p.name.startswith(stem + ".")))

    def settle(self, wanted: dict[str, tuple[float, float] | None], step: str) -> dict[str, dict[str, Any]]:
        """Wait until exiftool reads the wanted GPS (None: none) in each named photo's sidecar."""
        behind: dict[str, str] = {}

        def ready() -> dict[str, dict[str, Any]] | None:
            records = self.records()
            paths = {}
            behind.clear()
            for name in wanted:
                if name == UTF16:  # judged once, at the end
                    continue
                rec = records.get(name)
                if not rec or not rec.get("path"):
                    behind[name] = "no record or path"
                    return None
                paths[name] = self.ws.root / "library" / str(rec["path"])
            read = read_numeric([Path(str(p) + ".xmp") for p in paths.values()] + [p.with_suffix(".xmp") for p in paths.values()])
            for name, point in wanted.items():
                if name == UTF16:
                    continue
                got = [gps_of(props) for path, props in read.items() if path.name.startswith(paths[name].stem + ".")]
                seen = next((g for g in got if g), None)
                if (point is None and seen is not None) or (point is not None and (seen is None or metres(seen, point) > 1.0)):
                    rec = records[name]
                    behind[name] = f"sidecar GPS {seen}, wanted {point}, record {rec.get('source')} ({rec.get('lat')}, {rec.get('lon')})"
            return None if behind else records
        got = until(ready, WAIT, 0.5)
        if got is None:
            log = (self.ws.root / "service.log").read_text(errors="replace").splitlines()
            worries = [line for line in log if " WARNING " in line or " ERROR " in line][-5:]
            self.out.append(Result(AREA, f"{step}: sidecars reach the wanted GPS within {WAIT:.0f} s", False,
                                   f"still behind: {behind}; the service's last warnings: {worries}"))
            return self.records()
        return got

    def judge(self, step: str, records: dict[str, dict[str, Any]], wanted: dict[str, tuple[float, float] | None],
              names: dict[str, str]) -> None:
        """After a step: each photo's one sidecar, its foreign properties, its GPS, the photo's bytes."""
        for photo, point in wanted.items():
            if photo == UTF16:
                continue
            rec = records.get(photo, {})
            props_before, _, photo_sha = self.originals[photo]
            problems = []
            if not rec.get("path"):
                self.out.append(Result(AREA, f"{step}: {photo}", False, f"no record or path: {rec}"))
                continue
            found = self.sidecars_of(rec)
            expected_name = Path(rec["path"]).name + ".xmp" if names[photo] == photo + ".xmp" else Path(rec["path"]).stem + ".xmp"
            if [p.name for p in found] != [expected_name]:
                problems.append(f"sidecars beside the photo: {[p.name for p in found]} (wanted only {expected_name})")
            sidecar = next((p for p in found if p.name == expected_name), None)
            after = read_struct(sidecar) if sidecar else {}
            changed = diff(props_before, foreign(after))
            if changed:
                problems.append("foreign properties changed: " + "; ".join(changed))
            numeric = read_numeric([sidecar]).get(sidecar, {}) if sidecar else {}
            seen = gps_of(numeric)
            if point is None and seen is not None:
                problems.append(f"exiftool reads GPS {seen}, wanted none")
            if point is not None and (seen is None or metres(seen, point) > 1.0):
                problems.append(f"exiftool reads GPS {seen}, wanted {point}")
            photo_path = self.ws.root / "library" / str(rec["path"])
            if not photo_path.is_file() or sha256(photo_path) != photo_sha:
                problems.append("the photo's bytes changed or it is gone")
            where = f"source={rec.get('source')} ({rec.get('lat')}, {rec.get('lon')})"
            self.out.append(Result(AREA, f"{step}: {photo} ({names[photo]}) keeps every foreign property, GPS as wanted",
                                   not problems, "; ".join(problems) or f"{where}; exiftool reads {seen}"))


def check() -> list[Result]:
    root = temp_root("sidecars")
    scratch = temp_root("sidecars-scratch")
    service = None
    try:
        ws = Workspace(root, TOML)
        staged: dict[str, tuple[Path, Path]] = {}
        originals: dict[str, tuple[dict[str, Any], str, str]] = {}
        photos_only = {}
        for n, case in enumerate(OURS_EDITED, start=20):
            photos_only[case.photo] = camera_photo(scratch / case.photo, case.utc, n, case.model)
        for n, case in enumerate((*CASES, LATE, LATE_UNPLACED)):
            photo = camera_photo(scratch / case.photo, case.utc, n, case.model)
            sidecar = scratch / case.sidecar
            (scratch / "work").mkdir(exist_ok=True)
            case.make(sidecar, scratch / "work")
            props = read_struct(sidecar)
            theirs = gps_of(read_numeric([sidecar])[sidecar])
            if case.theirs and (theirs is None or metres(theirs, case.theirs) > 1):
                raise RuntimeError(f"test sidecar {sidecar.name}: exiftool reads GPS {theirs}, not {case.theirs}")
            if not case.theirs and theirs is not None:
                raise RuntimeError(f"test sidecar {sidecar.name} has GPS {theirs}")
            if len(foreign(props)) < 2:
                raise RuntimeError(f"test sidecar {sidecar.name}: exiftool reads too little to compare: {props}")
            originals[case.photo] = (foreign(props), sha256(sidecar), sha256(photo))
            staged[case.photo] = (photo, sidecar)
        names = {c.photo: c.sidecar for c in (*CASES, LATE, LATE_UNPLACED, *OURS_EDITED)}
        service = Service(ws, log=root / "service.log")
        run = Run(ws, service, originals)
        for case in CASES:  # each sidecar first, its photo after (the order a copy tool may take)
            photo, sidecar = staged[case.photo]
            shutil.copyfile(sidecar, ws.inbox / sidecar.name)
            shutil.copyfile(photo, ws.inbox / photo.name)
        for late in (LATE, LATE_UNPLACED):  # their sidecars come later
            shutil.copyfile(staged[late.photo][0], ws.inbox / late.photo)
        for photo in photos_only.values():
            shutil.copyfile(photo, ws.inbox / photo.name)

        def all_filed() -> dict[str, dict[str, Any]] | None:  # a record names its path before the move: the inbox must be empty too
            r = run.records()
            done = all(c.photo in r and r[c.photo].get("path") for c in (*CASES, LATE, LATE_UNPLACED, *OURS_EDITED))
            return r if done and not ws.inbox_left() else None

        filed = until(all_filed, WAIT)
        records = filed or run.records()
        run.out.append(Result(AREA, "the photos with their sidecars are filed", filed is not None and not ws.inbox_left(),
                              f"records: {sorted(records)}; inbox: {ws.inbox_left()}"))
        for case in CASES:  # nothing located yet (but the photo with GPS in its sidecar): the sidecar untouched, bytes and all
            rec = records.get(case.photo, {})
            found = run.sidecars_of(rec) if rec.get("path") else []
            same = len(found) == 1 and sha256(found[0]) == originals[case.photo][1]
            run.out.append(Result(AREA, f"filed: {case.sidecar} travels with its photo, byte for byte", same,
                                  f"{[p.name for p in found]}; record source={rec.get('source')} status={rec.get('status')}"))
        their = records.get("their-gps.jpg", {})
        ok = their.get("lat") is not None and metres((their["lat"], their["lon"]), THEIR_GPS) < 1
        run.out.append(Result(AREA, "a photo whose sidecar holds GPS is located there", ok,
                              f"source={their.get('source')} ({their.get('lat')}, {their.get('lon')})"))

        points = track_points()
        track_at = {c.photo: expected(points, c.utc) for c in (*CASES, LATE, *OURS_EDITED) if c.on_track and not c.theirs}
        write_gpx(scratch / "porto-walk.gpx")
        shutil.copyfile(scratch / "porto-walk.gpx", ws.inbox / "porto-walk.gpx")
        tracked: dict[str, tuple[float, float] | None] = {**track_at, "their-gps.jpg": THEIR_GPS, "off-track.jpg": None}  # late-lr.jpg: unlocated
        records = run.settle(tracked, "GPX")
        for name, want in track_at.items():
            rec = records.get(name, {})
            got = (rec["lat"], rec["lon"]) if rec.get("lat") is not None else None
            ok = rec.get("source") == "track" and got is not None and want is not None and metres(got, want) < 5
            run.out.append(Result(AREA, f"GPX: {name} placed by the track where exiftool's rules put it", ok,
                                  f"source={rec.get('source')} at {got}, expected {want}"))
        run.judge("GPX", records, {k: v for k, v in tracked.items() if k not in (LATE.photo, *(c.photo for c in OURS_EDITED))}, names)

        # Our own sidecars, as the track wrote them, edited by exiftool and exiv2.
        for case in OURS_EDITED:
            rec = records.get(case.photo, {})
            sidecar = ws.root / "library" / str(rec.get("path")) if rec.get("path") else None
            sidecar = sidecar.with_name(sidecar.name + ".xmp") if sidecar else None
            if sidecar is None or not sidecar.is_file():
                run.out.append(Result(AREA, f"GPX: {case.photo} gets our sidecar", False, f"record {rec}"))
                continue
            subprocess.run([*EDITS[case.photo], str(sidecar)], check=True, capture_output=True)
            props = read_struct(sidecar)
            originals[case.photo] = (foreign(props), sha256(sidecar), sha256(photos_only[case.photo]))
            seen = gps_of(read_numeric([sidecar])[sidecar])
            run.out.append(Result(AREA, f"GPX: our sidecar of {case.photo}, edited with {EDITS[case.photo][0]}, still holds our GPS",
                                  seen is not None and metres(seen, track_at[case.photo]) < 1,  # type: ignore[arg-type]
                                  f"exiftool reads {seen}; foreign properties now {sorted(foreign(props))}"))

        # The late sidecar: another program's, for a photo already filed with ours.
        for late in (LATE, LATE_UNPLACED):
            shutil.copyfile(staged[late.photo][1], ws.inbox / late.sidecar)
        until(lambda: not ws.inbox_left(), WAIT)
        late_wanted = {LATE.photo: track_at[LATE.photo]}
        records = run.settle(late_wanted, "late sidecar")
        run.judge("late sidecar (NAME.EXT.xmp, ours there already)", records, late_wanted, names)
        rec = records.get(LATE_UNPLACED.photo, {})
        beside = run.sidecars_of(rec) if rec.get("path") else []
        same = len(beside) == 1 and sha256(beside[0]) == originals[LATE_UNPLACED.photo][1]
        run.out.append(Result(AREA, "late sidecar (NAME.xmp, photo filed unlocated): joins its photo, byte for byte", same,
                              f"beside {rec.get('path')}: {[p.name for p in beside]}"))
        strays = [str(p.relative_to(root)) for p in (root / "failed").rglob("*")] + [str(p.relative_to(root)) for p in (root / "library").rglob("*-2.xmp")]
        run.out.append(Result(AREA, "late sidecar: nothing in failed/, no NAME-2.xmp, inbox empty",
                              not strays and not ws.inbox_left(), f"failed/ and -2: {strays}; inbox: {ws.inbox_left()}"))

        # A manual fix of them all at once, then a revert of each.
        ids = {name: records[name]["id"] for name in (*track_at, "their-gps.jpg", "off-track.jpg")}
        status, answer = service.post_json("/api/locations", {"ids": list(ids.values()), "lat": MANUAL[0], "lon": MANUAL[1]})
        run.out.append(Result(AREA, f"manual fix of {len(ids)} photos over HTTP", status == 200, f"HTTP {status}: {str(answer)[:200]}"))
        manual: dict[str, tuple[float, float] | None] = {**{n: MANUAL for n in ids}, "their-gps.jpg": THEIR_GPS}
        records = run.settle(manual, "manual fix")
        run.judge("manual fix", records, manual, names)
        for name, rid in ids.items():
            status, answer = service.post_json(f"/api/images/{rid}/revert")
            if status != 200:
                run.out.append(Result(AREA, f"revert of {name} over HTTP", False, f"HTTP {status}: {str(answer)[:200]}"))
        reverted: dict[str, tuple[float, float] | None] = {**track_at, "their-gps.jpg": THEIR_GPS, "off-track.jpg": None}
        records = run.settle(reverted, "revert")
        run.judge("revert", records, reverted, names)
        unreadable = []
        for rec in records.values():
            for sidecar in run.sidecars_of(rec) if rec.get("path") and rec.get("name") != UTF16 else []:
                done = subprocess.run(["exiv2", "-px", str(sidecar)], capture_output=True, text=True)
                if done.returncode != 0 or "Xmp." not in done.stdout:
                    unreadable.append(f"{sidecar.name}: exit {done.returncode} {done.stderr.strip()[:100]}")
        run.out.append(Result(AREA, "every sidecar still read by exiv2 (-px) after the changes", not unreadable, "; ".join(unreadable)))
        rec = records.get(UTF16, {})
        beside = run.sidecars_of(rec) if rec.get("path") else []
        props = foreign(read_struct(beside[0])) if len(beside) == 1 else {}
        seen = gps_of(read_numeric(beside).get(beside[0], {})) if len(beside) == 1 else None
        point = (rec["lat"], rec["lon"]) if rec.get("lat") is not None else None
        untouched = len(beside) == 1 and sha256(beside[0]) == originals[UTF16][1]
        merged = len(beside) == 1 and not diff(originals[UTF16][0], props) and seen is not None and point is not None and metres(seen, point) < 1
        run.out.append(Result(AREA, "after GPX, manual fix and revert: the UTF-16 sidecar is merged (our GPS, theirs kept) or left byte for byte",
                              untouched or merged, f"{[p.name for p in beside]}: untouched={untouched}, merged={merged}; record {rec.get('source')} at {point}; "
                              f"exiftool reads GPS {seen}, changes {diff(originals[UTF16][0], props)}"))
        their = records.get("their-gps.jpg", {})
        run.out.append(Result(AREA, "revert: the photo located by another program's sidecar is back at that point",
                              their.get("lat") is not None and metres((their["lat"], their["lon"]), THEIR_GPS) < 1,
                              f"source={their.get('source')} ({their.get('lat')}, {their.get('lon')})"))
        return run.out
    finally:
        if service is not None:
            service.stop()
        remove_tree(root)
        remove_tree(scratch)
