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
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from geolocator.config import LocationConfig
from geolocator.locate.tracks.interpolate import MatchRules, locate_on_tracks
from geolocator.locate.tracks.model import Track
from geolocator.locate.tracks.store import TrackStore
from geolocator.locations import history
from geolocator.locations.capture_time import MAX_OFFSET, CaptureTime, TimeBasis, ZoneAt, capture_time, is_date_only, parse_utc_offset, wall_clock, zone_at
from geolocator.locations.nearby import NearbyRules, Neighbour, neighbour_from_record, place_nearby
from geolocator.locations.ranking import rank
from geolocator.locations.relocation import Relocation, point_of
from geolocator.record import NOWHERE, PLACEABLE, Location, PhotoRecord, Source, Status
from geolocator.record.store import Store

if TYPE_CHECKING:
    from geolocator.locate.places import PlaceName

log = logging.getLogger(__name__)

Tracks = Callable[[datetime, datetime], Sequence[Track]]  # tracks with points between two UTC times
Neighbours = Callable[[datetime, float, str], Iterable[Neighbour]]  # (utc, seconds either side, own id)
NO_LONGER_PLACED = "the photos taken around it no longer place it"


@dataclass(frozen=True)
class LocationRules:
    match: MatchRules = field(default_factory=MatchRules)
    nearby: NearbyRules = field(default_factory=NearbyRules)
    camera_utc_offset: timedelta | None = None

    @classmethod
    def from_config(cls, location: LocationConfig) -> LocationRules:
        return cls(
            MatchRules(max_interpolation_s=location.max_gap_minutes * 60, max_extrapolation_s=location.beyond_minutes * 60),
            NearbyRules(same_camera_s=location.same_camera_minutes * 60, both_sides_s=location.both_sides_minutes * 60, agree_km=location.agree_km),
            parse_utc_offset(location.camera_utc_offset) if location.camera_utc_offset else None,
        )

    @property
    def window_s(self) -> float:
        return max(self.nearby.same_camera_s, self.nearby.both_sides_s)


def own_position(record: PhotoRecord) -> tuple[float, float] | None:
    """Where a photo located by its file or by hand was: the zone there gives its UTC offset."""
    own = record.source in (Source.EXIF, Source.MANUAL)
    return (record.lat, record.lon) if own and record.lat is not None and record.lon is not None else None


def when_taken(record: PhotoRecord, gps_utc: datetime | None, tracks: Tracks, rules: LocationRules, zones: ZoneAt, *, own_zone: bool = True) -> CaptureTime | None:
    """The record's capture time in UTC. A GPS time stamp read at import is kept as `taken_utc`
    with basis gps_time (the file is not read again later), so it is passed back in as one.
    `own_zone`: the zone at the photo's own position may be looked up (`own_position`). A time
    that came from elsewhere than the file (its name, its original: `time_source`) says so first;
    one its name gives in UTC is kept as it is (basis file_name)."""
    came = (f"capture time from {record.time_source}",) if record.time_source else ()
    if record.time_basis == TimeBasis.FILE_NAME.value and record.taken_utc:
        return CaptureTime(datetime.fromisoformat(record.taken_utc), TimeBasis.FILE_NAME, None, came)
    if gps_utc is None and record.time_basis == TimeBasis.GPS_TIME.value and record.taken_utc:
        gps_utc = datetime.fromisoformat(record.taken_utc)
    candidates: Sequence[Track] = ()
    clock = wall_clock(record.taken_at)
    if clock is not None:
        wall = clock.replace(tzinfo=UTC)
        candidates = tracks(wall - MAX_OFFSET - timedelta(seconds=rules.match.max_extrapolation_s), wall + MAX_OFFSET + timedelta(seconds=rules.match.max_extrapolation_s))
    position = own_position(record) if own_zone else None
    when = capture_time(record.taken_at, gps_utc=gps_utc, position=position, tracks=candidates, zone_at=zones, camera_utc_offset=rules.camera_utc_offset, rules=rules.match)
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


def judge(record: PhotoRecord, gps_utc: datetime | None, tracks: Tracks, neighbours: Neighbours, rules: LocationRules, zones: ZoneAt = zone_at) -> Judgement:
    """Capture time in UTC, then the tracks, then the time neighbours, each decision recorded."""
    when = when_taken(record, gps_utc, tracks, rules, zones)
    if when is None:
        return Judgement(None, None, decisions=(_untimed(record),))
    decisions = list(when.decisions)
    margin = timedelta(seconds=rules.match.max_extrapolation_s)
    fix = locate_on_tracks(tracks(when.utc - margin, when.utc + margin), when.utc, rules.match)
    if fix is not None:
        return Judgement(when, Source.TRACK, fix.lat, fix.lon, fix.elevation, fix.radius_km, (*decisions, *fix.decisions))
    decisions.append(f"no track covers {when.utc:%Y-%m-%d %H:%M:%S}Z")
    near = place_nearby(when.utc, when.local_day, record.camera, neighbours(when.utc, rules.window_s, record.id), rules.nearby)
    decisions.extend(near.decisions)
    if near.placed:
        return Judgement(when, Source.NEARBY, near.lat, near.lon, None, near.radius_km, tuple(decisions))
    return Judgement(when, None, decisions=tuple(decisions))


def _untimed(record: PhotoRecord) -> str:
    """Why a photo has no capture time in UTC to place it by."""
    if is_date_only(record.taken_at):
        return f"only a date, from {record.time_source or 'the file'}: filed under its month, not placed by time"
    if record.taken_at:
        return "no capture time in UTC: no offset in the file, no GPS time stamp, no track covering its wall clock, no [location] camera_utc_offset"
    return "no capture time in the file"


def with_time(record: PhotoRecord, judgement: Judgement) -> PhotoRecord:
    """`record` with the capture time the judgement found and its reasons."""
    time = judgement.time
    if time is None:
        return dataclasses.replace(record, decisions=judgement.decisions)
    return dataclasses.replace(record, taken_utc=time[0], time_basis=time[1], decisions=judgement.decisions)


def _wall(record: PhotoRecord) -> float | None:
    """The record's wall clock read as if it were UTC, as a timestamp (None without one)."""
    wall = wall_clock(record.taken_at)
    return wall.replace(tzinfo=UTC).timestamp() if wall is not None else None


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
        self._indexed = False

    # -- lookups -----------------------------------------------------------------------------------
    def _ensure_indexed(self) -> None:
        """Make `_times` and `_unzoned` from the store, once. The caller holds `_lock`; the store's
        lock is taken inside it, never the other way round (store changes are pure functions)."""
        if self._indexed:
            return
        records = self.store.all()
        self._times = sorted((datetime.fromisoformat(r.taken_utc).timestamp(), r.id) for r in records if r.taken_utc and r.status in PLACEABLE)
        self._unzoned = sorted((wall, r.id) for r in records if (wall := self._zoneable(r)) is not None)
        self._indexed = True

    def indexed(self, records: Iterable[PhotoRecord]) -> None:
        """Keep the time index current with records as stored (placed, or given a time)."""
        for record in records:
            self._index(record)

    def _index(self, record: PhotoRecord) -> None:
        if record.taken_utc:
            entry = (datetime.fromisoformat(record.taken_utc).timestamp(), record.id)
            with self._lock:
                self._ensure_indexed()
                at = bisect.bisect_left(self._times, entry)
                if at == len(self._times) or self._times[at] != entry:
                    self._times.insert(at, entry)

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
        when = capture_time(record.taken_at, position=position, zone_at=self._zones)
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

    def judge(self, record: PhotoRecord, gps_utc: datetime | None = None) -> Judgement:
        return judge(record, gps_utc, self.tracks.around, self.neighbours, self.rules, self._zones)

    # -- a photo being imported --------------------------------------------------------------------
    def place_new(self, record: PhotoRecord, gps_utc: datetime | None) -> Judgement | None:
        """How a freshly read photo (not stored yet) is placed: its capture time in UTC and, when
        the file gave no location, a position from a track or its neighbours. None for a file we
        do not place. A photo located by its file is only timed (to be a neighbour); its own
        zone is looked up once a neighbour needs it."""
        if record.status not in PLACEABLE:
            return None
        if record.source is not None:
            when = when_taken(record, gps_utc, self.tracks.around, self.rules, self._zones, own_zone=False)
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
            if record is not None and record.status in PLACEABLE and rank(record.source) < rank(Source.NEARBY):
                return True
        return False

    def around(self, located: PhotoRecord) -> list[Relocation]:
        """The photos around a newly located one that only an AI estimate, or nothing, places:
        the changes that place them, if it can place neighbours (its source counts as one)."""
        if located.status is not Status.LOCATED or located.source not in self.rules.nearby.sources or not located.taken_utc:
            return []
        changes = []
        for rid in self._ids_around(datetime.fromisoformat(located.taken_utc), self.rules.window_s):
            record = self.store.get(rid)
            if rid != located.id and record is not None and record.status in PLACEABLE and rank(record.source) < rank(Source.NEARBY):
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
        mine = {record.id for record in changed}
        moments: dict[str, None] = {}
        for record in changed:
            now = self._retime(record.id)
            moments.update(dict.fromkeys(t for t in (record.taken_utc, now.taken_utc if now else None) if t))
        around: dict[str, None] = {}
        for moment in moments:
            around.update(dict.fromkeys(rid for rid in self._ids_around(datetime.fromisoformat(moment), self.rules.window_s) if rid not in mine))
        return [change for rid in around if (change := self._reconsider(rid)) is not None]

    def _retime(self, record_id: str) -> PhotoRecord | None:
        """The stored photo with its capture time in UTC worked out again and, when it changed,
        stored with its reasons (replacing those of an automatic placement it no longer has)."""
        record = self.store.get(record_id)
        if record is None or record.status not in PLACEABLE:
            return record
        when = when_taken(record, None, self.tracks.around, self.rules, self._zones)
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
            if record.status not in PLACEABLE or rank(record.source) >= rank(Source.TRACK) or not record.taken_at:
                continue
            wall = _wall(record)
            if wall is not None and start.timestamp() <= wall <= end.timestamp():
                change = self.replace(record.id)
                if change is not None:
                    changes.append(change)
        return changes


def _without_estimate_text(current: PhotoRecord) -> dict[str, object]:
    """What a track or nearby placement clears besides the location: the model's description of
    where it thought the photo was."""
    return {"description": None}


def without_neighbours(record: PhotoRecord, decisions: tuple[str, ...], unplaced: Status) -> Relocation:
    """A photo placed "nearby" that its neighbours no longer place: back to the AI estimate it had
    before (its history's previous entry), else without a location, `unplaced` (pending or
    unlocated); `decisions` say why."""
    target = history.previous(record)
    judged = point_of(record)
    if target is not None and target.source is Source.AI and target.has_location:
        why = (*decisions, f"{NO_LONGER_PLACED}: back to the AI's estimate it had")
        return Relocation(record.id, None, by=Source.NEARBY.value, decisions=why, judged=judged)
    why = (*decisions, f"{NO_LONGER_PLACED}: left without a location ({unplaced.value})")
    return Relocation(record.id, NOWHERE, by=Source.NEARBY.value, status=unplaced, error=NO_LONGER_PLACED, decisions=why, judged=judged)
