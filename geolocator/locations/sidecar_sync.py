"""Keeping each library photo's XMP sidecar in step with its record, across crashes.

`Locations.apply` stores a change of location together with the intent that the photo's sidecar
must follow (`PhotoRecord.sidecar_due`), in the same journal write. `Sidecars.sync` then writes
the sidecar as the record stands at that moment (geolocator.locations.sidecar: written for a
location not from the file, withdrawn for the file's own or none) and clears the intent, all the
records of a change with one journal write. A crash in between leaves the intent, and the next
start syncs every record that still carries it (`sync_due`), so no placement ever ends without
its sidecar.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from geolocator.folders import Folders
from geolocator.locations.sidecar import location_for, withdraw_sidecar, withdrawal_for, write_sidecar
from geolocator.record import PLACEABLE, PhotoRecord, Status
from geolocator.record.store import Store, utc_now

log = logging.getLogger(__name__)

CLEAR_BATCH = 1000  # intents cleared per journal write


def _written_state(record: PhotoRecord) -> tuple[object, ...]:
    """What a sidecar says of its photo: once synced from this, the intent may be cleared."""
    return record.status, record.location


@dataclass
class Sidecars:
    """The one place that writes the sidecars of library photos from their records."""

    store: Store
    folders: Folders
    enabled: bool = True
    ai: bool = False  # `[library] sidecars_ai`: AI estimates written too
    # One sync at a time in the process (a read-merge-rename is not atomic): the last to run
    # writes the latest stored location.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sync(self, records: Iterable[PhotoRecord]) -> None:
        """With `[library] sidecars`: each record's sidecar as its stored record says, then its
        intent cleared. A failure is logged and the intent kept (tried again at the next start):
        the record holds the location, the sidecar is a copy for other tools."""
        if not self.enabled:
            return
        at = utc_now()
        synced: list[PhotoRecord] = []
        for record in records:
            try:
                written = self._sync_one(record.id, at)
            except FileNotFoundError:
                log.debug("%s: not in place yet; its sidecar is written once it is filed", record.name)
                continue
            except OSError as exc:
                log.warning("%s: sidecar not written: %s", record.name, exc)
                continue
            if written is not None:
                synced.append(written)
        self._clear(synced)

    def owed(self, record: PhotoRecord) -> bool:
        """Whether `record`'s photo should have a sidecar of ours (a location we write): one moved
        within an archive indexed in place gets it again beside its new name."""
        return self.enabled and record.status is Status.LOCATED and location_for(record, "", ai=self.ai) is not None

    def sync_due(self) -> int:
        """Sync every record whose sidecar a crash left out of step (at start). Returns how many."""
        due = [record for record in self.store.all() if record.sidecar_due]
        if due and self.enabled:
            self.sync(due)
            log.info("brought %d sidecar(s) in step with their photos' locations", len(due))
        elif due:  # sidecars turned off since: nothing is owed
            self._clear(due)
        return len(due)

    def _sync_one(self, record_id: str, written_at: str) -> PhotoRecord | None:
        """Write the sidecar of `record_id` as stored now; the record it was written from, or None
        when it is not a photo in the library. Raises OSError when it cannot be written,
        FileNotFoundError while the photo is not in place yet."""
        with self._lock:
            record = self.store.get(record_id)
            if record is None or record.status not in PLACEABLE:
                return record
            photo = self.folders.file_of(record)
            if photo is None:
                return None
            location = location_for(record, written_at, ai=self.ai) if record.status is Status.LOCATED else None
            outcome = write_sidecar(photo, location) if location is not None else withdraw_sidecar(photo, withdrawal_for(record, written_at))
            log.debug("%s: sidecar %s", record.name, outcome.value)
            return record

    def _clear(self, synced: Sequence[PhotoRecord]) -> None:
        """Clear the intents of records whose sidecar now says what they still say."""
        states = {record.id: _written_state(record) for record in synced if record.sidecar_due}

        def clear(current: PhotoRecord) -> PhotoRecord | None:
            if not current.sidecar_due or _written_state(current) != states[current.id]:
                return None  # changed again meanwhile: its own sync follows
            return dataclasses.replace(current, sidecar_due=False)

        ids = list(states)
        try:
            for start in range(0, len(ids), CLEAR_BATCH):
                self.store.update_many(ids[start : start + CLEAR_BATCH], clear)
        except OSError as exc:  # the sidecars are written; the intents are cleared at the next start's sync
            log.warning("cannot record that %d sidecar(s) are in step: %s", len(ids), exc)
