"""Pasted coordinates: every accepted form read back to the point it was written from, anywhere on
Earth; out-of-range and malformed input refused with a clear error; anything else never crashes."""

from __future__ import annotations

import contextlib
import time
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geolocator.locations.coords import MAX_CHARS, CoordinateError, NotCoordinates, Point, parse_coordinates

CHECK = settings(database=None, deadline=None, max_examples=300)  # no .hypothesis folder in the tree
lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
EPS = 1e-9


def close(point: Point, lat: float, lon: float, tolerance: float = EPS) -> bool:
    return abs(point.lat - lat) <= tolerance and abs(point.lon - lon) <= tolerance


def dms(value: float, positive: str, negative: str, marks: tuple[str, str, str], sep: str) -> tuple[str, float]:
    """`value` as degrees, minutes and seconds (one decimal) with a hemisphere letter, and the
    value that text stands for exactly."""
    tenths = round(abs(value) * 36000)
    degrees, rest = divmod(tenths, 36000)
    minutes, tenths_of_seconds = divmod(rest, 600)
    deg_mark, min_mark, sec_mark = marks
    letter = negative if value < 0 and tenths else positive
    text = f"{degrees}{deg_mark}{sep}{minutes}{min_mark}{sep}{tenths_of_seconds / 10:.1f}{sec_mark}{sep}{letter}"
    exact = (degrees + minutes / 60 + tenths_of_seconds / 36000) * (-1 if letter == negative else 1)
    return text, exact


MARKS = st.sampled_from([("°", "'", '"'), ("°", "′", "″"), ("º", "’", "”"), ("°", "'", "''"), ("° ", "' ", '" ')])


@CHECK
@given(lats, lons, st.sampled_from([", ", ",", " ", "; ", " , ", "\t"]), st.integers(0, 12))
def test_decimal_pairs(lat, lon, sep, digits):
    lat, lon = round(lat, digits), round(lon, digits)
    point = parse_coordinates(f"  {lat:.{digits}f}{sep}{lon:.{digits}f} ")
    assert close(point, lat, lon)


@CHECK
@given(lats, lons, MARKS, st.sampled_from(["", " "]), st.sampled_from([" ", ", ", "", ";"]), st.booleans())
def test_degrees_minutes_seconds_in_every_hemisphere(lat, lon, marks, inner, between, lon_first):
    lat_text, lat_exact = dms(lat, "N", "S", marks, inner)
    lon_text, lon_exact = dms(lon, "E", "W", marks, inner)
    text = f"{lon_text}{between}{lat_text}" if lon_first else f"{lat_text}{between}{lon_text}"
    assert close(parse_coordinates(text), lat_exact, lon_exact, 1e-9)


@CHECK
@given(lats, lons, st.booleans(), st.sampled_from(["", "°", "° "]))
def test_decimal_degrees_with_hemisphere_letters_before_or_after(lat, lon, before, mark):
    lat, lon = round(lat, 5), round(lon, 5)
    ns, ew = ("S" if lat < 0 else "N"), ("W" if lon < 0 else "E")
    text = f"{ns} {abs(lat):.5f}{mark} {ew} {abs(lon):.5f}{mark}" if before else f"{abs(lat):.5f}{mark}{ns}, {abs(lon):.5f}{mark}{ew}"
    assert close(parse_coordinates(text), lat, lon)


@CHECK
@given(lats, lons, st.sampled_from(["", ";u=35", ";crs=wgs84;u=12.5", ",120", "?z=15", ";u=10?z=3"]))
def test_geo_uris(lat, lon, tail):
    lat, lon = round(lat, 6), round(lon, 6)
    assert close(parse_coordinates(f"geo:{lat:.6f},{lon:.6f}{tail}"), lat, lon)


@CHECK
@given(lats, lons)
def test_map_links(lat, lon):
    lat, lon = round(lat, 6), round(lon, 6)
    other_lat, other_lon = f"{lat / 2:.6f}", f"{lon / 2:.6f}"  # a view centre away from the pin
    expected = lat, lon
    lat, lon = f"{lat:.6f}", f"{lon:.6f}"  # as links write them: never 1e-05
    links = [
        f"https://www.google.com/maps/@{lat},{lon},15z",
        f"https://www.google.com/maps/place/Somewhere/@{other_lat},{other_lon},17z/data=!3m1!4b1!4m6!3m5!1s0x0:0x0!8m2!3d{lat}!4d{lon}!16s",
        f"https://www.google.com/maps/search/{lat},+{lon}?entry=ttu",
        f"https://maps.google.com/?q={lat},{lon}",
        f"https://www.google.com/maps/search/?api=1&query={quote(f'{lat},{lon}')}",
        f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=12/{other_lat}/{other_lon}",
        f"https://www.openstreetmap.org/#map=17/{lat}/{lon}",
        f"https://maps.apple.com/?ll={lat},{lon}&q=Dropped%20Pin",
        f"https://www.bing.com/maps?cp={lat}~{lon}&lvl=16",
        f"www.google.com/maps/@{lat},{lon},15z",
        f"geo:0,0?q={lat},{lon}(My+place)",
    ]
    for link in links:
        assert close(parse_coordinates(link), *expected), link


@pytest.mark.parametrize(
    "text",
    [
        "41.8902, 12.4922",
        "41.8902 12.4922",
        "41°53'24.7\"N 12°29'32.0\"E",
        "41° 53′ 24.7″ N, 12° 29′ 32.0″ E",
        "N 41° 53' 24.7\" E 12° 29' 32.0\"",
        "41°53.412'N 12°29.532'E",
        "41.8902N 12.4922E",
        "12.4922E 41.8902N",
        "(41.8902, 12.4922)",
        "geo:41.8902,12.4922;u=35",
        "https://www.google.com/maps/@41.8902,12.4922,17z",
        "https://www.openstreetmap.org/?mlat=41.8902&mlon=12.4922#map=17/41.8902/12.4922",
        "https://maps.google.com/?q=loc:41.8902,12.4922",
    ],
)
def test_the_colosseum_in_each_form_people_paste(text):
    assert close(parse_coordinates(text), 41.8902, 12.4922, 1e-4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("95, 12", "latitude 95 is out of range"),
        ("-90.5 0", "latitude -90.5 is out of range"),
        ("41.89, 212.5", "longitude 212.5 is out of range"),
        ("geo:91,0", "latitude 91 is out of range"),
        ("https://www.openstreetmap.org/?mlat=12&mlon=-181", "longitude -181 is out of range"),
        ("41.89N 12.49N", "two latitudes"),
        ("12.49E 41.89W", "two longitudes"),
        ("-41.89S 12.49E", "both a sign and a hemisphere letter"),
        ("41°60'00\"N 12°0'0\"E", "below 60"),
        ("41°59'60\"N 12°0'0\"E", "below 60"),
        ("41.5°30'N 12E", "decimal part cannot also have minutes"),
        ("41.8912.49", "cannot read"),
        ("1, 2, 3", "cannot read"),
        ("41.89", "cannot read"),
        ("geo:41.89", "geo:latitude,longitude"),
        ("geo:41.89,12.49;crs=epsg:3857", "only WGS-84"),
        ("geo:0,0?q=Colosseum", "a search for 'Colosseum'"),
        ("https://maps.app.goo.gl/x1Y2z3", "short links"),
        ("https://www.openstreetmap.org/node/12345", "no coordinates in the link"),
        ("1 " * 3000, "too long"),
    ],
)
def test_refused_with_a_clear_error(text, message):
    with pytest.raises(CoordinateError, match=message) as raised:
        parse_coordinates(text)
    assert not isinstance(raised.value, NotCoordinates)
    assert len(str(raised.value)) < 400


@pytest.mark.parametrize("text", ["", "   ", "Rome", "Route 66", "Colosseum, Rome, Italy", "St. Petersburg", "Nowhere 1/2"])
def test_place_names_are_not_coordinates(text):
    with pytest.raises(NotCoordinates):
        parse_coordinates(text)


@CHECK
@given(st.text(max_size=200) | st.text(alphabet="0123456789NSEW°'\".,;+- geo:/@#=&?", max_size=200))
def test_anything_else_gives_a_point_in_range_or_a_coordinate_error(text):
    try:
        point = parse_coordinates(text)
    except CoordinateError as exc:
        assert str(exc)
    else:
        assert -90 <= point.lat <= 90 and -180 <= point.lon <= 180


@pytest.mark.parametrize("unit", ["1 ", "1,", "1.1.", "41°", "41°1'", "1°1'1\"", " 1'", "N1 ", "@1,1/", "1" * 7, " "])
def test_the_longest_hostile_input_is_answered_quickly(unit):
    text = (unit * MAX_CHARS)[:MAX_CHARS]
    for candidate in (text, "https://x.example/" + text[:-20], "geo:" + text[:-5]):
        started = time.perf_counter()
        with contextlib.suppress(CoordinateError):
            parse_coordinates(candidate)
        assert time.perf_counter() - started < 0.25, candidate[:40]  # a quadratic regex takes seconds
