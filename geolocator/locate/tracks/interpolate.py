"""Placing a moment on a track: linear interpolation between the fixes around it (pure).

The rules are exiftool's `-geotag`: between two fixes at most `max_interpolation_s` apart
(GeoMaxIntSecs, 30 min) the position is interpolated; otherwise, and up to
`max_extrapolation_s` (GeoMaxExtSecs, 30 min) beyond either end of the track or into a longer
gap, the nearest fix is taken as it is; further away there is no position.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from geolocator.locate.places.index import haversine_km
from geolocator.locate.tracks.model import Track


class FixKind(str, enum.Enum):
    ON_POINT = "on_point"  # a fix at that very second
    INTERPOLATED = "interpolated"  # between two fixes close enough in time
    NEAREST = "nearest"  # past an end of the track, or inside a gap too long to interpolate


@dataclass(frozen=True)
class MatchRules:
    max_interpolation_s: float = 1800.0
    max_extrapolation_s: float = 1800.0
    default_accuracy_m: float = 10.0  # a fix that states none: a phone's or logger's usual
    assumed_speed_m_s: float = 1.4  # walking: how far one may have gone from a nearest fix


@dataclass(frozen=True)
class TrackFix:
    lat: float
    lon: float
    elevation: float | None
    radius_km: float  # accuracy of the fixes plus how far the truth can be from the line
    kind: FixKind
    seconds_from_fix: float  # to the nearest fix used: 0 on a point
    track: str | None
    decisions: tuple[str, ...]


def locate_on_tracks(tracks: Iterable[Track], utc: datetime, rules: MatchRules = MatchRules()) -> TrackFix | None:
    """The best position of all `tracks` at `utc` (an aware datetime): the one closest in time to
    a fix, then the one with the smaller radius. None when no track covers that moment."""
    fixes = [fix for track in tracks if (fix := locate_on_track(track, utc, rules)) is not None]
    if not fixes:
        return None
    best = min(fixes, key=lambda f: (f.seconds_from_fix, f.radius_km))
    if len(fixes) == 1:
        return best
    why = f"chose {_name(best.track)} of {len(fixes)} tracks covering {_clock(utc.timestamp())}: nearest to a fix ({best.seconds_from_fix:.0f} s)"
    return dataclasses.replace(best, decisions=(*best.decisions, why))


def locate_on_track(track: Track, utc: datetime, rules: MatchRules = MatchRules()) -> TrackFix | None:
    """The position on one track at `utc`, or None outside it (see the module's rules)."""
    if utc.tzinfo is None:
        raise ValueError("a track is matched on a UTC time: got a time without its offset")
    import numpy as np  # here, not at the top: placing a photo that meets no track never needs it

    t = utc.timestamp()
    times = track.times
    i = int(np.searchsorted(times, t, side="left"))
    if i < len(times) and times[i] == t:
        return _at(track, i, 0.0, FixKind.ON_POINT, rules, f"a fix of {_name(track.name)} at {_clock(t)}")
    if 0 < i < len(times):
        gap = float(times[i] - times[i - 1])
        if gap <= rules.max_interpolation_s:
            return _between(track, i - 1, i, t, rules)
        before, after = t - float(times[i - 1]), float(times[i]) - t
        nearest, dt = (i - 1, before) if before <= after else (i, after)
        where = f"in a {gap / 60:.0f} min gap of {_name(track.name)} (more than {rules.max_interpolation_s / 60:.0f} min: not interpolated)"
    elif i == 0:
        nearest, dt = 0, float(times[0]) - t
        where = f"before the start of {_name(track.name)}"
    else:
        nearest, dt = len(times) - 1, t - float(times[-1])
        where = f"after the end of {_name(track.name)}"
    if dt > rules.max_extrapolation_s:
        return None
    return _at(track, nearest, dt, FixKind.NEAREST, rules, f"{where}: the nearest fix, {dt / 60:.1f} min away")


def _between(track: Track, a: int, b: int, t: float, rules: MatchRules) -> TrackFix:
    t0, t1 = float(track.times[a]), float(track.times[b])
    f = (t - t0) / (t1 - t0)
    lat0, lon0, lat1, lon1 = track.lat(a), track.lon(a), track.lat(b), track.lon(b)
    dlon = (lon1 - lon0 + 180.0) % 360.0 - 180.0  # the short way round, across the antimeridian too
    lon = (lon0 + f * dlon + 180.0) % 360.0 - 180.0
    spacing_m = haversine_km(lat0, lon0, lat1, lon1) * 1000
    accuracy = (1 - f) * _accuracy(track, a, rules) + f * _accuracy(track, b, rules)
    # Off the straight line, the truth is at most as far as the nearer fix is along it.
    radius_m = accuracy + min(f, 1 - f) * spacing_m
    e0, e1 = track.elevation(a), track.elevation(b)
    elevation = e0 + f * (e1 - e0) if e0 is not None and e1 is not None else None
    why = f"interpolated on {_name(track.name)} between fixes at {_clock(t0)} and {_clock(t1)} ({t1 - t0:.0f} s, {spacing_m:.0f} m apart)"
    return TrackFix(lat0 + f * (lat1 - lat0), lon, elevation, radius_m / 1000, FixKind.INTERPOLATED, min(t - t0, t1 - t), track.name, (why,))


def _at(track: Track, i: int, dt: float, kind: FixKind, rules: MatchRules, why: str) -> TrackFix:
    radius_m = _accuracy(track, i, rules) + dt * rules.assumed_speed_m_s
    return TrackFix(track.lat(i), track.lon(i), track.elevation(i), radius_m / 1000, kind, dt, track.name, (why,))


def _accuracy(track: Track, i: int, rules: MatchRules) -> float:
    value = track.accuracy(i)
    return value if value is not None else rules.default_accuracy_m


def _name(name: str | None) -> str:
    return f"track {name!r}" if name else "the track"


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
