"""Pure GPS maths: rationals to degrees, hemisphere references, validation, text forms.

Nothing here does I/O or raises on bad input: a value that cannot be a real position
comes back as None, so a broken tag means "no GPS", never a point in the ocean.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

# A TIFF RATIONAL as read from the file: (numerator, denominator). Plain numbers are accepted
# too, because some writers store GPS components as SHORT, LONG or FLOAT.
Component = tuple[int, int] | int | float


def component_value(component: object) -> float | None:
    """One rational or number as a float; None for a zero denominator, NaN, infinity, a value
    too big for a float, or anything that is not a number or a (numerator, denominator) pair
    (the values come from files, so any object is taken)."""
    if isinstance(component, tuple):
        if len(component) != 2 or not all(isinstance(part, (int, float)) and not isinstance(part, bool) for part in component):
            return None
        num, den = component
        if not den:
            return None
        try:
            value: float = num / den
        except OverflowError:  # e.g. a 400-digit XMP numerator
            return None
    elif isinstance(component, (int, float)) and not isinstance(component, bool):
        value = float(component)
    else:
        return None
    return value if math.isfinite(value) else None


def dms_to_degrees(components: Sequence[Component]) -> float | None:
    """[degrees, minutes, seconds] (minutes and seconds optional) as decimal degrees, unsigned.

    Any unusable component (zero denominator, NaN, infinity) makes the whole value unusable,
    as does an empty or over-long sequence.
    """
    if not 1 <= len(components) <= 3:
        return None
    total = 0.0
    for component, scale in zip(components, (1.0, 60.0, 3600.0), strict=False):
        value = component_value(component)
        if value is None:
            return None
        total += value / scale
    return total


def apply_ref(value: float, ref: str | None, negative: str) -> float:
    """Sign a coordinate by its hemisphere reference, as exiftool does.

    A reference starting with `negative` ("S" or "W", any case) makes the value negative; any
    other reference, or none at all, leaves it as stored (exiftool -n reports the unsigned value
    when the reference tag is missing).
    """
    if ref and ref.strip()[:1].upper() == negative:
        return -abs(value)
    return value


def valid_point(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    """(lat, lon) when both make a real position; None for missing, NaN, out-of-range or (0, 0).

    (0, 0) is what cameras write when they had no fix, so it is treated as "no GPS".
    """
    if lat is None or lon is None:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    if lat == 0.0 and lon == 0.0:
        return None
    return lat, lon


def signed_altitude(value: float | None, ref: int | None) -> float | None:
    """Metres above sea level; GPSAltitudeRef 1 means below sea level. None when unusable."""
    if value is None or not math.isfinite(value) or abs(value) > 1e6:
        return None
    return -abs(value) if ref == 1 else value


_XMP_DMS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)(?:\s*,\s*(\d+(?:\.\d+)?))?\s*([NSEWnsew])\s*$")
_XMP_DECIMAL = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*([NSEWnsew]?)\s*$")


def parse_xmp_coordinate(text: str | None, negative: str) -> float | None:
    """An XMP exif:GPSLatitude/GPSLongitude value as signed decimal degrees.

    The XMP form is "DDD,MM,SSk" or "DDD,MM.mmk" (k one of N, S, E, W); decimal degrees
    ("51.5083N", "-0.1275") are accepted too, since some writers use them.
    """
    if not text:
        return None
    match = _XMP_DMS.match(text)
    if match:
        deg, minutes, seconds, ref = match.groups()
        value = float(deg) + float(minutes) / 60 + (float(seconds) / 3600 if seconds else 0.0)
        return apply_ref(value, ref, negative)
    match = _XMP_DECIMAL.match(text)
    if match:
        number, ref = match.groups()
        value = float(number)
        return apply_ref(value, ref, negative) if ref else value
    return None


# ISO 6709 as written in QuickTime ©xyz and com.apple.quicktime.location.ISO6709:
# "+37.3349-122.0090+050.000/" (altitude and trailing "/" optional). Degrees may also be written
# as DDMM[.m] or DDMMSS[.s] (DDDMM / DDDMMSS for longitude).
_ISO6709 = re.compile(r"^\s*([+-]\d{2,6}(?:\.\d+)?)([+-]\d{3,7}(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?(?:CRS[^/]*)?/?\s*$")


def _iso6709_part(text: str, degree_digits: int) -> float | None:
    sign = -1.0 if text[0] == "-" else 1.0
    body = text[1:]
    whole, _, fraction = body.partition(".")
    fraction_value = float("0." + fraction) if fraction else 0.0
    extra = len(whole) - degree_digits
    if extra == 0:
        value = int(whole) + fraction_value
    elif extra == 2:  # (D)DDMM.mm
        value = int(whole[:degree_digits]) + (int(whole[degree_digits:]) + fraction_value) / 60
    elif extra == 4:  # (D)DDMMSS.ss
        value = int(whole[:degree_digits]) + int(whole[degree_digits : degree_digits + 2]) / 60 + (int(whole[degree_digits + 2 :]) + fraction_value) / 3600
    else:
        return None
    return sign * value


def parse_iso6709(text: str | None) -> tuple[float, float, float | None] | None:
    """(lat, lon, altitude or None) from an ISO 6709 point string; None when it is not one."""
    if not text:
        return None
    match = _ISO6709.match(text)
    if not match:
        return None
    lat = _iso6709_part(match.group(1), 2)
    lon = _iso6709_part(match.group(2), 3)
    alt = float(match.group(3)) if match.group(3) else None
    if lat is None or lon is None:
        return None
    return lat, lon, alt
