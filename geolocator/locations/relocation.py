"""A change of one photo's location, as asked, and the one function that writes it (pure).

Every change of location — a fix by hand, a revert, "ask the AI again", the model's answer, a
track or the photos around it placing the photo, a neighbour withdrawing — is a `Relocation`.
`relocated` decides whether it applies to the record as it stands (`ranking.may_change`; and, for
a change judged from an earlier reading of the record, only if its location is still that one),
and writes it: the ten location fields at once, the status that goes with them, the history
entry, and the intent that the photo's sidecar must follow. `Locations.apply` calls it inside
the store's read-modify-write, so the rule holds at the moment of writing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geolocator.locations import history
from geolocator.locations.ranking import USERS_WORD, may_change
from geolocator.record import AI_DISABLED, LOCATION_FIELDS, NOWHERE, WAITING_FOR_AI, Location, PhotoRecord, Source, Status

BY_HAND = "page"  # `by` of a change a person made (on the map page); any other `by` is a Source's value

Point = tuple[object, ...]


def point_of(record: PhotoRecord) -> Point:
    """What a judgement of the record rests on: its status, source and point."""
    return record.status, record.source, record.lat, record.lon


@dataclass(frozen=True)
class Relocation:
    """One photo's location to change. `location` NOWHERE: the photo is left without one, in
    `status` (PENDING, waiting for the AI, unless given; UNLOCATED when the AI is off); None:
    back to the location it had before the current one (a revert, `history.revert`)."""

    record_id: str
    location: Location | None
    by: str  # BY_HAND, or the value of the Source that decided it
    status: Status | None = None  # without a location: the status it takes
    error: str | None = None  # without a location: why (default: the status's usual reason)
    decisions: tuple[str, ...] | None = None  # replace the record's decisions (a track or nearby judgement's reasons)
    time: tuple[str | None, str | None] | None = None  # (taken_utc, time_basis) found with it
    judged: Point | None = None  # `point_of` the record it was judged from: not applied if that changed since
    declined: tuple[Source, ...] | None = None  # replace the sources the user declined for it
    more: Callable[[PhotoRecord], dict[str, Any]] | None = None  # other fields that change with it (the AI's answer)
    why: str | None = None  # what prompted it, for its history entry (a camera's clock corrected)

    @property
    def source_by(self) -> Source | None:
        """The automatic source that asks, or None for a person."""
        return None if self.by == BY_HAND else Source(self.by)


def relocated(current: PhotoRecord | None, change: Relocation, *, at: str, ai_enabled: bool, sidecars: bool) -> PhotoRecord | None:
    """`current` with `change` applied and recorded in its history, or None when it must not
    apply: the record is gone, was judged as it stood before, or the ranking refuses it.
    `sidecars`: its sidecar must follow (`[library] sidecars`). A photo placed while it is
    imported (by a track or its neighbours) gets its history too: a revert takes it back to
    waiting for the AI."""
    if current is None or (change.judged is not None and point_of(current) != change.judged):
        return None
    if change.location is None:
        return _reverted(current, change, at=at, ai_enabled=ai_enabled, sidecars=sidecars)
    if not may_change(current, change.location, change.source_by):
        return None
    new = dataclasses.replace(current, **_fields(current, change.location, change, ai_enabled), sidecar_due=sidecars or current.sidecar_due)
    return history.track(current, new, at=at, by=change.by, why=change.why)


def _reverted(current: PhotoRecord, change: Relocation, *, at: str, ai_enabled: bool, sidecars: bool) -> PhotoRecord | None:
    """The record back at its previous location (raises history.HistoryError when there is none).
    Reverted by a person, the automatic source it leaves is declined: that source never places
    this photo again on its own (a revert is a decision)."""
    if not may_change(current, NOWHERE, change.source_by):
        return None
    back = history.revert(current, at=at, by=change.by)
    if back.status is Status.PENDING and not ai_enabled:
        back = dataclasses.replace(back, status=Status.UNLOCATED, error=AI_DISABLED)
    declined = current.declined
    left = current.source
    if change.source_by is None and left is not None and left not in USERS_WORD and left not in declined and back.source is not left:
        declined = (*declined, left)
    decisions = back.decisions if change.decisions is None else change.decisions
    return dataclasses.replace(back, declined=declined, decisions=decisions, sidecar_due=sidecars or current.sidecar_due)


def _fields(current: PhotoRecord, location: Location, change: Relocation, ai_enabled: bool) -> dict[str, Any]:
    """The fields `change` sets: the location's ten, the status and reason, and what else it carries."""
    fields: dict[str, Any] = {name: getattr(location, name) for name in LOCATION_FIELDS}
    if location.has_location:
        fields.update(status=Status.LOCATED, error=None)
    else:
        status = change.status or Status.PENDING
        if status is Status.PENDING and not ai_enabled:
            status = Status.UNLOCATED  # nobody would ask the model
        fields.update(status=status, error=change.error or _why_none(status, ai_enabled), attempts=0)  # the AI's count starts again
    fields["retry_at"] = None
    if change.decisions is not None:
        fields["decisions"] = change.decisions
    if change.time is not None:
        fields["taken_utc"], fields["time_basis"] = change.time
    if change.declined is not None:
        fields["declined"] = change.declined
    if change.more is not None:
        fields.update(change.more(current))
    return fields


def _why_none(status: Status, ai_enabled: bool) -> str | None:
    if status is Status.PENDING:
        return WAITING_FOR_AI
    return None if ai_enabled else AI_DISABLED
