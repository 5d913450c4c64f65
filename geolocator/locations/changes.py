"""`Locations`: the one owner of every change of a photo's location, one per process (in the Core).

Whoever changes where a photo is — the pipeline placing a photo it files, the AI worker storing
the model's answer, a track placing the photos it covers, the map page's fix, revert or "ask the
AI again" — asks `Locations`, which
  1. turns the request into `Relocation`s (geolocator.locations.relocation),
  2. applies them in `apply`, the one write path: under the ranking as each record stands at the
     moment of writing (`ranking.may_change`), with its history entry and the intent that its
     sidecar follows, many records with one journal write;
  3. announces `Event.LOCATION_CHANGED` with the records as stored. What follows is subscribed
     once (`subscribe`): the sidecars brought in step (`Sidecars.sync`), the photos taken around
     them placed again (`Placer.by_hand` after a person's change, `Placer.around` after a
     location able to place neighbours), their copies following them (`Copies.follow`), and, by
     the service, the AI worker woken.
Filing a photo or a track announces `Event.PHOTO_FILED` / `Event.TRACK_FILED`, followed the same way.
A person's sync of a camera's clock (`sync_clock`) retimes that camera's photos, then places them
again through the same write path.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from geolocator.errors import GeolocatorError
from geolocator.locations.clocks import ClockPlan
from geolocator.locations.copies import may_be_copy
from geolocator.locations.history import HistoryError
from geolocator.locations.nearby import camera_label, wall_clock
from geolocator.locations.placing import Placer, with_time
from geolocator.locations.ranking import USERS_WORD, user_may_change
from geolocator.locations.relocation import BY_HAND, Relocation, point_of, relocated
from geolocator.locations.sidecar_sync import Sidecars
from geolocator.record import LOCATION_FIELDS, NOWHERE, OWED, AIEstimate, ClockSync, Location, PhotoRecord, Source, Status
from geolocator.record.events import Event, Events, Sent
from geolocator.record.store import Store, utc_now

if TYPE_CHECKING:
    from geolocator.locate.pictures import Picture
    from geolocator.locate.places import PlaceName
    from geolocator.locations.copies import Copies

log = logging.getLogger(__name__)

APPLY_BATCH = 1000  # records written per journal write (one fsync) when many change at once
COMPARE_BATCH = 64  # pictures hashed by `compare_filed` per journal write of their signatures
AI_FOUND_NOTHING = "the AI could not tell where this was taken"

__all__ = ["BY_HAND", "HistoryError", "Locations", "Refused"]


class Refused(GeolocatorError):
    """A change a person asked for that cannot be made to this photo (the reason says why)."""


class Locations:
    def __init__(
        self, store: Store, placer: Placer, sidecars: Sidecars, events: Events, *, ai_enabled: bool, describe: Callable[[float, float], PlaceName], copies: Copies | None = None
    ) -> None:
        self.store = store
        self.placer = placer
        self.copies = copies
        self.sidecars = sidecars
        self.events = events
        self.ai_enabled = ai_enabled
        self._describe = describe

    # -- the one write path ------------------------------------------------------------------------
    def apply(self, changes: Sequence[Relocation]) -> list[PhotoRecord]:
        """Write the changes that the ranking allows on the records as they stand now, then
        announce them. Returns the records written (those refused or gone are left out)."""
        if not changes:
            return []
        by_id = {change.record_id: change for change in changes}
        at = utc_now()

        def change(current: PhotoRecord) -> PhotoRecord | None:
            return relocated(current, by_id[current.id], at=at, ai_enabled=self.ai_enabled, sidecars=self.sidecars.enabled)

        ids = list(by_id)
        stored: list[PhotoRecord] = []
        for start in range(0, len(ids), APPLY_BATCH):
            stored += self.store.update_many(ids[start : start + APPLY_BATCH], change)
        self.placer.indexed(stored)
        if self.copies is not None:
            self.copies.indexed(stored)
        groups: dict[str, list[PhotoRecord]] = collections.defaultdict(list)
        for record in stored:
            groups[by_id[record.id].by].append(record)
        for by, records in groups.items():
            _log_changes(by, records)
            self.events.send(Event.LOCATION_CHANGED, records, by)
        return stored

    # -- a photo being imported (not stored yet) ---------------------------------------------------
    def place_new(self, record: PhotoRecord, gps_utc: datetime | None, picture: Picture | None = None) -> PhotoRecord:
        """A freshly read photo's record with its capture time in UTC and, when the file gave no
        location, a position from the photo it is a copy of (its `picture`), a track or its
        neighbours (else as it was: pending for the AI, or unlocated)."""
        judgement = self.placer.place_new(record, gps_utc)
        if judgement is None:
            return record
        change = self.placer.relocation(record, judgement)
        placed = relocated(record, change, at=utc_now(), ai_enabled=self.ai_enabled, sidecars=self.sidecars.enabled) if change else None
        placed = placed or with_time(record, judgement)
        if self.copies is not None:
            placed = self._as_copy(placed, picture)
        self.placer.indexed([placed])
        return placed

    def _as_copy(self, record: PhotoRecord, picture: Picture | None) -> PhotoRecord:
        """`record` placed as the copy of a located photo, when its picture is one's (the copy's
        location outranks a track's and its neighbours'); what was seen joins its decisions."""
        if self.copies is None:
            return record
        if picture is not None:
            self.copies.remember(record.id, picture)
            if picture.plain is None and may_be_copy(record):
                self.compare_filed()  # its original may be among the photos filed without their picture hashed yet
        found = self.copies.find_original(record, picture)
        placed = None
        if found.change is not None:
            change = dataclasses.replace(found.change, decisions=(*found.notes, *(found.change.decisions or ())))
            placed = relocated(record, change, at=utc_now(), ai_enabled=self.ai_enabled, sidecars=self.sidecars.enabled)
        if placed is None and found.notes:
            placed = dataclasses.replace(record, decisions=(*record.decisions, *found.notes))
        placed = placed or record
        self.copies.indexed([placed])
        return placed

    def compare_filed(self, limit: int | None = None) -> int:
        """Hash the pictures of photos filed without them (`Copies.owe`; up to `limit`, all with
        None), then place their copies filed before, as for an original filed late. Returns how
        many were taken. One pass at a time: a caller waits for the pass in progress."""
        copies = self.copies
        if copies is None:
            return 0
        with copies.comparing:
            taken = copies.take_owed(limit)
            for start in range(0, len(taken), COMPARE_BATCH):
                for record, picture in copies.hash_owed(taken[start : start + COMPARE_BATCH]):
                    placed = self.apply(copies.copies_of(record, picture=picture))
                    if placed:
                        log.info("%s placed %d of its copies filed earlier", record.name, len(placed))
            return len(taken)

    @staticmethod
    def reimported(previous: PhotoRecord, fresh: PhotoRecord) -> PhotoRecord:
        """The record of content seen before whose file has since gone (the user deleted it and
        dropped it in again): the new reading, under the same id, keeping the user's word."""
        record = dataclasses.replace(fresh, id=previous.id, added_at=previous.added_at, clock_sync=previous.clock_sync)
        if previous.source in USERS_WORD and fresh.status is not Status.FAILED:
            kept = {name: getattr(previous, name) for name in LOCATION_FIELDS}
            record = dataclasses.replace(record, **kept, status=Status.LOCATED, error=None, history=previous.history, declined=previous.declined)
        return record

    # -- a person's changes (the map page) ---------------------------------------------------------
    def fix(self, ids: Sequence[str], lat: float, lon: float) -> list[PhotoRecord]:
        """Place the photos `ids` by hand at (lat, lon). Raises Refused when one is a track; ids
        unknown, failed or duplicate are left out of what is returned."""
        self.refuse_tracks(ids)
        location = self.named(Location(Source.MANUAL, lat, lon))
        stored = self.apply([Relocation(rid, location, by=BY_HAND) for rid in ids])
        if stored:
            log.info("manual location for %d photo(s): %.6f, %.6f", len(stored), lat, lon)
        return stored

    def revert(self, record_id: str) -> PhotoRecord:
        """The photo back at the location before its current one. Raises HistoryError when there
        is none, Refused when it is not a photo we place or changed meanwhile."""
        self._placeable(record_id)
        stored = self._one(Relocation(record_id, None, by=BY_HAND))
        log.info("%s (%s): location reverted to %s", stored.id, stored.name, stored.source.value if stored.source else "none")
        return stored

    def ask_again(self, record_id: str) -> PhotoRecord:
        """The photo's location forgotten (kept in its history) and the AI asked again; the sources
        the user declined for it may place it again. Raises Refused saying why not."""
        if not self.ai_enabled:
            raise Refused("the AI is turned off ([ollama] enabled = false)")
        current = self._placeable(record_id)
        if current.source is Source.EXIF:
            raise Refused("the file itself says where it was taken")
        if current.moving_from:
            raise Refused("the photo is being moved: try again in a moment")
        stored = self._one(Relocation(record_id, NOWHERE, by=BY_HAND, status=Status.PENDING, declined=()))
        log.info("%s (%s): asking the AI again", stored.id, stored.name)
        return stored

    def sync_clock(self, record_id: str, utc: datetime, first_day: date | None, last_day: date | None, how: str, *, apply: bool) -> ClockPlan:
        """"This photo was taken at `utc`": a sync point for its camera's clock, for its photos of
        `first_day` to `last_day` (None: the photo's own day). Returns what it changes; with
        `apply`, kept on the photo and applied: the camera's photos of those days retimed, then
        placed again by tracks and neighbours (each change in their history, saying why), then
        the photos around them. Raises Refused saying why not."""
        current = self._placeable(record_id)
        local = wall_clock(current.taken_at)
        if local is None:
            raise Refused("the file gives no time it was taken: there is no clock to correct")
        if current.camera is None:
            raise Refused("the file names no camera: its clock cannot be told from others'")
        first, last = first_day or local.date(), last_day or local.date()
        if not first <= local.date() <= last:
            raise Refused(f"the days to correct ({first} to {last}) must include the photo's own ({local.date()})")
        plan = self.placer.clock_plan(current, utc, first, last)
        if not apply:
            return plan
        sync = ClockSync(utc.isoformat(), first.isoformat(), last.isoformat(), how, utc_now())

        def keep(record: PhotoRecord | None) -> PhotoRecord | None:
            same = record is not None and (record.taken_at, record.camera, record.camera_serial) == (current.taken_at, current.camera, current.camera_serial)
            return dataclasses.replace(record, clock_sync=sync) if same and record is not None else None

        stored = self.store.update(record_id, keep)
        if stored is None or stored.clock_sync != sync:
            raise Refused("the photo changed meanwhile: reload and try again")
        self.placer.clock_synced(plan.point)
        plan = self.placer.clock_plan(stored, utc, first, last)  # again: photos filed meanwhile included
        ids = [photo.id for photo in plan.photos]
        why = f"{camera_label(current.camera, current.camera_serial)}'s clock synced on {current.name}"
        moments = self.placer.retime(ids)
        self.apply(self.placer.placed_again(ids, why))
        self.apply(self.placer.around_retimed(moments, ids))
        log.info("%s: %s", why, plan.summary()["message"])
        return plan

    # -- the model's answers (the AI worker) ---------------------------------------------------------
    def estimated(self, asked: PhotoRecord, estimate: AIEstimate) -> PhotoRecord | None:
        """Store the model's answer about `asked` (the record as it was when asked), if the photo
        still waits for it: placed (source ai), or unlocated when the model could not tell."""

        def answer(current: PhotoRecord) -> dict[str, Any]:
            return {
                "description": estimate.description, "model": estimate.model, "prompt_version": estimate.prompt_version,
                "ai_raw": estimate.raw_answer, "ai_decisions": estimate.decisions, "attempts": current.attempts + 1,
            }  # fmt: skip

        location = dataclasses.replace(estimate.location, source=Source.AI) if estimate.has_location else NOWHERE
        change = Relocation(asked.id, location, by=Source.AI.value, status=Status.UNLOCATED, error=AI_FOUND_NOTHING, judged=point_of(asked), more=answer)
        stored = self.apply([change])
        return stored[0] if stored else None

    def unreadable(self, asked: PhotoRecord, reason: str) -> PhotoRecord | None:
        """The model could not be shown the photo (unreadable image, file gone): unlocated, saying why."""
        error = f"the AI could not read the image: {reason}"
        change = Relocation(asked.id, NOWHERE, by=Source.AI.value, status=Status.UNLOCATED, error=error, judged=point_of(asked), more=_one_more_attempt)
        stored = self.apply([change])
        return stored[0] if stored else None

    # -- follow-ups, subscribed once -----------------------------------------------------------------
    def subscribe(self, events: Events) -> None:
        """What follows a filed photo, a filed track and every change of location."""
        events.subscribe(Event.PHOTO_FILED, "sidecar of a filed photo", lambda sent: self.sidecars.sync(sent.records))
        events.subscribe(Event.PHOTO_FILED, "placing the photos around a filed photo", self._photo_filed)
        events.subscribe(Event.TRACK_FILED, "placing the photos a track covers", self._track_filed)
        events.subscribe(Event.LOCATION_CHANGED, "sidecars of changed photos", lambda sent: self.sidecars.sync(sent.records))
        events.subscribe(Event.LOCATION_CHANGED, "placing the photos around changed ones", self._location_changed)

    def _photo_filed(self, sent: Sent) -> None:
        for record in sent.records:
            self.apply(self.placer.photo_filed(record.id))
            if self.copies is None:
                continue
            filed = self.store.get(record.id)
            if filed is None:
                continue
            if filed.phash == OWED:
                self.copies.owe([filed.id])  # filed without its picture: hashed by the next pass (`compare_filed`)
                continue
            placed = self.apply(self.copies.copies_of(filed))
            if placed:
                log.info("%s placed %d of its copies filed earlier", record.name, len(placed))

    def _track_filed(self, sent: Sent) -> None:
        for record in sent.records:
            placed = self.apply(self.placer.track_added(record.id))
            if placed:
                log.info("%s placed %d photo(s) filed earlier", record.name, len(placed))

    def _location_changed(self, sent: Sent) -> None:
        if sent.by == BY_HAND:
            self.apply(self.placer.by_hand(sent.records))
        else:
            self.apply([change for record in sent.records for change in self.placer.around(record)])
        if self.copies is not None and sent.by != Source.COPY.value:  # copies follow their original; a copy is never one
            copies = self.copies
            self.apply([change for record in sent.records if (now := self.store.get(record.id)) is not None for change in copies.follow(now)])

    # -- helpers ---------------------------------------------------------------------------------
    def named(self, location: Location) -> Location:
        return self.placer.named(location)

    def _one(self, change: Relocation) -> PhotoRecord:
        stored = self.apply([change])
        if not stored:
            raise Refused("the photo changed meanwhile: reload and try again")
        return stored[0]

    def _placeable(self, record_id: str) -> PhotoRecord:
        current = self.store.get(record_id)
        if current is None:
            raise Refused("no such photo")
        self.refuse_tracks([record_id])
        if not user_may_change(current):
            raise Refused(f"a {current.status.value} photo is not placed")
        return current

    def refuse_tracks(self, ids: Sequence[str]) -> None:
        """Raise Refused when one of `ids` is a GPS track file, which has no location of its own."""
        track = next((r for r in map(self.store.get, ids) if r is not None and r.status is Status.TRACK), None)
        if track is not None:
            raise Refused(f"{track.name} is a GPS track, not a photo: it has no location to place or fix")


def _one_more_attempt(current: PhotoRecord) -> dict[str, Any]:
    return {"attempts": current.attempts + 1}


def _log_changes(by: str, records: Sequence[PhotoRecord]) -> None:
    if by in (BY_HAND, Source.AI.value):
        return  # said by the caller, with what the person or the model asked
    for record in records[:5]:
        log.info("%s: %s by %s after the fact (%s)", record.name, record.status.value, by, record.place or "no place name")
    if len(records) > 5:
        log.info("... and %d more photo(s) by %s", len(records) - 5, by)

