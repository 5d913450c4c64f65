"""Placing a photo from located photos taken just before and after it (pure).

PhotoPrism places a photo at the two nearest located photos within ±37 h, and its users report
the false positives that gives (photoprism#416). The rules here are stricter:
  - the same camera with a located photo at most `same_camera_s` (10 min) away is enough,
    unless another located photo within that time disagrees with it;
  - otherwise located photos on both sides, each at most `both_sides_s` (30 min) away, that
    agree with each other (within `agree_km`), place it by time interpolation between them;
  - photos from another calendar day, or neighbours that disagree, never place it;
  - only locations from the file, a track or a manual fix count: an AI estimate or another
    nearby placement never propagates.
A photo whose time in UTC is unknown (a camera that records no time zone, no GPS, no track) is
still placed by the same camera's located photos (`place_by_camera_clock`): one camera has one
clock, so its own wall-clock times compare without a zone. Only the same-camera rule applies
there; the both-sides rule needs real time, as different cameras' clocks do not compare.
One camera is the same make and model and, when both photos give one, the same body serial.
Every outcome carries the reasons, in order, as AI decisions do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from geolocator.locate.places.index import haversine_km
from geolocator.record import PhotoRecord, Source


@dataclass(frozen=True)
class NearbyRules:
    same_camera_s: float = 600.0
    both_sides_s: float = 1800.0
    agree_km: float = 1.0
    assumed_speed_m_s: float = 1.4  # how far one walks from a neighbour, for the radius
    min_radius_km: float = 0.05
    sources: frozenset[Source] = frozenset({Source.EXIF, Source.TRACK, Source.MANUAL})


@dataclass(frozen=True)
class Neighbour:
    """A located photo that may place another."""

    id: str
    utc: datetime | None  # aware; None when no basis gave its time in UTC
    local_day: date  # the calendar day of its wall clock (CaptureTime.local_day)
    camera: str | None
    lat: float
    lon: float
    source: Source
    radius_km: float | None = None
    local: datetime | None = None  # its camera's wall clock as written (naive), when it has one
    serial: str | None = None  # its camera's body serial number


def same_camera(a: str | None, a_serial: str | None, b: str | None, b_serial: str | None) -> bool:
    """Whether two photos come from one camera: the same make and model, and not two different
    body serial numbers (a photo read before serials were kept, or from software that drops
    them, has none: then the model decides)."""
    if a is None or b is None or a.strip().casefold() != b.strip().casefold():
        return False
    return a_serial is None or b_serial is None or a_serial.strip() == b_serial.strip()


def camera_label(camera: str, serial: str | None) -> str:
    """How a camera is named to people: "Canon EOS 40D #0820500998", or the model alone."""
    return f"{camera} #{serial}" if serial else camera


@dataclass(frozen=True)
class NearbyPlacement:
    lat: float | None
    lon: float | None
    radius_km: float | None
    used: tuple[str, ...]  # ids of the neighbours the position comes from
    decisions: tuple[str, ...]

    @property
    def placed(self) -> bool:
        return self.lat is not None and self.lon is not None


def neighbour_from_record(record: PhotoRecord) -> Neighbour | None:
    """The record as a neighbour, or None when it has no location or source, or neither a UTC
    time nor a wall clock. Its day is its wall clock's (`taken_at`), as `CaptureTime.local_day`
    gives for the photo."""
    if record.lat is None or record.lon is None or record.source is None:
        return None
    utc = datetime.fromisoformat(record.taken_utc) if record.taken_utc else None
    local = wall_clock(record.taken_at)
    day = local.date() if local is not None else utc.date() if utc is not None else None
    if day is None:
        return None
    return Neighbour(record.id, utc, day, record.camera, record.lat, record.lon, record.source, record.radius_km, local, record.camera_serial)


def wall_clock(taken_at: str | None) -> datetime | None:
    """The wall clock of a metadata time ("2024-06-01T12:00:00+02:00" -> 12:00, naive), or None
    (also for a date alone: no time of day to go by)."""
    if not taken_at or is_date_only(taken_at):
        return None
    try:
        return datetime.fromisoformat(taken_at).replace(tzinfo=None)
    except ValueError:
        return None


def is_date_only(taken_at: str | None) -> bool:
    """Whether a `taken_at` is a day alone ("2024-06-15", from a WhatsApp file name): no time to
    place the photo by."""
    return taken_at is not None and len(taken_at) == len("2024-06-15")


def place_nearby(
    utc: datetime, local_day: date, camera: str | None, neighbours: Iterable[Neighbour], rules: NearbyRules = NearbyRules(), serial: str | None = None
) -> NearbyPlacement:
    """Where the photo taken at `utc` (aware), on `local_day`, with `camera` (and its body
    `serial`), was, judged from `neighbours` (the photo itself excluded), or an unplaced result
    saying why not. Neighbours without a UTC time are not compared."""
    decisions: list[str] = []
    window = max(rules.same_camera_s, rules.both_sides_s)
    near: list[tuple[float, Neighbour]] = []
    other_day = 0
    weak: list[Source] = []
    for n in neighbours:
        if n.utc is None:
            continue
        dt = (n.utc - utc).total_seconds()
        if abs(dt) > window:
            continue
        if n.source not in rules.sources:
            weak.append(n.source)
        elif n.local_day != local_day:
            other_day += 1
        else:
            near.append((dt, n))
    if weak:
        decisions.append(f"{len(weak)} neighbour(s) within {window / 60:.0f} min located by {'/'.join(sorted({s.value for s in weak}))}: not used")
    if other_day:
        decisions.append(f"{other_day} neighbour(s) within {window / 60:.0f} min taken on another day than {local_day}: not used")
    if camera is not None:
        same = [(dt, n) for dt, n in near if abs(dt) <= rules.same_camera_s and same_camera(n.camera, n.serial, camera, serial)]
        if same:
            return _same_camera_rule(same, [(dt, n) for dt, n in near if abs(dt) <= rules.same_camera_s], rules, decisions, "same camera")
        decisions.append(f"no located photo from {camera_label(camera, serial)} within {rules.same_camera_s / 60:.0f} min")
    return _both_sides_rule([(dt, n) for dt, n in near if abs(dt) <= rules.both_sides_s], rules, decisions)


def place_by_camera_clock(local: datetime, camera: str | None, neighbours: Iterable[Neighbour], rules: NearbyRules = NearbyRules(), serial: str | None = None) -> NearbyPlacement:
    """Where a photo whose UTC time is unknown was, from located photos of the same camera
    (`camera`, `serial`) whose wall clocks are within `same_camera_s` of its own (`local`, naive)
    on the same calendar day: their times, and its, are the same clock's. Other cameras are
    never compared (their clocks are others)."""
    if camera is None:
        return _unplaced(("no camera named in the file: the time neighbours of a photo without a UTC time must be the same camera's",))
    decisions: list[str] = []
    same: list[tuple[float, Neighbour]] = []
    other_day = 0
    weak: list[Source] = []
    for n in neighbours:
        if n.local is None or not same_camera(n.camera, n.serial, camera, serial):
            continue
        dt = (n.local - local).total_seconds()
        if abs(dt) > rules.same_camera_s:
            continue
        if n.source not in rules.sources:
            weak.append(n.source)
        elif n.local.date() != local.date():
            other_day += 1
        else:
            same.append((dt, n))
    minutes = f"{rules.same_camera_s / 60:.0f} min"
    if weak:
        decisions.append(f"{len(weak)} photo(s) of the same camera within {minutes} located by {'/'.join(sorted({s.value for s in weak}))}: not used")
    if other_day:
        decisions.append(f"{other_day} photo(s) of the same camera within {minutes} taken on another day than {local.date()}: not used")
    if not same:
        decisions.append(f"no located photo from {camera_label(camera, serial)} within {minutes} by the camera's own clock: not placed")
        return _unplaced(decisions)
    return _same_camera_rule(same, same, rules, decisions, "same camera's clock")


def _same_camera_rule(same: list[tuple[float, Neighbour]], close: list[tuple[float, Neighbour]], rules: NearbyRules, decisions: list[str], label: str) -> NearbyPlacement:
    before = _nearest([p for p in same if p[0] <= 0])
    after = _nearest([p for p in same if p[0] >= 0])
    if before is not None and after is not None and before[1] is not after[1]:
        return _between(before, after, rules, decisions, f"{label} on both sides")
    dt, anchor = before or after or same[0]
    for other_dt, other in close:
        km = _km(anchor, other)
        if km > rules.agree_km:
            decisions.append(f"{_describe(other_dt, other)} is {km:.1f} km from {_describe(dt, anchor)}: neighbours disagree, not placed")
            return _unplaced(decisions)
    radius = max(rules.min_radius_km, anchor.radius_km or 0.0) + abs(dt) * rules.assumed_speed_m_s / 1000
    decisions.append(f"{label}: at {_describe(dt, anchor)}")
    return NearbyPlacement(anchor.lat, anchor.lon, radius, (anchor.id,), tuple(decisions))


def _both_sides_rule(near: list[tuple[float, Neighbour]], rules: NearbyRules, decisions: list[str]) -> NearbyPlacement:
    before = _nearest([p for p in near if p[0] <= 0])
    after = _nearest([p for p in near if p[0] >= 0])
    if before is None or after is None:
        side = "before" if after is not None else "after" if before is not None else "before or after"
        decisions.append(f"no located photo {side} within {rules.both_sides_s / 60:.0f} min on the same day: not placed")
        return _unplaced(decisions)
    return _between(before, after, rules, decisions, "located photos on both sides")


def _between(before: tuple[float, Neighbour], after: tuple[float, Neighbour], rules: NearbyRules, decisions: list[str], label: str) -> NearbyPlacement:
    (dt_b, b), (dt_a, a) = before, after
    km = _km(b, a)
    if km > rules.agree_km:
        decisions.append(f"{_describe(dt_b, b)} and {_describe(dt_a, a)} are {km:.1f} km apart (more than {rules.agree_km:g} km): neighbours disagree, not placed")
        return _unplaced(decisions)
    span = dt_a - dt_b
    f = -dt_b / span if span > 0 else 0.0
    lat, lon = b.lat + f * (a.lat - b.lat), b.lon + f * (a.lon - b.lon)  # within ~1 km: flat is exact enough
    radius = max(rules.min_radius_km, km / 2) + max(b.radius_km or 0.0, a.radius_km or 0.0)
    decisions.append(f"{label}: between {_describe(dt_b, b)} and {_describe(dt_a, a)}, {km:.2f} km apart, by time")
    return NearbyPlacement(lat, lon, radius, tuple(dict.fromkeys((b.id, a.id))), tuple(decisions))


def _nearest(pairs: list[tuple[float, Neighbour]]) -> tuple[float, Neighbour] | None:
    return min(pairs, key=lambda p: abs(p[0]), default=None)


def _km(a: Neighbour, b: Neighbour) -> float:
    return haversine_km(a.lat, a.lon, b.lat, b.lon)


def _describe(dt: float, n: Neighbour) -> str:
    when = "the same second" if dt == 0 else f"{abs(dt) / 60:.1f} min {'after' if dt > 0 else 'before'}"
    return f"photo {n.id} ({n.source.value}, {n.camera or 'unknown camera'}, {when})"


def _unplaced(decisions: Sequence[str]) -> NearbyPlacement:
    return NearbyPlacement(None, None, None, (), tuple(decisions))
