"""Camera clocks set wrong, and their correction (pure), as exiftool's `-geosync` does it.

Two ways to say how wrong a camera's clock is:
- a known offset per camera (`[location] camera_offsets`, `KnownOffsets`): "+00:03:12" means the
  clock is 3 min 12 s behind (exiftool's sign: what is added to the camera's time to get the
  true time). It corrects the wall clock before the capture time in UTC is worked out;
- sync points made on the map page (`SyncPoint`): "this photo was taken at this true time" (a
  spot clicked on a track, whose point gives the time, or a time typed). A sync point maps the
  camera's wall clock to UTC for that camera's photos of a day or a date range: the time zone and
  the clock's error at once, so it times even a camera that records no zone. With two or more
  sync points the correction is interpolated linearly between the two nearest, and extrapolated
  beyond them, by wall clock: a clock that drifts (exiftool's `ApplySyncCorr`).

One camera is one make and model (and body serial, when the files give it: `nearby.same_camera`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from geolocator.config import parse_clock_offset
from geolocator.locations.nearby import camera_label, same_camera

QUARTER_HOUR_S = 900.0


def show_shift(seconds: float) -> str:
    """A time difference as people read it: "+1 min 12 s", "-3 s", "+2 h 5 min", "+3 d 1 h"."""
    sign = "-" if seconds < 0 else "+"
    left = round(abs(seconds))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    parts = [f"{v} {unit}" for v, unit in ((days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")) if v]
    return sign + " ".join(parts[:2]) if parts else "0 s"


def show_zone(seconds: float) -> str:
    minutes = round(abs(seconds) / 60)
    return f"UTC{'-' if seconds < 0 else '+'}{minutes // 60:02d}:{minutes % 60:02d}"


# -- known offsets per camera ([location] camera_offsets) ------------------------------------------


@dataclass(frozen=True)
class KnownOffset:
    camera: str  # as the setting names it
    offset: timedelta

    @property
    def decision(self) -> str:
        return f"the clock of {self.camera} corrected by {show_shift(self.offset.total_seconds())} ([location] camera_offsets)"


@dataclass(frozen=True)
class KnownOffsets:
    """`[location] camera_offsets`: a camera ("Canon EOS 40D", or with its body serial "Canon EOS
    40D #0820500998") and how far its clock is behind. A serial's entry wins over its model's."""

    by_camera: tuple[tuple[str, str | None, KnownOffset], ...] = ()

    @classmethod
    def parse(cls, settings: Mapping[str, str]) -> KnownOffsets:
        """From the setting's table; ValueError naming the camera whose offset is wrong."""
        entries = []
        for name, text in settings.items():
            camera, _, serial = name.partition("#")
            if not camera.strip():
                raise ValueError(f"{name!r}: name a camera (its make and model, as the page shows it)")
            try:
                offset = parse_clock_offset(text)
            except ValueError as exc:
                raise ValueError(f"{name!r}: {exc}") from None
            entries.append((camera.strip(), serial.strip() or None, KnownOffset(name.strip(), offset)))
        return cls(tuple(entries))

    def of(self, camera: str | None, serial: str | None) -> KnownOffset | None:
        if camera is None:
            return None
        for wanted_serial in (serial, None) if serial else (None,):
            for name, entry_serial, known in self.by_camera:
                if entry_serial == wanted_serial and same_camera(name, entry_serial, camera, serial):
                    return known
        return None


# -- sync points (the map page's "Fix this camera's clock") ----------------------------------------


@dataclass(frozen=True)
class SyncPoint:
    """A photo's true time, given by a person: its camera's wall clock then maps to UTC by `delta_s`
    for the camera's photos of `first_day` to `last_day` (wall-clock days)."""

    photo_id: str
    name: str  # the photo's file name, for the reasons
    camera: str
    serial: str | None
    wall: datetime  # naive: the photo's wall clock as its camera wrote it
    utc: datetime  # aware: the true time
    first_day: date
    last_day: date

    @property
    def delta_s(self) -> float:
        """Seconds added to the wall clock (read as if it were UTC) to give the true UTC time."""
        return (self.utc - self.wall.replace(tzinfo=UTC)).total_seconds()

    def covers(self, camera: str | None, serial: str | None, day: date) -> bool:
        return self.first_day <= day <= self.last_day and same_camera(self.camera, self.serial, camera, serial)


def split_delta(delta_s: float) -> tuple[float, float]:
    """A sync's delta as (the camera's UTC offset, to the quarter hour; its clock's error, what is
    added to its wall clock to give the true time there): cameras are set to a zone's time, give
    or take minutes. A clock 1 min 12 s slow in UTC+02:00 has a delta of -2 h + 1 min 12 s."""
    zone = -QUARTER_HOUR_S * round(delta_s / QUARTER_HOUR_S)
    return zone, delta_s + zone


@dataclass(frozen=True)
class ClockCorrection:
    """How one photo's wall clock maps to UTC, and why."""

    delta_s: float
    decision: str

    def utc(self, wall: datetime) -> datetime:
        return wall.replace(tzinfo=UTC) + timedelta(seconds=self.delta_s)


def interpolated_delta(points: Iterable[tuple[float, float]], t: float) -> float:
    """exiftool's ApplySyncCorr: (image time, offset) points sorted by time, the two nearest
    around `t` found by bisection, their offsets interpolated linearly (extrapolated beyond the
    first and last two); one point's offset alone is constant."""
    ordered = sorted(dict(points).items())
    times = [time for time, _ in ordered]
    if not times:
        raise ValueError("no sync point")
    i1 = min(max(bisect.bisect_right(times, t), 1), len(times) - 1) if len(times) > 1 else 0
    i0 = max(i1 - 1, 0)
    (t0, o0), (t1, o1) = ordered[i0], ordered[i1]
    f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
    return o1 * f + o0 * (1 - f)


@dataclass(frozen=True)
class ClockFixes:
    """Every sync point made, immutable: a change makes a new one (`with_point`)."""

    points: tuple[SyncPoint, ...] = ()

    def with_point(self, point: SyncPoint) -> ClockFixes:
        """With `point`, replacing the sync point made earlier on the same photo."""
        return ClockFixes((*(p for p in self.points if p.photo_id != point.photo_id), point))

    def correction(self, camera: str | None, serial: str | None, wall: datetime | None) -> ClockCorrection | None:
        """How the photo taken at `wall` by `camera` maps to UTC, or None when no sync point covers it."""
        if wall is None or camera is None:
            return None
        found = [p for p in self.points if p.covers(camera, serial, wall.date())]
        if not found:
            return None
        by_wall = {p.wall: p for p in found}  # a later sync at the same wall clock replaces an earlier one
        t = wall.replace(tzinfo=UTC).timestamp()
        delta = interpolated_delta(((w.replace(tzinfo=UTC).timestamp(), p.delta_s) for w, p in by_wall.items()), t)
        return ClockCorrection(delta, _why(camera_label(camera, serial), delta, list(by_wall.values())))


def _why(camera: str, delta_s: float, points: list[SyncPoint]) -> str:
    zone, error = split_delta(delta_s)
    if len(points) == 1:
        source = f"{points[0].name}'s sync (true time {points[0].utc:%Y-%m-%d %H:%M:%S}Z)"
    else:
        syncs = sorted(points, key=lambda p: p.wall)
        source = "the drift between the syncs of " + ", ".join(f"{p.name} ({show_shift(split_delta(p.delta_s)[1])})" for p in syncs)
    return f"clock corrected by {show_shift(error)} from {source}: {camera}'s wall clock read as {show_zone(zone)}"


# -- what a sync changes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Retimed:
    """One photo a sync gives a new time in UTC."""

    id: str
    name: str
    before: datetime | None  # its time in UTC until now (None: it had none)
    after: datetime

    @property
    def shift_s(self) -> float | None:
        return (self.after - self.before).total_seconds() if self.before is not None else None


@dataclass(frozen=True)
class ClockPlan:
    """A sync point about to be given, and the photos of its camera it retimes."""

    point: SyncPoint
    fixes: ClockFixes  # every sync point, this one included
    photos: tuple[Retimed, ...]

    def summary(self) -> dict[str, object]:
        """What the map page shows before the change is applied: how many photos move, by how much."""
        point = self.point
        shifts = sorted(s for r in self.photos if (s := r.shift_s) is not None)
        first = sum(1 for r in self.photos if r.before is None)
        days = f"on {point.first_day}" if point.first_day == point.last_day else f"from {point.first_day} to {point.last_day}"
        camera = camera_label(point.camera, point.serial)
        moved = len(shifts)
        by = (show_shift(shifts[0]) if shifts[0] == shifts[-1] else f"{show_shift(shifts[0])} to {show_shift(shifts[-1])}") if shifts else None
        parts = [f"{moved} photo(s) of {camera} {days} move by {by}" if moved else f"no photo of {camera} {days} moves in time"]
        if first:
            parts.append(f"{first} without a time in UTC get one")
        zone, error = split_delta(point.delta_s)
        return {
            "camera": camera, "photo": point.name, "wall": point.wall.isoformat(), "utc": point.utc.isoformat(),
            "first_day": point.first_day.isoformat(), "last_day": point.last_day.isoformat(),
            "clock": f"{show_shift(error)} ({show_zone(zone)})", "photos": len(self.photos), "moved": moved, "first_time": first,
            "shift_min_s": shifts[0] if shifts else None, "shift_max_s": shifts[-1] if shifts else None, "message": "; ".join(parts) + ".",
        }  # fmt: skip
