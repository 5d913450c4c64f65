"""Issue 19: honest place names far from towns, at sea, in Antarctica and across the antimeridian.

Points chosen here (not from tests/), each a JPEG with EXIF GPS written by exiftool; `daemon.py
locate --no-ai` prints the label and `daemon.py scan` records the city field. The towns below and
their coordinates are written down from general knowledge, and distances and bearings are computed
here with a haversine. The rules checked (the README's "Place names"):

- No label names a town as the place when it is more than ~25 km away: a label that names a town
  as the place ("Town, Region, Country") must name one of the towns listed here within 25 km (a
  point marked `remote` has none, so any town named as the place fails); beyond, "N km DIR of Town"
  with N >= 25, and when that town is listed here, N within 5 % (or 5 km) of the distance computed
  here and DIR within 30 degrees of the bearing from the town.
- At sea the label names the sea or ocean (any of the accepted names, as Natural Earth calls them);
  within 100 km of a listed town it also says how far and which way.
- In Antarctica the label is "Antarctica"; near no town the record's city field is empty.
- The two sides of the antimeridian, a kilometre apart, get the same label.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from common import Result, Workspace, jpeg, locate, metres, remove_tree, tag_gps, temp_root

AREA = "far places"
NEAR_KM = 25.0

TOWNS: dict[str, tuple[float, float]] = {  # from general knowledge
    "Stanley": (-51.6938, -57.8570), "Longyearbyen": (78.2232, 15.6267), "Pyramiden": (78.6553, 16.3250),
    "Barentsburg": (78.0648, 14.2335), "Ny-Ålesund": (78.9250, 11.9300), "Hanga Roa": (-27.1540, -109.4320),
    "Hamilton": (32.2949, -64.7814), "St. George's": (32.3814, -64.6774), "Saint George": (32.3814, -64.6774),
    "Tura": (64.2775, 100.2197), "Höfn": (64.2539, -15.2082), "Kirkjubæjarklaustur": (63.7890, -18.0540),
    "Egilsstaðir": (65.2653, -14.3948), "Bordj Badji Mokhtar": (21.3276, 0.9539), "Tessalit": (20.1986, 1.0114),
    "Tefé": (-3.3542, -64.7114), "Carauari": (-4.8828, -66.8958), "Ghanzi": (-21.6981, 21.6458), "Kang": (-23.6753, 22.7883),
    "Dalanzadgad": (43.5708, 104.4250), "Minfeng": (37.0645, 82.6930), "Hotan": (37.1140, 79.9225),
    "Iférouane": (19.0700, 8.4200), "Agadez": (16.9733, 7.9911), "Bilma": (18.6853, 12.9164), "Djanet": (24.5543, 9.4845),
    "Ghat": (24.9647, 10.1728), "Ceduna": (-32.1250, 133.6750), "Kalgoorlie": (-30.7490, 121.4660), "Eucla": (-31.6770, 128.8890),
    "Birdsville": (-25.8989, 139.3516), "Alice Springs": (-23.6980, 133.8807), "Wonthaggi": (-38.6056, 145.5917),
    "Foster": (-38.6530, 146.2010), "Port Welshpool": (-38.7000, 146.4500), "Whitemark": (-40.1222, 148.0148),
    "Currie": (-39.9310, 143.8510), "Devonport": (-41.1800, 146.3500), "Waiyevo": (-16.7887, 179.9857),
    "Somosomo": (-16.7717, 179.9708), "Labasa": (-16.4167, 179.3833), "Savusavu": (-16.7794, 179.3306),
    "Nuuk": (64.1814, -51.6941), "Ilulissat": (69.2198, -51.0986), "Upernavik": (72.7868, -56.1549),
    "Uummannaq": (70.6747, -52.1264), "Tasiilaq": (65.6145, -37.6368), "Ittoqqortoormiit": (70.4853, -21.9628),
    "Sharurah": (17.4667, 47.1167), "Thumrait": (17.6667, 54.0167),
}


@dataclass(frozen=True)
class Point:
    name: str
    lat: float
    lon: float
    seas: tuple[str, ...] = ()  # at sea: the accepted names
    antarctica: bool = False
    remote: bool = False  # on land, no town within 25 km (general knowledge)
    towns_within_100: tuple[str, ...] = ()  # at sea: the label must say how far from one of these


POINTS = (
    Point("mid-Atlantic", 30.0, -40.0, seas=("North Atlantic Ocean",)),
    Point("South Atlantic", -30.0, -15.0, seas=("South Atlantic Ocean",)),
    Point("Tasman Sea", -38.0, 160.0, seas=("Tasman Sea",)),
    Point("Caribbean", 15.0, -75.0, seas=("Caribbean Sea",)),
    Point("Bay of Biscay", 45.5, -4.0, seas=("Bay of Biscay",)),
    Point("Gulf of Mexico", 25.0, -90.0, seas=("Gulf of Mexico",)),
    Point("North Sea", 56.0, 3.0, seas=("North Sea",)),
    Point("Black Sea", 43.0, 34.0, seas=("Black Sea",)),
    Point("Arabian Sea", 15.0, 65.0, seas=("Arabian Sea",)),
    Point("Bay of Bengal", 15.0, 88.0, seas=("Bay of Bengal",)),
    Point("Coral Sea", -17.0, 152.0, seas=("Coral Sea",)),
    Point("Hudson Bay", 60.0, -86.0, seas=("Hudson Bay",)),
    Point("Tyrrhenian Sea", 40.0, 12.5, seas=("Tyrrhenian Sea",)),
    Point("Adriatic Sea", 43.0, 15.5, seas=("Adriatic Sea",)),
    Point("Bering Sea", 57.0, -175.0, seas=("Bering Sea",)),
    Point("Sea of Okhotsk", 53.0, 150.0, seas=("Sea of Okhotsk", "Okhotsk Sea")),
    Point("Indian Ocean", -30.0, 80.0, seas=("Indian Ocean",)),
    Point("Arctic Ocean", 86.0, 40.0, seas=("Arctic Ocean",)),
    Point("North Pole", 90.0, 0.0, seas=("Arctic Ocean",)),
    Point("Bass Strait", -39.6, 146.3, seas=("Bass Strait",)),
    Point("off the Falklands, north of Stanley", -51.2, -57.86, seas=("South Atlantic Ocean", "Falkland"), towns_within_100=("Stanley",)),
    Point("off Easter Island, north of Hanga Roa", -26.7, -109.43, seas=("South Pacific Ocean",), towns_within_100=("Hanga Roa",)),
    Point("off Bermuda, to the north", 32.9, -64.78, seas=("North Atlantic Ocean", "Sargasso Sea"), towns_within_100=("Hamilton", "St. George's", "Saint George")),
    Point("Pacific on the antimeridian, west side", -2.0, 179.995, seas=("South Pacific Ocean", "Pacific Ocean")),
    Point("Pacific on the antimeridian, east side", -2.0, -179.995, seas=("South Pacific Ocean", "Pacific Ocean")),
    Point("Taveuni (Fiji) on the antimeridian, west side", -16.85, 179.995),
    Point("Taveuni (Fiji) on the antimeridian, east side", -16.85, -179.995),
    Point("Ténéré (Niger)", 19.5, 10.0, remote=True),
    Point("Tanezrouft (Algeria)", 22.5, 0.0, remote=True),
    Point("Sahara at the Niger-Libya border", 23.0, 12.0, remote=True),
    Point("Rub' al Khali", 20.5, 51.0, remote=True),
    Point("Gobi (Ömnögovi)", 43.0, 103.0, remote=True),
    Point("Taklamakan", 39.0, 83.0, remote=True),
    Point("Simpson Desert", -25.5, 137.5, remote=True),
    Point("Nullarbor Plain", -31.0, 129.5, remote=True),
    Point("Central Kalahari", -22.5, 23.5, remote=True),
    Point("Greenland ice sheet", 72.0, -40.0, remote=True),
    Point("Vatnajökull", 64.45, -16.9, remote=True),
    Point("Amazon between Juruá and Solimões", -4.5, -65.5, remote=True),
    Point("Evenkia, 80 km north of Tura", 65.0, 100.2, remote=True),
    Point("Spitsbergen, 64 km north of Longyearbyen", 78.8, 15.65),
    Point("Dome C", -75.10, 123.33, antarctica=True),
    Point("Vostok", -78.46, 106.84, antarctica=True),
    Point("South Pole", -90.0, 0.0, antarctica=True),
    Point("Antarctic plateau (Dronning Maud Land)", -85.0, 60.0, antarctica=True),
)

COMPASS = {"N": 0, "NNE": 22.5, "NE": 45, "ENE": 67.5, "E": 90, "ESE": 112.5, "SE": 135, "SSE": 157.5,
           "S": 180, "SSW": 202.5, "SW": 225, "WSW": 247.5, "W": 270, "WNW": 292.5, "NW": 315, "NNW": 337.5}
AWAY = re.compile(r"(\d+(?:\.\d+)?) km ([NSEW]{1,3}) of ([^,]+)")


def bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Initial great-circle bearing from a to b, degrees clockwise from north."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return math.degrees(math.atan2(y, x)) % 360


def judge(point: Point, label: str | None, city: str | None) -> list[str]:
    """What is wrong with the label (and the record's city) for this point; [] when nothing."""
    if not label:
        return ["no label"]
    problems = []
    here = (point.lat, point.lon)
    away = AWAY.search(label)
    parts = [p.strip() for p in label.split(",")]
    at_sea = any(label.startswith(sea) or sea in parts[0] for sea in point.seas)
    if point.seas and not at_sea:
        problems.append(f"expected the sea ({' / '.join(point.seas)})")
    if point.antarctica and label != "Antarctica":
        problems.append("expected 'Antarctica'")
    if away:
        km, direction, town = float(away[1]), away[2], away[3].strip()
        if km < NEAR_KM and not point.seas:
            problems.append(f"{km:g} km from {town}: within {NEAR_KM:g} km the town itself is the place")
        if town in TOWNS:
            d = metres(here, TOWNS[town]) / 1000
            if abs(km - d) > max(5.0, 0.05 * d):
                problems.append(f"says {km:g} km from {town}; the haversine here gives {d:.0f} km")
            b = bearing(TOWNS[town], here)
            off = abs((COMPASS.get(direction, -999) - b + 180) % 360 - 180)
            if off > 30:
                problems.append(f"says {direction} of {town}; the bearing from it is {b:.0f}°")
    elif not at_sea and not point.antarctica and len(parts) >= 2:
        town = parts[0]  # a town named as the place
        known = TOWNS.get(town)
        d = metres(here, known) / 1000 if known else None
        if point.remote or d is None or d > NEAR_KM:
            problems.append(f"names {town} as the place, " + (f"{d:.0f} km away" if d is not None else "not a town known within 25 km here"))
    if point.towns_within_100 and not (away and away[3].strip() in point.towns_within_100):
        problems.append(f"expected 'N km DIR of {' / '.join(point.towns_within_100)}' (within 100 km at sea)")
    if (point.remote or point.antarctica or (point.seas and not point.towns_within_100)) and city:
        problems.append(f"record city {city!r} though no town is near")
    return problems


def nearest_listed(point: Point) -> str:
    name, where = min(TOWNS.items(), key=lambda kv: metres((point.lat, point.lon), kv[1]))
    return f"nearest town listed here: {name}, {metres((point.lat, point.lon), where) / 1000:.0f} km"


def check() -> list[Result]:
    root = temp_root("far-places")
    try:
        ws = Workspace(root)
        files = {}
        for n, point in enumerate(POINTS):
            path = jpeg(ws.inbox / f"far{n:02d}.jpg", colour=(n * 5 % 256, 120, 80))
            tag_gps(path, point.lat, point.lon, "-DateTimeOriginal=2024:02:01 12:00:00")
            files[path.name] = point
        printed = locate(list(ws.inbox.iterdir()), cwd=root)
        labels = {row["file"].rsplit("/", 1)[-1]: row.get("place") for row in printed.values()}
        ws.scan()
        records = {r["name"]: r for r in ws.records()}
        out = []
        for name, point in files.items():
            record = records.get(name, {})
            label = labels.get(name)
            problems = judge(point, label, record.get("city"))
            if label != record.get("place"):
                problems.append(f"locate says {label!r}, the record {record.get('place')!r}")
            out.append(Result(AREA, f"{point.name} ({point.lat}, {point.lon})", not problems,
                              f"{label!r}, city {record.get('city')!r}: " + ("; ".join(problems) if problems else nearest_listed(point))))
        pairs = [(a, b) for a in files.values() for b in files.values() if a.name.endswith("west side") and b.name == a.name.replace("west", "east")]
        by_point = {p: labels.get(n) for n, p in files.items()}
        for west, east in pairs:
            out.append(Result(AREA, f"{west.name.rsplit(',', 1)[0]}: the same label on both sides of 180°", by_point[west] == by_point[east],
                              f"west {by_point[west]!r}, east {by_point[east]!r}"))
        return out
    finally:
        remove_tree(root)
