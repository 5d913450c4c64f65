"""Copies: a photo whose picture is the same as a located photo's takes that photo's location.

Many photos without GPS are copies of photos already located, their metadata stripped on the way
(sent through a messenger, exported from an editor, resized for the web). When the picture of a
photo without a location of its own is the same (`locate.pictures`: re-encoded, resized, turned
upright, cropped by up to a tenth a side) as that of a photo located by its file, by hand or on a
GPS track, the copy takes the original's location, place and, when its own file records no
capture time, the original's (source `copy`, ranked below the file and above a track: see
`ranking`). Its decisions name the original, and `copy_of` keeps its id for the page.

Not a copy: two pictures whose files both record a capture time more than SAME_MOMENT_S apart
(a burst, photos taken around the same time: time neighbours, which `nearby` places), or taken
with cameras the files name differently; pictures the finer check tells apart (a different photo
of the same place); plain pictures (a clear sky, a page of text), never compared. Originals whose
locations disagree (more than `[location] agree_km` apart) place nothing.

Arrival order does not matter, as for tracks: a photo filed is looked up as a copy of the
photos already there (`find_original`, before it is stored) and, if it is located well enough to
be an original, its copies filed before it are placed (`copies_of`, after `Event.PHOTO_FILED`).
When an original's location changes, its copies follow it, or lose it with it (`follow`).

The signatures of the photos (`PhotoRecord.phash`) are kept in two `HammingIndex`es, of whole
frames and of centres, made from the store at first use and kept current photo by photo (as the
Placer's time index). Pictures the pipeline decoded are kept for a while (RECENT), so a photo
filed moments after its copy is compared without decoding its file again; others are decoded
from their files when a candidate needs the finer check. numpy is imported with the first photo
compared, never by a process that does not compare any.

A photo whose file gives it a location a copy's cannot outrank (GPS in the file) needs its
picture only as an original, so it is not decoded while it is filed: it is `owe`d, and hashed
later by `Locations.compare_filed` (the service's ingest workers when the inbox is quiet; `scan`
once it has filed everything), which then places its copies filed before, as a late original
does; DECODERS threads decode them (Pillow lets go of the GIL while it decodes: both cores
work). A photo that may be a copy is looked up only after every photo owed so far is hashed,
so either arrival order finds the pair, whenever the pass runs.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import logging
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geolocator.errors import UnreadableImage
from geolocator.fileio import open_regular
from geolocator.folders import Folders
from geolocator.locate.metadata.formats import HEAD_SIZE, Kind, sniff
from geolocator.locate.places.index import haversine_km
from geolocator.locations.nearby import wall_clock
from geolocator.locations.ranking import rank
from geolocator.locations.relocation import Relocation, point_of
from geolocator.move.intents import decode_path
from geolocator.record import NOWHERE, OWED, PLACEABLE, GpsOrigin, Location, PhotoMetadata, PhotoRecord, Source, Status
from geolocator.record.store import Store

if TYPE_CHECKING:
    from geolocator.locate.hamming import HammingIndex
    from geolocator.locate.pictures import Likeness, Picture

log = logging.getLogger(__name__)

# A copy takes a location that is the original's own (its file's, a person's) or its moment's on
# a GPS track; an estimate (the AI's, the neighbours') is never passed on, as `nearby` never
# passes one on either.
ORIGINAL_SOURCES = frozenset({Source.EXIF, Source.MANUAL, Source.TRACK})
SAME_MOMENT_S = 2.0  # capture times in both files further apart than this: not copies of each other
DECODERS = 2  # threads decoding the pictures owed (`hash_owed`): both cores of a small machine, at most two decodes' memory
RECENT = 256  # pictures kept from the pipeline (a scan's group is filed within a few dozen)
ITS_ORIGINAL = "its original"  # time_source of a copy's capture time: "its original IMG_1234.HEIC"
ORIGINAL_GONE = "the photo it is a copy of no longer has a location to give"


@dataclass(frozen=True)
class Match:
    """A stored photo found to show the same picture as another."""

    original: PhotoRecord
    copy: PhotoRecord
    distance: int  # of their hashes, in bits of 64
    likeness: Likeness


@dataclass(frozen=True)
class Finding:
    """What looking for an arriving photo's original found: the change that places it, or none,
    with what was seen (candidates turned down, and why)."""

    change: Relocation | None
    notes: tuple[str, ...] = ()


class Copies:
    """The copy index of one process (in the Core); safe to use from several threads."""

    def __init__(self, store: Store, folders: Folders, *, agree_km: float, unplaced: Status) -> None:
        """`unplaced`: the status of a copy whose original no longer places it (PENDING for the
        AI; UNLOCATED when it is off)."""
        self.store = store
        self.folders = folders
        self.agree_km = agree_km
        self.unplaced = unplaced
        self._lock = threading.Lock()
        self._full: HammingIndex | None = None  # whole frames
        self._centres: HammingIndex | None = None  # centres
        self._slots: dict[str, int] = {}  # record id -> its value in the indexes
        self._ids: list[str] = []  # value -> record id
        # Indexed photos that a copy's location could place: while there are none, a photo filed
        # is not looked at as an original (its windows are not hashed).
        self._placeable: set[str] = set()
        self._copies: dict[str, set[str]] = collections.defaultdict(set)  # original id -> ids of photos placed as its copies
        self._recent: collections.OrderedDict[str, Picture] = collections.OrderedDict()
        self._owed: dict[str, None] = {}  # ids of photos filed without their picture hashed, oldest first
        self._hashing = 0  # photos taken from `_owed` and not yet hashed and looked at
        # One pass over owed photos at a time; a photo that may be a copy waits for the pass in
        # progress before it is looked up (taken before `_lock` and the store's, never inside them).
        self.comparing = threading.RLock()

    # -- the indexes ---------------------------------------------------------------------------
    def _ensure_indexed(self) -> tuple[HammingIndex, HammingIndex]:
        """The indexes, made from the store the first time. The caller holds `_lock` (the store's
        lock is taken inside it, never the other way round)."""
        if self._full is None or self._centres is None:
            from geolocator.locate.hamming import HammingIndex

            self._full, self._centres = HammingIndex(), HammingIndex()
            self._add(self.store.all(), self._full, self._centres)
        return self._full, self._centres

    def _add(self, records: Iterable[PhotoRecord], by_full: HammingIndex, by_centre: HammingIndex) -> None:
        import numpy as np

        from geolocator.locate.pictures import parse_signature

        full: list[int] = []
        centres: list[int] = []
        for record in records:
            if record.copy_of:
                self._copies[record.copy_of].add(record.id)
            hashes = parse_signature(record.phash)
            if hashes is None:
                continue
            if may_be_copy(record):
                self._placeable.add(record.id)
            else:
                self._placeable.discard(record.id)
            if record.id in self._slots:
                continue
            self._slots[record.id] = len(self._ids)
            self._ids.append(record.id)
            full.append(hashes[0])
            centres.append(hashes[1])
        slots = np.arange(len(self._ids) - len(full), len(self._ids))
        by_full.extend(np.array(full, dtype=np.uint64), slots)
        by_centre.extend(np.array(centres, dtype=np.uint64), slots)

    def indexed(self, records: Iterable[PhotoRecord]) -> None:
        """Keep the indexes current with records as stored (or about to be)."""
        with self._lock:
            self._add(records, *self._ensure_indexed())

    def remember(self, record_id: str, picture: Picture) -> None:
        """A picture the pipeline decoded, kept for a while: compared without decoding again."""
        with self._lock:
            self._recent[record_id] = picture
            self._recent.move_to_end(record_id)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)

    def _near(self, full: Sequence[int], centres: Sequence[int]) -> dict[str, int]:
        """{record id: hash distance} of the photos whose whole frame is near one of `full`, or
        whose centre is near one of `centres`."""
        import numpy as np

        from geolocator.locate.pictures import COARSE_RADIUS

        with self._lock:
            by_full, by_centre = self._ensure_indexed()
            found = by_full.near(np.array(full, dtype=np.uint64), COARSE_RADIUS)
            for slot, distance in by_centre.near(np.array(centres, dtype=np.uint64), COARSE_RADIUS).items():
                found[slot] = min(distance, found.get(slot, distance))
            return {self._ids[slot]: distance for slot, distance in sorted(found.items(), key=lambda item: item[1])}

    def _picture(self, record: PhotoRecord) -> Picture | None:
        """The record's picture: kept from the pipeline, else decoded from its file (in the library,
        or still in the inbox while it is being filed); None when it cannot be read."""
        with self._lock:
            kept = self._recent.get(record.id)
        if kept is not None:
            return kept
        places = [self.folders.file_of(record)] + ([decode_path(record.moving_from)] if record.moving_from else [])
        for path in places:
            if path is None or not path.is_file():
                continue
            try:
                return read_picture(path)
            except (UnreadableImage, OSError) as exc:
                log.info("%s: its picture cannot be compared: %s", record.name, exc)
                return None
        return None

    # -- photos filed without their picture ------------------------------------------------------
    def owe(self, record_ids: Iterable[str]) -> None:
        """Photos filed without their picture hashed (`needs_picture_now` said later; their
        signature OWED): hashed by the next `Locations.compare_filed`."""
        with self._lock:
            self._owed.update(dict.fromkeys(record_ids))

    def owes(self) -> bool:
        """Whether photos filed wait for their picture to be hashed (or are being hashed now)."""
        with self._lock:
            return bool(self._owed) or self._hashing > 0

    def take_owed(self, limit: int | None) -> list[str]:
        """Up to `limit` (all with None) of the photos owed, oldest first; counted as being hashed
        until `hashed` says they are done."""
        with self._lock:
            taken = list(itertools.islice(self._owed, limit))
            for record_id in taken:
                del self._owed[record_id]
            self._hashing += len(taken)
            return taken

    def hash_owed(self, record_ids: Sequence[str]) -> list[tuple[PhotoRecord, Picture]]:
        """The photos `take_owed` gave, hashed: their signatures stored (one write for all) and
        indexed. Returns each stored record with its picture; a photo gone or hashed meanwhile is
        left out, and so is a video or one that cannot be decoded (its signature then None, as
        when it is decoded while filed)."""
        try:
            owed = [record for record_id in record_ids if (record := self.store.get(record_id)) is not None and record.phash == OWED]
            with ThreadPoolExecutor(DECODERS, thread_name_prefix="copies-decode") as pool:  # Pillow decodes without the GIL
                pictures = dict(zip((record.id for record in owed), pool.map(self._file_picture, owed), strict=True))

            def signed(current: PhotoRecord) -> PhotoRecord | None:
                picture = pictures[current.id]
                return dataclasses.replace(current, phash=picture.signature if picture else None) if current.phash == OWED else None

            stored = self.store.update_many(list(pictures), signed)
            self.indexed(stored)
            return [(record, picture) for record in stored if (picture := pictures[record.id]) is not None]
        finally:
            with self._lock:
                self._hashing -= len(record_ids)

    def _file_picture(self, record: PhotoRecord) -> Picture | None:
        """The picture of a filed photo, decoded from its file; None for a video, or a file that
        cannot be read or decoded (logged)."""
        path = self.folders.file_of(record)
        if path is None:
            return None
        try:
            return picture_of_file(path)
        except (UnreadableImage, OSError) as exc:
            log.info("%s: its picture is not compared with others: %s", record.name, exc)
        except Exception:  # a bug: never lose the photo over it
            log.exception("decoding the picture of %s failed unexpectedly", path)
        return None

    # -- an arriving photo as a copy -----------------------------------------------------------
    def find_original(self, record: PhotoRecord, picture: Picture | None) -> Finding:
        """The change that places `record` (being filed, not stored yet) as a copy of a photo
        already located, if its picture is one's."""
        if picture is None or picture.plain is not None or not may_be_copy(record):
            return Finding(None)
        from geolocator.locate.pictures import COPY_WINDOWS, likeness, window_hashes

        near = self._near([picture.full], window_hashes(picture, COPY_WINDOWS).tolist())
        matches: list[Match] = []
        notes: list[str] = []
        for rid, distance in near.items():
            original = self.store.get(rid)
            if original is None or rid == record.id or not _may_give(original, record):
                continue
            why_not = not_same_moment(original, record)
            if why_not is None:
                seen = self._picture(original)
                if seen is None:
                    continue
                found = likeness(seen, picture)
                if found.same:
                    matches.append(Match(original, record, distance, found))
                    continue
                why_not = f"a different picture ({found.describe()})"
            notes.append(f"looks like {original.name} ({original.id}), but {why_not}: not its copy")
        return self._chosen(record, matches, notes)

    def _chosen(self, record: PhotoRecord, matches: list[Match], notes: list[str]) -> Finding:
        if not matches:
            return Finding(None, tuple(notes))
        best = max(matches, key=lambda m: m.likeness.correlation)
        for other in matches:
            km = _km(best.original, other.original)
            if km > self.agree_km:
                notes.append(f"looks like copies of {best.original.name} and {other.original.name}, {km:.1f} km apart: not placed")
                return Finding(None, tuple(notes))
        return Finding(relocation(best), tuple(notes))

    # -- a located photo as an original --------------------------------------------------------
    def copies_of(self, original: PhotoRecord, *, decode: bool = True, picture: Picture | None = None) -> list[Relocation]:
        """The changes that place the photos stored before `original` (just filed, or just located
        well enough) that are copies of it. With `decode`, its picture is looked at through the
        windows a cropped copy's centre may lie in (decoded from its file unless the pipeline
        kept it); else only its stored signature is looked up (uncropped copies, and crops of a
        few percent), and its file is decoded only when a candidate needs the finer check.
        `picture`: its picture, when the caller has it."""
        from geolocator.locate.pictures import ORIGINAL_WINDOWS, likeness, parse_signature, window_hashes

        hashes = parse_signature(original.phash)
        if hashes is None or original.status is not Status.LOCATED or original.source not in ORIGINAL_SOURCES:
            return []
        with self._lock:
            self._ensure_indexed()
            if not self._placeable or self._placeable == {original.id}:
                return []  # every photo compared so far has a location a copy's cannot outrank
        if picture is None and decode:
            picture = self._picture(original)
        centres = window_hashes(picture, ORIGINAL_WINDOWS).tolist() if picture is not None else []
        near = self._near([hashes[0]], [hashes[1], *centres])
        changes = []
        for rid, distance in near.items():
            copy = self.store.get(rid)
            if copy is None or rid == original.id or not may_be_copy(copy) or not _may_give(original, copy) or not_same_moment(original, copy) is not None:
                continue
            picture = picture or self._picture(original)
            seen = self._picture(copy)
            if picture is None or seen is None:
                continue
            found = likeness(picture, seen)
            if found.same:
                changes.append(relocation(Match(original, copy, distance, found), stored=True))
        return changes

    def follow(self, changed: PhotoRecord) -> list[Relocation]:
        """After `changed`'s location changed (not by us): the photos placed as its copies follow
        it, or lose the location with it; and, now located well enough, its copies stored
        before are placed (by its stored signature: `copies_of` without decoding)."""
        with self._lock:
            linked = sorted(self._copies.get(changed.id, ()))
        changes = []
        gives = changed.status is Status.LOCATED and changed.source in ORIGINAL_SOURCES and changed.lat is not None and changed.lon is not None
        for rid in linked:
            copy = self.store.get(rid)
            if copy is None or copy.source is not Source.COPY or copy.copy_of != changed.id:
                continue
            if gives and (copy.lat, copy.lon, copy.altitude) != (changed.lat, changed.lon, changed.altitude):
                changes.append(_following(changed, copy))
            elif not gives:
                why = f"{ORIGINAL_GONE} ({changed.name} is now {changed.source.value if changed.source else changed.status.value})"
                changes.append(Relocation(copy.id, NOWHERE, by=Source.COPY.value, status=self.unplaced, error=ORIGINAL_GONE, decisions=(why,), judged=point_of(copy)))
        return changes + (self.copies_of(changed, decode=False) if gives else [])


def needs_picture_now(metadata: PhotoMetadata) -> bool:
    """Whether a photo being filed is decoded at once: it may be a copy (its file gives no location,
    or one restored from our sidecar, whose source may rank below a copy's), so its original is
    looked for now. A photo with GPS of its own is only ever an original: hashed later (owed)."""
    return not metadata.has_location or metadata.gps_origin is GpsOrigin.SIDECAR


def picture_of_file(path: Path) -> Picture | None:
    """The picture of the photo at `path` (`read_picture`); None for a video, which has none to compare."""
    with open_regular(path) as fh:
        if sniff(fh.read(HEAD_SIZE)) is Kind.QUICKTIME:
            return None
    return read_picture(path)


def read_picture(path: Path) -> Picture:
    """The picture of the photo at `path`, decoded small and upright. Raises UnreadableImage
    (media.images) with the reason."""
    from geolocator.locate.pictures import DECODE_PX, picture_of
    from geolocator.media.images import decode

    return picture_of(decode(path, DECODE_PX, grey=True))


def may_be_copy(record: PhotoRecord) -> bool:
    """Whether a photo may take a location as a copy: one we place, whose location (if any) a
    copy's outranks, and that the user has not declined copies for."""
    return record.status in PLACEABLE and rank(record.source) < rank(Source.COPY) and Source.COPY not in record.declined


def _may_give(original: PhotoRecord, copy: PhotoRecord) -> bool:
    """Whether `original` has a location to give `copy`: its own or a track's, stronger than the copy's."""
    return (
        original.status is Status.LOCATED and original.source in ORIGINAL_SOURCES and original.lat is not None and original.lon is not None
        and rank(original.source) > rank(copy.source)
    )  # fmt: skip


def not_same_moment(a: PhotoRecord, b: PhotoRecord) -> str | None:
    """Why two photos cannot be one picture whatever they look like, from what their files record:
    capture times further apart than SAME_MOMENT_S (a burst: time neighbours), or different
    cameras. A time from a file name or an original (`time_source`) is not the file's own."""
    first, second = (wall_clock(r.taken_at) if not r.time_source else None for r in (a, b))
    if first is not None and second is not None and abs((first - second).total_seconds()) > SAME_MOMENT_S:
        return f"taken {abs((first - second).total_seconds()):g} s apart (a burst or a time neighbour)"
    if a.camera and b.camera and a.camera.strip().casefold() != b.camera.strip().casefold():
        return f"taken with another camera ({a.camera}, {b.camera})"
    return None


def relocation(match: Match, *, stored: bool = False) -> Relocation:
    """The change that gives `match.copy` its original's location (and capture time, when its own
    file records none). `stored`: the copy is stored, so the change applies only if it still
    stands as it was judged."""
    original, likeness = match.original, match.likeness
    why = (
        f"a copy of {original.name} ({original.id}), located by {original.source.value if original.source else '?'}: "
        f"the same picture ({likeness.describe()}; hashes {match.distance} bits of 64 apart)"
    )
    return _placed(original, match.copy, (why,), judged=point_of(match.copy) if stored else None)


def _following(original: PhotoRecord, copy: PhotoRecord) -> Relocation:
    why = f"its original {original.name} ({original.id}) moved: follows it"
    return _placed(original, copy, (*copy.decisions[:1], why), judged=point_of(copy))


def _placed(original: PhotoRecord, copy: PhotoRecord, decisions: tuple[str, ...], judged: Any) -> Relocation:
    location = Location(
        Source.COPY, original.lat, original.lon, original.altitude, original.place, original.city, original.region, original.country_code,
        radius_km=original.radius_km,
    )  # fmt: skip

    def more(current: PhotoRecord) -> dict[str, Any]:
        fields: dict[str, Any] = {"copy_of": original.id, "description": None}
        if (not current.taken_at or current.time_source) and original.taken_at:  # its own file records no time
            fields.update(taken_at=original.taken_at, taken_utc=original.taken_utc, time_basis=original.time_basis, time_source=f"{ITS_ORIGINAL} {original.name}")
        return fields

    return Relocation(copy.id, location, by=Source.COPY.value, decisions=decisions, judged=judged, more=more)


def _km(a: PhotoRecord, b: PhotoRecord) -> float:
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return 0.0
    return haversine_km(a.lat, a.lon, b.lat, b.lon)
