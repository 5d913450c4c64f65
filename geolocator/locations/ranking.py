"""Which location source may replace which (pure).

A manual fix is the user's word and outranks everything; of the automatic sources, the file's
own metadata beats a GPS track, a track beats photos taken around the same time, and those beat
the vision model. A location is only ever replaced by a strictly stronger source, so no
automatic source overwrites a manual fix or a location from the file.
"""

from __future__ import annotations

from geolocator.record import Source

RANK: dict[Source, int] = {Source.MANUAL: 5, Source.EXIF: 4, Source.TRACK: 3, Source.NEARBY: 2, Source.AI: 1}


def rank(source: Source | None) -> int:
    """0 for no location at all (unlocated, pending), then AI < nearby < track < file < manual."""
    return 0 if source is None else RANK[source]


def outranks(new: Source, old: Source | None) -> bool:
    """True when a location from `new` may replace one from `old` (None: no location yet)."""
    return rank(new) > rank(old)

