"""The Core: what one process works on, built once and handed to every part that needs it.

`run` (the service), `scan` and `map` each open one Core (as datasette builds one `Datasette`
object for all its views): the configuration, the folders, the store, the intents of moves in
progress, the known tracks, the events, the placer, the copies, the sidecars and `Locations`, the
owner of every change of location. The pipeline, the AI worker and the map page take it, so there is one
time index of photos, one set of tracks and one sidecar lock per process, whoever changes what.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from geolocator.config import Config
from geolocator.folders import Folders
from geolocator.locate.tracks.model import TrackLimits
from geolocator.locate.tracks.store import TrackStore
from geolocator.locations.changes import Locations
from geolocator.locations.copies import Copies
from geolocator.locations.placing import LocationRules, Placer
from geolocator.locations.sidecar_sync import Sidecars
from geolocator.move.in_place import Archive
from geolocator.move.intents import Intents
from geolocator.record import Status
from geolocator.record.events import Event, Events
from geolocator.record.store import Store

if TYPE_CHECKING:
    from geolocator.locate.places import PlaceName

log = logging.getLogger(__name__)

RECOVERED_BY = "import"  # `by` of the follow-ups of moves a crash interrupted


def describe_lazily(lat: float, lon: float) -> PlaceName:
    """places.name, imported on first use (the place index opens when a photo first needs it)."""
    from geolocator.locate.places import name

    return name(lat, lon)


@dataclass(frozen=True)
class Core:
    config: Config
    folders: Folders
    store: Store
    events: Events
    intents: Intents
    tracks: TrackStore
    placer: Placer
    sidecars: Sidecars
    locations: Locations
    describe: Callable[[float, float], PlaceName]  # a point's place name (the place index)
    copies: Copies | None = None  # photos that are copies of located ones ([location] copies)
    archive: Archive | None = None  # `[library] move = false`: the index of the archive indexed in place

    @classmethod
    def build(cls, config: Config, store: Store, *, describe: Callable[[float, float], PlaceName] | None = None) -> Core:
        """The Core over an open `store`; `describe` names a point (default: the place index)."""
        describe = describe or describe_lazily
        folders = Folders.from_config(config)
        events = Events()
        tracks = TrackStore(folders, TrackLimits.of(config.location))
        unplaced = Status.PENDING if config.ollama.enabled else Status.UNLOCATED
        placer = Placer(store, tracks, LocationRules.from_config(config.location), describe, unplaced=unplaced)
        sidecars = Sidecars(store, folders, config.library.sidecars, config.library.sidecars_ai)
        copies = Copies(store, folders, agree_km=config.location.agree_km, unplaced=unplaced) if config.location.copies else None
        locations = Locations(store, placer, sidecars, events, ai_enabled=config.ollama.enabled, describe=describe, copies=copies)
        locations.subscribe(events)
        intents = Intents(store, folders, events)
        archive = None if folders.move else Archive(store, folders, sidecars)
        return cls(config, folders, store, events, intents, tracks, placer, sidecars, locations, describe, copies=copies, archive=archive)

    @classmethod
    def open(cls, config: Config) -> Core:
        """Open the database of `config` (its lock held until `close`) and build the Core on it."""
        return cls.build(config, Store(config.paths.database))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Core:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load_tracks(self) -> int:
        """Load the known tracks (from their cache beside the database). Returns how many."""
        return self.tracks.load(self.store.with_status(Status.TRACK))

    def recover(self) -> int:
        """Finish what a previous run left (call before watching): interrupted moves, then their
        follow-ups (the photos a filed track or photo places, their sidecars), then sidecars a
        crash left out of step. Returns how many moves were recovered."""
        resumed = self.intents.recover()
        self.load_tracks()
        for record in resumed:
            event = Event.TRACK_FILED if record.status is Status.TRACK else Event.PHOTO_FILED
            self.events.send(event, [record], RECOVERED_BY)
            self.intents.finish(record)
        self.intents.flush()
        self.sidecars.sync_due()
        if resumed:
            log.info("recovered %d interrupted move(s)", len(resumed))
        return len(resumed)
