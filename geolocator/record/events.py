"""Named events at the boundaries of a photo's life, and who follows them (as beets' `plugins.send`).

A stage announces what happened (`events.send(Event.LOCATION_CHANGED, records, by)`) and does not
know what follows: the `Core` subscribes the follow-ups once (the photo's sidecar brought in step,
the photos taken around it placed again, the AI worker woken). Handlers run in the sender's
thread, in the order they subscribed; one that fails is logged and the others still run, since
what they follow is stored already.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from geolocator.record import PhotoRecord

log = logging.getLogger(__name__)


class Event(enum.Enum):
    PHOTO_FILED = "photo_filed"  # a photo (or video) is in the library with its record
    TRACK_FILED = "track_filed"  # a GPS track file is in library/tracks/ and known to the TrackStore
    LOCATION_CHANGED = "location_changed"  # photos' locations were stored changed (`Locations.apply`)
    MOVES_DONE = "moves_done"  # files are in place for good: their intents cleared (`Intents.flush`)


@dataclass(frozen=True)
class Sent:
    """What a handler is given: the event, the records as stored, and who made the change
    (a `history` `by`: "page", "ai", "track", "nearby", "import", ...)."""

    event: Event
    records: Sequence[PhotoRecord]
    by: str


Handler = Callable[[Sent], None]


class Events:
    def __init__(self) -> None:
        self._handlers: dict[Event, list[tuple[str, Handler]]] = {event: [] for event in Event}

    def subscribe(self, event: Event, name: str, handler: Handler) -> None:
        """Call `handler` on each `event`; `name` says what it does, in the log when it fails."""
        self._handlers[event].append((name, handler))

    def send(self, event: Event, records: Sequence[PhotoRecord], by: str) -> None:
        if not records:
            return
        sent = Sent(event, tuple(records), by)
        for name, handler in self._handlers[event]:
            try:
                handler(sent)
            except Exception:  # the change is stored: a follow-up that fails must not undo or stop the others
                log.exception("%s after %s of %d record(s) failed", name, event.value, len(sent.records))
