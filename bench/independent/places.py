"""Issue 10: do famous places get the city a person would name?

Sixty-one landmarks that tests/test_places.py does not use, with coordinates and the city (any of
the accepted spellings) written down from general knowledge. Each becomes a JPEG with EXIF GPS
written by exiftool; `daemon.py locate --no-ai` prints the label and `daemon.py scan` records the
city field. A place is a hit when the record's `city` is one of the accepted names and locate's
label names the same place as the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from common import Result, Workspace, jpeg, locate, remove_tree, tag_gps, temp_root


@dataclass(frozen=True)
class Place:
    landmark: str
    lat: float
    lon: float
    cities: tuple[str, ...]  # the names a person would give (local and English spellings)


PLACES = (
    Place("Golden Gate Bridge toll plaza", 37.8078, -122.4750, ("San Francisco",)),
    Place("Petronas Towers", 3.1579, 101.7116, ("Kuala Lumpur",)),
    Place("Burj Khalifa", 25.1972, 55.2744, ("Dubai",)),
    Place("Big Ben", 51.5007, -0.1246, ("London", "Westminster")),
    Place("Park Güell", 41.4145, 2.1527, ("Barcelona",)),
    Place("Louvre", 48.8606, 2.3376, ("Paris",)),
    Place("Sacré-Cœur", 48.8867, 2.3431, ("Paris",)),
    Place("Acropolis", 37.9715, 23.7257, ("Athens",)),
    Place("Sydney Harbour Bridge", -33.8523, 151.2108, ("Sydney",)),
    Place("Times Square", 40.7580, -73.9855, ("New York City", "New York")),
    Place("Bethesda Fountain, Central Park", 40.7740, -73.9708, ("New York City", "New York")),
    Place("Space Needle", 47.6205, -122.3493, ("Seattle",)),
    Place("Hollywood Sign", 34.1341, -118.3215, ("Los Angeles",)),
    Place("White House", 38.8977, -77.0365, ("Washington", "Washington, D.C.")),
    Place("Gateway Arch", 38.6247, -90.1848, ("St. Louis", "Saint Louis")),
    Place("St Basil's Cathedral", 55.7525, 37.6231, ("Moscow",)),
    Place("Hermitage Museum", 59.9398, 30.3146, ("Saint Petersburg", "St Petersburg")),
    Place("Forbidden City", 39.9163, 116.3972, ("Beijing",)),
    Place("The Bund", 31.2400, 121.4900, ("Shanghai",)),
    Place("Tokyo Tower", 35.6586, 139.7454, ("Tokyo",)),
    Place("Fushimi Inari shrine", 34.9671, 135.7727, ("Kyoto",)),
    Place("Osaka Castle", 34.6873, 135.5262, ("Osaka",)),
    Place("Gyeongbokgung", 37.5796, 126.9770, ("Seoul",)),
    Place("Marina Bay Sands", 1.2834, 103.8607, ("Singapore",)),
    Place("Grand Palace", 13.7500, 100.4913, ("Bangkok",)),
    Place("Gateway of India", 18.9220, 72.8347, ("Mumbai",)),
    Place("India Gate", 28.6129, 77.2295, ("New Delhi", "Delhi")),
    Place("Hagia Sophia", 41.0086, 28.9802, ("Istanbul",)),
    Place("Pyramids of Giza", 29.9792, 31.1342, ("Giza", "Cairo")),
    Place("Sugarloaf Mountain", -22.9486, -43.1566, ("Rio de Janeiro",)),
    Place("Obelisco", -34.6037, -58.3816, ("Buenos Aires",)),
    Place("Zócalo", 19.4326, -99.1332, ("Mexico City", "Ciudad de México")),
    Place("Plaza de Armas, Cusco", -13.5167, -71.9788, ("Cusco", "Cuzco")),
    Place("Cologne Cathedral", 50.9413, 6.9583, ("Cologne", "Köln")),
    Place("Marienplatz", 48.1374, 11.5755, ("Munich", "München")),
    Place("Charles Bridge", 50.0865, 14.4114, ("Prague", "Praha")),
    Place("St Stephen's Cathedral", 48.2085, 16.3731, ("Vienna", "Wien")),
    Place("Rijksmuseum", 52.3600, 4.8852, ("Amsterdam",)),
    Place("Atomium", 50.8949, 4.3415, ("Brussels", "Bruxelles", "Brussel", "City of Brussels")),
    Place("Trevi Fountain", 41.9009, 12.4833, ("Rome",)),
    Place("Leaning Tower of Pisa", 43.7230, 10.3966, ("Pisa",)),
    Place("St Mark's Square", 45.4341, 12.3388, ("Venice", "Venezia")),
    Place("Milan Cathedral", 45.4642, 9.1900, ("Milan", "Milano")),
    Place("Alhambra", 37.1761, -3.5881, ("Granada",)),
    Place("Puerta del Sol", 40.4169, -3.7035, ("Madrid",)),
    Place("Belém Tower", 38.6916, -9.2160, ("Lisbon", "Lisboa")),
    Place("Edinburgh Castle", 55.9486, -3.1999, ("Edinburgh",)),
    Place("Trinity College", 53.3438, -6.2546, ("Dublin",)),
    Place("Little Mermaid", 55.6929, 12.5993, ("Copenhagen", "København")),
    Place("Federation Square", -37.8180, 144.9691, ("Melbourne",)),
    Place("Sky Tower", -36.8485, 174.7622, ("Auckland",)),
    Place("Hassan II Mosque", 33.6084, -7.6325, ("Casablanca",)),
    Place("Jemaa el-Fnaa", 31.6258, -7.9892, ("Marrakesh", "Marrakech")),
    Place("Western Wall", 31.7767, 35.2345, ("Jerusalem",)),
    Place("Parliament Hill", 45.4236, -75.7009, ("Ottawa",)),
    Place("Independence Hall", 39.9489, -75.1500, ("Philadelphia",)),
    Place("Cloud Gate", 41.8827, -87.6233, ("Chicago",)),
    Place("The Alamo", 29.4260, -98.4861, ("San Antonio",)),
    Place("Taipei 101", 25.0340, 121.5645, ("Taipei",)),
    Place("Hallgrímskirkja", 64.1417, -21.9266, ("Reykjavik", "Reykjavík")),
    Place("Wawel Castle", 50.0540, 19.9354, ("Kraków", "Krakow", "Cracow")),
)


def check() -> list[Result]:
    root = temp_root("places")
    try:
        ws = Workspace(root)
        files = {}
        for n, place in enumerate(PLACES):
            path = jpeg(ws.inbox / f"place{n:02d}.jpg", colour=(n * 4 % 256, 80, 200 - n))
            tag_gps(path, place.lat, place.lon, "-DateTimeOriginal=2024:05:01 12:00:00")
            files[path.name] = (place, path)
        printed = locate([p for _, p in files.values()], cwd=root)
        labels = {row["file"].rsplit("/", 1)[-1]: row.get("place") for row in printed.values()}
        scan = ws.scan()
        records = {r["name"]: r for r in ws.records()}
        misses: list[Result] = []
        for name, (place, _) in files.items():
            record = records.get(name, {})
            city, label = record.get("city"), labels.get(name)
            if city in place.cities and label == record.get("place"):
                continue
            misses.append(Result(
                "places", f"miss: {place.landmark} ({place.lat}, {place.lon})", False,
                f"expected {' / '.join(place.cities)}; record city={city!r}, locate label={label!r}",
            ))
        hits = len(PLACES) - len(misses)
        summary = Result(
            "places", f"{hits}/{len(PLACES)} landmarks name the expected city ({100 * hits / len(PLACES):.0f}%)",
            hits >= 0.9 * len(PLACES), f"scan exit {scan.returncode}: {scan.stdout.strip()}; pass mark 90%",
        )
        return [summary, *misses]
    finally:
        remove_tree(root)
