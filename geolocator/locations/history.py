"""A record's location history, and going back in it. Pure functions over PhotoRecord.

`Locations.apply` passes every record whose location changes through `track`: it appends a
`LocationChange` (what the location became, when, by whom) to the record after the change. The
location a record had before its first tracked change is kept lazily, as an EARLIER entry written
at that first change, so 100k photos located at import carry no history at all.

`revert` restores the location before the current one and appends that as a REVERT entry; each
entry points (`prev`) at the one a revert goes back to, so reverting again walks further back
instead of toggling between two points. Going back to no location restores the status the photo
had then (pending for the AI, or unlocated). At most MAX_HISTORY entries are kept, newest last.
"""

from __future__ import annotations

import dataclasses

from geolocator.errors import GeolocatorError
from geolocator.record import LOCATION_FIELDS, PLACEABLE, WAITING_FOR_AI, ChangeKind, Location, LocationChange, PhotoRecord, Status

MAX_HISTORY = 50
EARLIER_BY = "earlier"  # `by` of the entry for the location a record had before tracking began
REVERTED_TO_NONE = "reverted to having no location"


class HistoryError(GeolocatorError):
    """The record cannot go back: nothing earlier is kept, or it is not a photo we place."""


def _key(record: Location) -> tuple[object, ...]:
    return record.source, record.lat, record.lon


def _entry(record: PhotoRecord, *, n: int, prev: int | None, kind: ChangeKind, at: str, by: str, why: str | None = None) -> LocationChange:
    fields = {name: getattr(record, name) for name in LOCATION_FIELDS}
    return LocationChange(n=n, prev=prev, kind=kind, at=at, by=by, status=record.status, why=why, **fields)


def _bounded(entries: tuple[LocationChange, ...]) -> tuple[LocationChange, ...]:
    return entries[-MAX_HISTORY:]


def track(before: PhotoRecord | None, after: PhotoRecord, *, at: str, by: str, why: str | None = None) -> PhotoRecord:
    """`after` with its location change recorded, or `after` unchanged when its source and point
    are those of `before` (a new place label alone is not a change). `before` None: a new record,
    whose first location needs no entry. `why`: what prompted it, when not the usual."""
    if before is None or _key(before) == _key(after):
        return after
    entries = after.history
    if not entries:
        seed_at = before.updated_at or before.added_at or at
        entries = (_entry(before, n=1, prev=None, kind=ChangeKind.EARLIER, at=seed_at, by=EARLIER_BY),)
    last = entries[-1]
    change = _entry(after, n=last.n + 1, prev=last.n, kind=ChangeKind.SET, at=at, by=by, why=why)
    return dataclasses.replace(after, history=_bounded((*entries, change)))


def previous(record: PhotoRecord) -> LocationChange | None:
    """The entry `revert` would restore, or None when there is nothing to go back to."""
    if not record.history:
        return None
    target = record.history[-1].prev
    return next((entry for entry in record.history if entry.n == target), None)


def revert(record: PhotoRecord, *, at: str, by: str) -> PhotoRecord:
    """The record with its previous location restored (with its source, confidence, radius and
    place; without one, the status it had then), and the revert recorded. Raises HistoryError
    when there is none."""
    if record.status not in PLACEABLE:
        raise HistoryError(f"{record.name} is {record.status.value}: it has no location to revert")
    target = previous(record)
    if target is None:
        if record.history and record.history[-1].prev is not None:
            raise HistoryError(f"{record.name}: the earlier location is older than the {MAX_HISTORY} changes kept")
        raise HistoryError(f"{record.name} has no earlier location to go back to")
    status, error = _status_of(target)
    attempts = 0 if status is Status.PENDING else record.attempts
    restored = dataclasses.replace(record, **{name: getattr(target, name) for name in LOCATION_FIELDS}, status=status, error=error, attempts=attempts, retry_at=None)
    change = _entry(restored, n=record.history[-1].n + 1, prev=target.prev, kind=ChangeKind.REVERT, at=at, by=by)
    return dataclasses.replace(restored, history=_bounded((*record.history, change)))


def _status_of(target: LocationChange) -> tuple[Status, str | None]:
    """The status (and its reason) a record goes back to with `target`'s location."""
    if target.has_location:
        return Status.LOCATED, None
    if target.status is Status.PENDING:
        return Status.PENDING, WAITING_FOR_AI
    return Status.UNLOCATED, REVERTED_TO_NONE
