"""Who may change a photo's location (pure): the one rule, used by `Locations.apply` for every change.

A person's word (a fix on the map page, a revert, "ask the AI again") applies to any photo we
place. Of the automatic sources, the file's own metadata beats the location of the photo it is a
copy of (the same picture, stripped of its metadata), which beats a GPS track; a track beats photos
taken around the same time, and those beat the vision model; a manual fix outranks them all. An
automatic source puts its location on a photo only when it strictly outranks the location there,
and never one the user reverted away from on that photo (`PhotoRecord.declined`: a revert is a
decision). A source may always move or withdraw a location it gave itself (photos placed
"nearby" whose neighbours moved).
"""

from __future__ import annotations

from geolocator.record import PLACEABLE, Location, PhotoRecord, Source

RANK: dict[Source, int] = {Source.MANUAL: 6, Source.EXIF: 5, Source.COPY: 4, Source.TRACK: 3, Source.NEARBY: 2, Source.AI: 1}
USERS_WORD = frozenset({Source.MANUAL})  # kept through everything automatic, a re-import of the file included


def rank(source: Source | None) -> int:
    """0 for no location at all (unlocated, pending), then AI < nearby < track < copy < file < manual."""
    return 0 if source is None else RANK[source]


def outranks(new: Source, old: Source | None) -> bool:
    """True when a location from `new` is stronger than one from `old` (None: no location yet)."""
    return rank(new) > rank(old)


def may_place(current: PhotoRecord, source: Source) -> bool:
    """Whether the automatic `source` may put its location on the photo as it stands."""
    return current.status in PLACEABLE and source not in current.declined and outranks(source, current.source)


def may_revise(current: PhotoRecord, source: Source) -> bool:
    """Whether `source` may move or withdraw the location the photo has: only one it gave itself."""
    return current.status in PLACEABLE and current.source is source


def user_may_change(current: PhotoRecord) -> bool:
    """Whether a person may place, revert or re-ask the photo: any photo we place (not a failed,
    duplicate or track file)."""
    return current.status in PLACEABLE


def may_change(current: PhotoRecord, new: Location, by: Source | None) -> bool:
    """The one rule: whether `new` may become the photo's location, asked by the automatic source
    `by` (None: a person). An automatic source places where it outranks what is there; revises or
    withdraws only what it placed itself; and may always say it found nothing for a photo that
    has no location."""
    if by is None:
        return user_may_change(current)
    if new.has_location and new.source is by and may_place(current, by):
        return True
    if not new.has_location and not current.has_location:
        return current.status in PLACEABLE
    return may_revise(current, by)
