"""Placing photos that carry no location: capture time in UTC, then GPS tracks, then photos
taken around the same time; the AI only for what none of them place. And placing again when a
track or a located photo arrives after the photos it covers (order never matters).

`judge` is the decision for one record, given lookups for tracks and neighbours (no I/O of its
own). `Placer` wires it to the track store and the record store: a time index of records for
the neighbours, and what to place again when something changes, as `Relocation`s that
`Locations.apply` writes under the ranking as each record stands at the moment of writing (a
manual fix or a location from the file made meanwhile is never overwritten). The Placer itself
writes only capture times (`_zone`, `_retime`), never a location.

One Placer per process, in the `Core`: the map page's fixes and reverts go through the same one
as ingest, so a photo placed by hand is at once a time neighbour of the photos filed next, and
the tracks are those ingest knows.

A photo whose time in UTC nothing gives is still compared with the same camera's located photos
by their wall clocks (`nearby.place_by_camera_clock`): a second index, by camera and wall clock,
holds the photos without a UTC time. The sync points people give for a camera's clock
(`clocks.ClockFixes`, kept on the photos they were made on) time that camera's photos of their
days first of all; `clock_plan` and `clock_fixed` retime and place them again.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from geolocator.config import LocationConfig, parse_utc_offset
from geolocator.locate.tracks.interpolate import MatchRules, locate_on_tracks
from geolocator.locate.tracks.model import Track
from geolocator.locate.tracks.store import TrackStore
from geolocator.locations import history
from geolocator.locations.capture_time import MAX_OFFSET, CaptureTime, TimeBasis, ZoneAt, capture_time, zone_at
from geolocator.locations.clocks import ClockFixes, ClockPlan, KnownOffsets, Retimed, SyncPoint
from geolocator.locations.nearby import NearbyRules, Neighbour, is_date_only, neighbour_from_record, place_by_camera_clock, place_nearby, same_camera, wall_clock
from geolocator.locations.ranking import rank
from geolocator.locations.relocation import Relocation, point_of
from geolocator.record import NOWHERE, PLACEABLE, Location, PhotoRecord, Source, Status
from geolocator.record.store import Store

if TYPE_CHECKING:
    from geolocator.locate.places import PlaceName

log = logging.getLogger(__name__)

Tracks = Callable[[datetime, datetime], Sequence[Track]]  # tracks with points between two UTC times
Neighbours = Callable[[datetime, float, str], Iterable[Neighbour]]  # (utc, seconds either side, own id)
CameraNeighbours = Callable[[PhotoRecord], Iterable[Neighbour]]  # located photos of its camera near its wall clock
NO_LONGER_PLACED = "the photos taken around it no longer place it"
NO_TRACK_ANY_MORE = "no track covers its corrected time any more"
NO_FIXES = ClockFixes()


def no_camera_neighbours(record: PhotoRecord) -> list[Neighbour]:
    return []


@dataclass(frozen=True)
class LocationRules:
    match: MatchRules = field(default_factory=MatchRules)
    nearby: NearbyRules = field(default_factory=NearbyRules)
    camera_utc_offset: timedelta | None = None
    known: KnownOffsets = field(default_factory=KnownOffsets)  # [location] camera_offsets

    @classmethod
    def from_config(cls, location: LocationConfig) -> LocationRules:
        return cls(
            MatchRules(max_interpolation_s=location.max_gap_minutes * 60, max_extrapolation_s=location.beyond_minutes * 60),
            NearbyRules(same_camera_s=location.same_camera_minutes * 60, both_sides_s=location.both_sides_minutes * 60, agree_km=location.agree_km),
            parse_utc_offset(location.camera_utc_offset) if location.camera_utc_offset else None,
            KnownOffsets.parse(dict(location.camera_offsets)),
        )

    @property
    def window_s(self) -> float:
        return max(self.nearby.same_camera_s, self.nearby.both_sides_s)


def own_position(record: PhotoRecord) -> tuple[float, float] | None:
    """Where a photo located by its file or by hand was: the zone there gives its UTC offset."""
    own = record.source in (Source.EXIF, Source.MANUAL)
    return (record.lat, record.lon) if own and record.lat is not None and record.lon is not None else None


def when_taken(
    record: PhotoRecord, gps_utc: datetime | None, tracks: Tracks, rules: LocationRules, zones: ZoneAt, *, own_zone: bool = True, fixes: ClockFixes = NO_FIXES
) -> CaptureTime | None:
    """The record's capture time in UTC. A GPS time stamp read at import is kept as `taken_utc`
    with basis gps_time (the file is not read again later), so it is passed back in as one.
    `own_zone`: the zone at the photo's own position may be looked up (`own_position`);
    `fixes`: the sync points given for camera clocks. A time that came from elsewhere than the
    file (its name, its original: `time_source`) says so first; one its name gives in UTC is
    kept as it is (basis file_name)."""
    came = (f"capture time from {record.time_source}",) if record.time_source else ()
    if record.time_basis == TimeBasis.FILE_NAME.value and record.taken_utc:
        return CaptureTime(datetime.fromisoformat(record.taken_utc), TimeBasis.FILE_NAME, None, came)
    if gps_utc is None and record.time_basis == TimeBasis.GPS_TIME.value and record.taken_utc:
        gps_utc = datetime.fromisoformat(record.taken_utc)
    local = wall_clock(record.taken_at)
    clock = fixes.correction(record.camera, record.camera_serial, local)
    known = rules.known.of(record.camera, record.camera_serial)
    candidates: Sequence[Track] = ()
    if local is not None and clock is None:
        wall = local.replace(tzinfo=UTC) + (known.offset if known else timedelta(0))
        reach = MAX_OFFSET + timedelta(seconds=rules.match.max_extrapolation_s)
        candidates = tracks(wall - reach, wall + reach)
    position = own_position(record) if own_zone else None
    when = capture_time(
        record.taken_at, gps_utc=gps_utc, position=position, tracks=candidates, zone_at=zones, camera_utc_offset=rules.camera_utc_offset, rules=rules.match,
        clock=clock, known=known,
    )  # fmt: skip
    return dataclasses.replace(when, decisions=(*came, *when.decisions)) if when is not None and came else when


@dataclass(frozen=True)
class Judgement:
    """Where `judge` puts a photo: a position with its source, or none (with the reasons)."""

    when: CaptureTime | None
    source: Source | None
    lat: float | None = None
    lon: float | None = None
    altitude: float | None = None
    radius_km: float | None = None
    decisions: tuple[str, ...] = ()

    @property
    def time(self) -> tuple[str | None, str | None] | None:
        """(taken_utc, time_basis) found, or None when no basis gave one."""
        return (self.when.utc.isoformat(), self.when.basis.value) if self.when is not None else None


def judge(
    record: PhotoRecord, gps_utc: datetime | None, tracks: Tracks, neighbours: Neighbours, rules: LocationRules, zones: ZoneAt = zone_at, *,
    fixes: ClockFixes = NO_FIXES, camera_neighbours: CameraNeighbours = no_camera_neighbours,
) -> Judgement:  # fmt: skip
    """Capture time in UTC, then the tracks, then the time neighbours, each decision recorded.
    Without a UTC time, the same camera's located photos near its wall clock
    (`camera_neighbours`) may still place it."""
    when = when_taken(record, gps_utc, tracks, rules, zones, fixes=fixes)
    if when is None:
        local = wall_clock(record.taken_at)
        if local is None:
            return Judgement(None, None, decisions=(_untimed(record),))
        why = "no capture time in UTC: no offset in the file, no GPS time stamp, no track covering its wall clock, no [location] camera_utc_offset"
        near = place_by_camera_clock(local, record.camera, camera_neighbours(record), rules.nearby, record.camera_serial)
        if near.placed:
            return Judgement(None, Source.NEARBY, near.lat, near.lon, None, near.radius_km, (why, *near.decisions))
        return Judgement(None, None, decisions=(why, *near.decisions))
    decisions = list(when.decisions)
    margin = timedelta(seconds=rules.match.max_extrapolation_s)
    fix = locate_on_tracks(tracks(when.utc - margin, when.utc + margin), when.utc, rules.match)
    if fix is not None:
        return Judgement(when, Source.TRACK, fix.lat, fix.lon, fix.elevation, fix.radius_km, (*decisions, *fix.decisions))
    decisions.append(f"no track covers {when.utc:%Y-%m-%d %H:%M:%S}Z")
    near = place_nearby(when.utc, when.local_day, record.camera, neighbours(when.utc, rules.window_s, record.id), rules.nearby, record.camera_serial)
    decisions.extend(near.decisions)
    if near.placed:
        return Judgement(when, Source.NEARBY, near.lat, near.lon, None, near.radius_km, tuple(decisions))
    return Judgement(when, None, decisions=tuple(decisions))


def _untimed(record: PhotoRecord) -> str:
    """Why a photo has no time of day to place it by."""
    if is_date_only(record.taken_at):
        return f"only a date, from {record.time_source or 'the file'}: filed under its month, not placed by time"
    return "no capture time in the file"


def with_time(record: PhotoRecord, judgement: Judgement) -> PhotoRecord:
    """`record` with the capture time the judgement found and its reasons."""
    time = judgement.time
    if time is None:
        return dataclasses.replace(record, decisions=judgement.decisions)
    return dataclasses.replace(record, taken_utc=time[0], time_basis=time[1], decisions=judgement.decisions)


def _wall(record: PhotoRecord) -> float | None:
    """The record's wall clock read as if it were UTC, as a timestamp (None without one)."""
    local = wall_clock(record.taken_at)
    return local.replace(tzinfo=UTC).timestamp() if local is not None else None


def _weak(record: PhotoRecord) -> bool:
    """Whether only an AI estimate, or nothing, places the photo (a neighbour's location outranks it)."""
    return record.status in PLACEABLE and rank(record.source) < rank(Source.NEARBY)


def _camera_key(record: PhotoRecord) -> str | None:
    return record.camera.strip().casefold() if record.camera else None


def sync_point(record: PhotoRecord) -> SyncPoint | None:
    """The sync point a person gave on this photo, or None."""
    sync, local = record.clock_sync, wall_clock(record.taken_at)
    if sync is None or local is None or record.camera is None:
        return None
    return SyncPoint(
        record.id, record.name, record.camera, record.camera_serial, local, datetime.fromisoformat(sync.utc),
        date.fromisoformat(sync.first_day), date.fromisoformat(sync.last_day),
    )  # fmt: skip


class Placer:
    """Places photos from tracks and neighbours, now and whenever a new one arrives.

    A located photo whose file gives no UTC offset gets its UTC time from the zone at its own
    position only when a photo near it in time needs it as a neighbour: timezonefinder loads
    numpy and its boundaries (~100 ms), which filing photos that all carry GPS never needs.
    Until then it waits in `_unzoned`, by its wall clock."""

    def __init__(
        self, store: Store, tracks: TrackStore, rules: LocationRules, describe: Callable[[float, float], PlaceName], zones: ZoneAt = zone_at, *, unplaced: Status = Status.PENDING
    ) -> None:
        """`unplaced`: the status of a photo nothing places any more (PENDING for the AI; UNLOCATED when it is off)."""
        self.store = store
        self.unplaced = unplaced
        self.tracks = tracks
        self.rules = rules
        self._describe = describe
        self._zones = zones
        self._lock = threading.Lock()
        # Both by time, made from the store at first use (`_indexed`): ~0.25 s at 100k photos that
        # start-up does not wait for; the first photo filed does. Then kept current photo by photo.
        self._times: list[tuple[float, str]] = []
        self._unzoned: list[tuple[float, str]] = []
        # By camera (make and model, case folded) and wall clock: every photo of the cameras that
        # have photos without a UTC time (compacts recording no zone), which compare by the
        # camera's clock alone. Other cameras' photos (phones: all timed) are not kept here.
        self._walls: dict[str, list[tuple[float, str]]] = {}
        self._fixes = NO_FIXES  # the sync points given for camera clocks (kept on their photos)
        # The photos that only an AI estimate, or nothing, places (`_weak`): the ones a newly
        # located photo may place. While there are none, it looks for none of its neighbours.
        self._weak: set[str] = set()
        self._indexed = False

    # -- lookups -----------------------------------------------------------------------------------
    def _ensure_indexed(self) -> None:
        """Make `_times`, `_unzoned`, `_walls` and the sync points (`_fixes`) from the store, once.
        The caller holds `_lock`; the store's lock is taken inside it, never the other way round
        (store changes are pure functions)."""
        if self._indexed:
            return
        records = self.store.all()
        self._times = sorted((datetime.fromisoformat(r.taken_utc).timestamp(), r.id) for r in records if r.taken_utc and r.status in PLACEABLE)
        self._unzoned = sorted((wall, r.id) for r in records if (wall := self._zoneable(r)) is not None)
        clockless = {key for r in records if not r.taken_utc and r.status in PLACEABLE and (key := _camera_key(r)) is not None}
        walls: dict[str, list[tuple[float, str]]] = {key: [] for key in clockless}
        keys: dict[str, str] = {}  # camera as written -> its key: a library has few cameras
        for record in records if walls else ():
            camera = record.camera
            entries = walls.get(keys.get(camera) or keys.setdefault(camera, camera.strip().casefold())) if camera else None
            if entries is not None and record.status in PLACEABLE and (wall := _wall(record)) is not None:
                entries.append((wall, record.id))
        self._walls = {key: sorted(entries) for key, entries in walls.items()}
        self._fixes = ClockFixes(tuple(point for r in records if r.clock_sync is not None and (point := sync_point(r)) is not None))
        self._weak = {r.id for r in records if _weak(r)}
        self._indexed = True

    def _camera_walls(self, key: str) -> list[tuple[float, str]]:
        """The wall-clock index of a camera's photos, made from the store the first time one of its
        photos has no UTC time (then kept by `_index`). The caller holds `_lock`."""
        walls = self._walls.get(key)
        if walls is None:
            found = ((wall, r.id) for r in self.store.all() if r.status in PLACEABLE and _camera_key(r) == key and (wall := _wall(r)) is not None)
            walls = self._walls[key] = sorted(found)
        return walls

    @property
    def fixes(self) -> ClockFixes:
        """The sync points given for camera clocks."""
        with self._lock:
            self._ensure_indexed()
            return self._fixes

    def indexed(self, records: Iterable[PhotoRecord]) -> None:
        """Keep the time index current with records as stored (placed, or given a time)."""
        for record in records:
            self._index(record)

    def _index(self, record: PhotoRecord) -> None:
        key, wall = _camera_key(record), _wall(record)
        with self._lock:
            self._ensure_indexed()
            if _weak(record):
                self._weak.add(record.id)
            else:
                self._weak.discard(record.id)
            if record.taken_utc:
                _insert(self._times, (datetime.fromisoformat(record.taken_utc).timestamp(), record.id))
            if key is not None and wall is not None and record.status in PLACEABLE and (not record.taken_utc or key in self._walls):
                _insert(self._camera_walls(key), (wall, record.id))

    @staticmethod
    def _zoneable(record: PhotoRecord) -> float | None:
        """The wall clock of a located photo whose UTC time its own zone will give, else None."""
        if record.status is not Status.LOCATED or record.taken_utc or own_position(record) is None:
            return None
        return _wall(record)

    def _zone_around(self, utc: datetime, seconds: float) -> None:
        """Give the located photos whose wall clock may be within `seconds` of `utc` (any offset)
        their UTC time, from the zone at their own position, stored with that basis."""
        t, reach = utc.timestamp(), seconds + MAX_OFFSET.total_seconds()
        with self._lock:
            self._ensure_indexed()
            lo = bisect.bisect_left(self._unzoned, (t - reach, ""))
            hi = bisect.bisect_right(self._unzoned, (t + reach, "\uffff"))
            found = self._unzoned[lo:hi]
        for entry in found:
            if self._zone(entry[1]) is None:
                continue  # not stored yet (being filed): kept for later
            with self._lock:
                at = bisect.bisect_left(self._unzoned, entry)
                if at < len(self._unzoned) and self._unzoned[at] == entry:
                    del self._unzoned[at]

    def _zone(self, record_id: str) -> PhotoRecord | None:
        """The stored record with its UTC time from its own zone, when it has none yet and a
        zone is known there; None when it is not stored."""
        record = self.store.get(record_id)
        position = own_position(record) if record is not None else None
        if record is None or position is None or record.taken_utc:
            return record
        when = capture_time(
            record.taken_at, position=position, zone_at=self._zones,
            clock=self.fixes.correction(record.camera, record.camera_serial, wall_clock(record.taken_at)), known=self.rules.known.of(record.camera, record.camera_serial),
        )  # fmt: skip
        if when is None:
            return record

        def change(current: PhotoRecord | None) -> PhotoRecord | None:
            if current is None or current.taken_utc or (current.lat, current.lon) != position:
                return None
            return dataclasses.replace(current, taken_utc=when.utc.isoformat(), time_basis=when.basis.value, decisions=(*current.decisions, *when.decisions))

        stored = self.store.update(record_id, change)
        if stored is not None:
            self._index(stored)
        return stored

    def _ids_around(self, utc: datetime, seconds: float) -> list[str]:
        t = utc.timestamp()
        with self._lock:
            self._ensure_indexed()
            lo = bisect.bisect_left(self._times, (t - seconds, ""))
            hi = bisect.bisect_right(self._times, (t + seconds, "\uffff"))
            return list(dict.fromkeys(rid for _, rid in self._times[lo:hi]))

    def neighbours(self, utc: datetime, seconds: float, own_id: str) -> list[Neighbour]:
        """Located photos taken within `seconds` of `utc`, as they stand now."""
        self._zone_around(utc, seconds)
        found = []
        for rid in self._ids_around(utc, seconds):
            record = self.store.get(rid)
            if rid == own_id or record is None or record.status is not Status.LOCATED:
                continue
            neighbour = neighbour_from_record(record)
            if neighbour is not None:
                found.append(neighbour)
        return found

    def camera_neighbours(self, record: PhotoRecord) -> list[Neighbour]:
        """Located photos of the record's camera whose wall clocks are within the same-camera
        window of its own, as they stand now (the camera's wall-clock index)."""
        local, key = wall_clock(record.taken_at), _camera_key(record)
        if local is None or key is None:
            return []
        t, seconds = local.replace(tzinfo=UTC).timestamp(), self.rules.nearby.same_camera_s
        with self._lock:
            self._ensure_indexed()
            ids = [rid for _, rid in _between(self._camera_walls(key), t - seconds, t + seconds)]
        found = []
        for rid in dict.fromkeys(ids):
            other = self.store.get(rid)
            if rid == record.id or other is None or other.status is not Status.LOCATED:
                continue
            if not same_camera(other.camera, other.camera_serial, record.camera, record.camera_serial):
                continue
            neighbour = neighbour_from_record(other)
            if neighbour is not None and neighbour.local is not None and abs((neighbour.local - local).total_seconds()) <= seconds:
                found.append(neighbour)
        return found

    def _same_clock_ids(self, record: PhotoRecord) -> list[str]:
        """The photos without a UTC time of the record's camera whose wall clocks are within the
        same-camera window of its own (the record itself left out)."""
        wall, key = _wall(record), _camera_key(record)
        if wall is None or key is None:
            return []
        seconds = self.rules.nearby.same_camera_s
        with self._lock:
            self._ensure_indexed()
            ids = [rid for _, rid in _between(self._walls.get(key, []), wall - seconds, wall + seconds) if rid != record.id]
        return [rid for rid in ids if (other := self.store.get(rid)) is not None and not other.taken_utc]

    def judge(self, record: PhotoRecord, gps_utc: datetime | None = None) -> Judgement:
        return judge(record, gps_utc, self.tracks.around, self.neighbours, self.rules, self._zones, fixes=self.fixes, camera_neighbours=self.camera_neighbours)

    # -- a photo being imported --------------------------------------------------------------------
    def place_new(self, record: PhotoRecord, gps_utc: datetime | None) -> Judgement | None:
        """How a freshly read photo (not stored yet) is placed: its capture time in UTC and, when
        the file gave no location, a position from a track or its neighbours. None for a file we
        do not place. A photo located by its file is only timed (to be a neighbour); its own
        zone is looked up once a neighbour needs it."""
        if record.status not in PLACEABLE:
            return None
        if record.source is not None:
            when = when_taken(record, gps_utc, self.tracks.around, self.rules, self._zones, own_zone=False, fixes=self.fixes)
            judgement = Judgement(when, None, decisions=(*record.decisions, *(when.decisions if when is not None else ())))
            wall = self._zoneable(with_time(record, judgement))
            if wall is not None:
                with self._lock:
                    self._ensure_indexed()
                    bisect.insort(self._unzoned, (wall, record.id))
            return judgement
        return self.judge(record, gps_utc)

    def relocation(self, record: PhotoRecord, judgement: Judgement, *, judged: bool = False) -> Relocation | None:
        """The change that places `record` as judged, or None when the judgement places nothing.
        `judged`: apply it only if the record still stands as it was judged."""
        if judgement.source is None or judgement.lat is None or judgement.lon is None:
            return None
        altitude = judgement.altitude if judgement.altitude is not None else record.altitude
        location = self.named(Location(judgement.source, judgement.lat, judgement.lon, altitude, radius_km=judgement.radius_km))
        return Relocation(
            record.id, location, by=judgement.source.value, decisions=judgement.decisions, time=judgement.time,
            judged=point_of(record) if judged else None, more=_without_estimate_text,
        )  # fmt: skip

    def named(self, location: Location) -> Location:
        """`location` with its place's name and fields (a place name is a nicety: never lose the
        placement over it)."""
        if location.lat is None or location.lon is None:
            return location
        try:
            name = self._describe(location.lat, location.lon)
        except Exception:
            log.exception("could not name the place at %s,%s", location.lat, location.lon)
            return location
        return dataclasses.replace(location, place=name.label, city=name.city, region=name.region, country_code=name.country_code)

    # -- placing again ---------------------------------------------------------------------------
    def replace(self, record_id: str) -> Relocation | None:
        """A stored photo judged again: the change that places it, if the judgement outranks its
        location (applied only if it still does at the moment of writing)."""
        record = self.store.get(record_id)
        if record is None or record.status not in PLACEABLE or rank(record.source) >= rank(Source.TRACK):
            return None
        judgement = self.judge(record)
        if judgement.source is None or judgement.source in record.declined or rank(judgement.source) <= rank(record.source):
            return None
        return self.relocation(record, judgement)

    def photo_filed(self, record_id: str) -> list[Relocation]:
        """After a photo is filed: judge it again (a track or neighbour may have come while it was
        being read), then place again its neighbours, if it is now located well enough to be one."""
        changes = [r for r in (self.replace(record_id),) if r is not None]
        record = self.store.get(record_id)
        wall = self._zoneable(record) if record is not None else None
        if wall is not None and self._weak_around(wall):
            record = self._zone(record_id)
        if not changes and record is not None:
            changes += self.around(record)
        return changes

    def _weak_around(self, wall: float) -> bool:
        """Whether a photo that only an AI estimate, or nothing, places may be near this wall clock."""
        reach = self.rules.window_s + MAX_OFFSET.total_seconds()
        for rid in self._ids_around(datetime.fromtimestamp(wall, UTC), reach):
            record = self.store.get(rid)
            if record is not None and _weak(record):
                return True
        return False

    def around(self, located: PhotoRecord) -> list[Relocation]:
        """The photos around a newly located one that only an AI estimate, or nothing, places:
        the changes that place them, if it can place neighbours (its source counts as one).
        Around it in UTC, and, for the photos of its camera without a UTC time, by wall clock."""
        if located.status is not Status.LOCATED or located.source not in self.rules.nearby.sources:
            return []
        with self._lock:
            self._ensure_indexed()
            if not self._weak or self._weak == {located.id}:
                return []
        ids = self._same_clock_ids(located)
        if located.taken_utc:
            ids += self._ids_around(datetime.fromisoformat(located.taken_utc), self.rules.window_s)
        with self._lock:
            ids = [rid for rid in dict.fromkeys(ids) if rid in self._weak]
        changes = []
        for rid in ids:
            record = self.store.get(rid)
            if rid != located.id and record is not None and _weak(record):
                change = self.replace(rid)
                if change is not None:
                    changes.append(change)
        return changes

    # -- after a change by hand --------------------------------------------------------------------
    def by_hand(self, changed: Sequence[PhotoRecord]) -> list[Relocation]:
        """After photos were placed, reverted or sent back to the AI by hand (`changed`, as
        stored), each acts as a newly located photo. Its capture time in UTC is worked out again
        and kept (a fix gives it a position, whose time zone gives the offset a camera did not
        record; a withdrawn position takes that basis away), then the photos taken around it,
        at its old time and its new one, are judged again:
        - unlocated, pending and AI-estimated ones as at import (`replace`: strictly stronger);
        - ones placed "nearby" afresh, since a neighbour of theirs came, moved or went: moved
          when their neighbours now place them elsewhere; when nothing places them any more,
          back through their own history to the AI estimate they had, else without a location
          (pending for the AI, or unlocated when it is off). A point that came from a withdrawn
          fix is never left standing.
        Manual fixes, locations from the file and tracks are never touched. Returns the changes
        to the photos around them."""
        mine = [record.id for record in changed]
        moments = self.retime(mine)
        around = self._around_moments(moments, mine)
        for record in changed:
            around.update(dict.fromkeys(rid for rid in self._same_clock_ids(record) if rid not in mine))
        return [change for rid in around if (change := self._reconsider(rid)) is not None]

    def retime(self, ids: Sequence[str]) -> list[str]:
        """The stored photos `ids` with their capture times in UTC worked out again (`_retime`).
        Returns the moments they had and have (ISO), for the photos around them."""
        moments: dict[str, None] = {}
        for rid in ids:
            before = self.store.get(rid)
            now = self._retime(rid)
            moments.update(dict.fromkeys(t for t in (before.taken_utc if before else None, now.taken_utc if now else None) if t))
        return list(moments)

    def _around_moments(self, moments: Iterable[str], mine: Iterable[str]) -> dict[str, None]:
        """The ids of the photos within the neighbour window of any of `moments`, but `mine`."""
        left_out = set(mine)
        around: dict[str, None] = {}
        for moment in moments:
            around.update(dict.fromkeys(rid for rid in self._ids_around(datetime.fromisoformat(moment), self.rules.window_s) if rid not in left_out))
        return around

    def _retime(self, record_id: str) -> PhotoRecord | None:
        """The stored photo with its capture time in UTC worked out again and, when it changed,
        stored with its reasons (replacing those of an automatic placement it no longer has)."""
        record = self.store.get(record_id)
        if record is None or record.status not in PLACEABLE:
            return record
        when = when_taken(record, None, self.tracks.around, self.rules, self._zones, fixes=self.fixes)
        utc, basis = (when.utc.isoformat(), when.basis.value) if when is not None else (None, None)
        if (utc, basis) != (record.taken_utc, record.time_basis):
            why = when.decisions if when is not None else ("no capture time in UTC any more: the position that gave it is gone",)
            point = point_of(record)

            def change(current: PhotoRecord | None) -> PhotoRecord | None:
                if current is None or point_of(current) != point:
                    return None  # placed again meanwhile: its own change times it
                return dataclasses.replace(current, taken_utc=utc, time_basis=basis, decisions=why)

            record = self.store.update(record_id, change) or record
        self._index(record)
        return record

    def _reconsider(self, record_id: str) -> Relocation | None:
        """A photo near one changed by hand, judged again (see `by_hand`): the change, or None."""
        record = self.store.get(record_id)
        if record is None or record.status not in PLACEABLE or rank(record.source) > rank(Source.NEARBY):
            return None
        if record.source is not Source.NEARBY:
            return self.replace(record_id)
        judgement = self.judge(record)
        moved = self.relocation(record, judgement, judged=True)
        if moved is not None and moved.location is not None and (moved.location.lat, moved.location.lon) == (record.lat, record.lon) and judgement.source is Source.NEARBY:
            return None  # its neighbours still put it where it is
        return moved or without_neighbours(record, judgement.decisions, self.unplaced)

    def track_added(self, record_id: str) -> list[Relocation]:
        """After a track file is filed: the changes that place the photos it covers that are
        unlocated, pending, estimated by the AI or placed by their neighbours."""
        tracks = self.tracks.of(record_id)
        if not tracks:
            return []
        reach = MAX_OFFSET + timedelta(seconds=self.rules.match.max_extrapolation_s)
        start, end = min(t.start for t in tracks) - reach, max(t.end for t in tracks) + reach
        changes = []
        for record in self.store.all():
            if record.status not in PLACEABLE or rank(record.source) >= rank(Source.TRACK):
                continue
            local = wall_clock(record.taken_at)
            if local is None:
                continue
            known = self.rules.known.of(record.camera, record.camera_serial)
            wall = local.replace(tzinfo=UTC) + (known.offset if known else timedelta(0))
            synced = record.time_basis == TimeBasis.CLOCK_FIX.value and record.taken_utc and start <= datetime.fromisoformat(record.taken_utc) <= end
            if start <= wall <= end or synced:
                change = self.replace(record.id)
                if change is not None:
                    changes.append(change)
        return changes


    # -- a camera's clock corrected ----------------------------------------------------------------
    def clock_plan(self, record: PhotoRecord, utc: datetime, first_day: date, last_day: date) -> ClockPlan:
        """What a sync point on `record` (its true time `utc`, for its camera's photos of
        `first_day` to `last_day`) would change: the photos of its camera it times anew."""
        local = wall_clock(record.taken_at)
        if local is None or record.camera is None:
            raise ValueError("a sync point needs the photo's wall clock and camera")
        point = SyncPoint(record.id, record.name, record.camera, record.camera_serial, local, utc, first_day, last_day)
        fixes = self.fixes.with_point(point)
        retimed = []
        for other in self.store.all():
            if other.status not in PLACEABLE or not same_camera(other.camera, other.camera_serial, record.camera, record.camera_serial):
                continue
            if fixes.correction(other.camera, other.camera_serial, wall_clock(other.taken_at)) is None:
                continue
            when = when_taken(other, None, self.tracks.around, self.rules, self._zones, fixes=fixes)
            before = datetime.fromisoformat(other.taken_utc) if other.taken_utc else None
            if when is not None and when.utc != before:
                retimed.append(Retimed(other.id, other.name, before, when.utc))
        return ClockPlan(point, fixes, tuple(sorted(retimed, key=lambda r: r.after)))

    def clock_synced(self, point: SyncPoint) -> None:
        """Keep a sync point given (and stored on its photo): it times its camera's photos from now on."""
        with self._lock:
            self._ensure_indexed()
            self._fixes = self._fixes.with_point(point)

    def placed_again(self, ids: Sequence[str], why: str) -> list[Relocation]:
        """The retimed photos `ids` judged again: placed by a track or their neighbours at their
        new times (a track's or the neighbours' own placement moved or withdrawn), their
        history saying `why`. Locations from the file or by hand stay."""
        changes = []
        for rid in ids:
            change = self._rejudge(rid)
            if change is not None:
                changes.append(dataclasses.replace(change, why=why))
        return changes

    def around_retimed(self, moments: Iterable[str], ids: Sequence[str]) -> list[Relocation]:
        """After photos were retimed and placed again: the photos around their old and new times
        (and the retimed ones placed by neighbours) judged again, as after a change by hand."""
        around = dict.fromkeys(ids)
        around.update(self._around_moments(moments, ()))
        return [change for rid in around if (change := self._reconsider(rid)) is not None]

    def _rejudge(self, record_id: str) -> Relocation | None:
        """A retimed photo judged again: tracks and neighbours revise what they placed."""
        record = self.store.get(record_id)
        if record is None or record.status not in PLACEABLE or record.source is not Source.TRACK:
            return self._reconsider(record_id)
        judgement = self.judge(record)
        moved = self.relocation(record, judgement, judged=True)
        if moved is None:
            return withdrawn(record, judgement.decisions, self.unplaced, Source.TRACK, NO_TRACK_ANY_MORE)
        if judgement.source is Source.TRACK and moved.location is not None and (moved.location.lat, moved.location.lon) == (record.lat, record.lon):
            return None
        # A track withdraws what it placed; what its neighbours say now takes its place.
        return dataclasses.replace(moved, by=Source.TRACK.value)


def _insert(index: list[tuple[float, str]], entry: tuple[float, str]) -> None:
    at = bisect.bisect_left(index, entry)
    if at == len(index) or index[at] != entry:
        index.insert(at, entry)


def _between(index: list[tuple[float, str]], low: float, high: float) -> list[tuple[float, str]]:
    return index[bisect.bisect_left(index, (low, "")) : bisect.bisect_right(index, (high, "\uffff"))]


def _without_estimate_text(current: PhotoRecord) -> dict[str, object]:
    """What a track or nearby placement clears besides the location: the model's description of
    where it thought the photo was."""
    return {"description": None}


def without_neighbours(record: PhotoRecord, decisions: tuple[str, ...], unplaced: Status) -> Relocation:
    """A photo placed "nearby" that its neighbours no longer place: back to the AI estimate it had
    before (its history's previous entry), else without a location, `unplaced` (pending or
    unlocated); `decisions` say why."""
    return withdrawn(record, decisions, unplaced, Source.NEARBY, NO_LONGER_PLACED)


def withdrawn(record: PhotoRecord, decisions: tuple[str, ...], unplaced: Status, by: Source, reason: str) -> Relocation:
    """A photo that `by` (track or nearby) placed and no longer places, for `reason`: back to the
    AI estimate it had before, else without a location (`unplaced`)."""
    target = history.previous(record)
    judged = point_of(record)
    if target is not None and target.source is Source.AI and target.has_location:
        why = (*decisions, f"{reason}: back to the AI's estimate it had")
        return Relocation(record.id, None, by=by.value, decisions=why, judged=judged)
    why = (*decisions, f"{reason}: left without a location ({unplaced.value})")
    return Relocation(record.id, NOWHERE, by=by.value, status=unplaced, error=reason, decisions=why, judged=judged)
