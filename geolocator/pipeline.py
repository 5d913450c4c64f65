"""Ingest of one file: one typed `Task` through a list of stages, each `Task -> Task`.

    complete -> pair -> sniff -> hash -> original -> read -> picture | read track -> locate -> claim -> move -> follow -> finish

`complete` holds back photos that look cut short; `pair` is for .xmp sidecars, which travel with
their photo (geolocator.move.sidecars) and are never filed on their own unless their photo never comes.
`sniff` tells a GPS track (GPX, KML/KMZ, NMEA, GeoJSON, Takeout; by content) from a photo: a track
is recorded with status `track` and kept in library/tracks/. `picture` decodes a photo small to
compare it with others (`[location] copies`), when it may be a copy (no GPS of its own); one with
GPS is only ever an original, hashed after it is filed (`Locations.compare_filed`). `locate` places a photo without GPS as the copy of
a located photo, or from the tracks and photos around it (`Locations.place_new`), before the AI
is asked; `follow`
announces the filed photo or track (`Event.PHOTO_FILED`, `Event.TRACK_FILED`): the Core's
follow-ups place again the photos it covers, so arrival order never matters, and write sidecars;
`finish` then lets its intent be cleared, so a crash before that redoes the follow-ups too.

The stage list is data (`Pipeline.stages`, like beets' importer stages); each stage says when
it applies, adds what it learnt to a new `Task` (frozen) and hands it on. Moving without losing
anything across a crash (intent, move, finish, flush, recover) is `geolocator.move.intents`. `process_many`
runs a group of files through the stages before `claim`, writes all their intents with one
fsync, then moves them: a scan costs two journal writes per group, not one per photo.
`process_each`, what the service's workers and `scan` call, tries each file alone should a
group fail on a bug, so one odd file never stops the others.

In place (`[library] move = false`: the inbox is the user's archive, geolocator.move.in_place) the
stages up to `locate` are the same; `claim` records the file where it is (`_decide_in_place`: a
new record whose intent names the file itself, a duplicate that stays, or the record of this
content brought up to date: its new path, its file's stat), one journal write per group as when
moving, and `move` moves nothing. A content recorded before is never read again.

Every file that enters the inbox ends in the library, failed/ or duplicates/ with exactly one
record saying why. Records are keyed by the sha256 of the content, so:

- the first file with some content gets `id = record_id(sha256)`;
- a later file with the same content is a duplicate: moved to duplicates/ (never deleted), with
  its own record `id = record_id(sha256(sha256 + "\\0dup\\0" + nonce))`, `sha256` = the content
  hash, `duplicate_of` = the original's id. The nonce (uuid4) is drawn when the duplicate is
  claimed and made durable by the intent record before anything moves, so a restart resumes that
  record and never invents a second one.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import logging
import os
import stat
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, TypeVar

from geolocator.core import Core
from geolocator.errors import UnreadableImage
from geolocator.fileio import open_regular
from geolocator.folders import fsync_dir
from geolocator.locate.metadata.complete import missing_end
from geolocator.locate.metadata.file_names import NameClock, time_from_name
from geolocator.locate.tracks.model import TrackError, TrackFile
from geolocator.locate.tracks.parse import read_track, track_format
from geolocator.locations.capture_time import TimeBasis
from geolocator.locations.changes import Locations
from geolocator.locations.copies import needs_picture_now, picture_of_file
from geolocator.locations.from_file import file_location
from geolocator.locations.sidecar import holds_only_ours
from geolocator.locations.sidecar_files import MAX_SIDECAR
from geolocator.move.in_place import Archive, FileStat, file_stat
from geolocator.move.intents import encode_path, is_entry, sha256_file
from geolocator.move.naming import is_sidecar, layout_folder, readable_name, sidecar_name
from geolocator.move.sidecars import RecentlyFiled, photo_beside, sidecars_of
from geolocator.record import AI_DISABLED, LOCATION_FIELDS, OWED, WAITING_FOR_AI, PhotoMetadata, PhotoRecord, Status, record_id
from geolocator.record.events import Event

if TYPE_CHECKING:
    from geolocator.locate.pictures import Picture
    from geolocator.locate.places import PlaceName

log = logging.getLogger(__name__)

FILED_BY = "import"  # `by` of what follows a photo or track being filed
SIDECAR_WITHOUT_PHOTO = "sidecar without photo"
UNREADABLE_TRACK = "a GPS track we cannot read"  # then ": <why>"
TRUNCATED = "truncated"  # the warning of a photo recorded from what a file cut short says: then ": <why>"
INCOMPLETE = "incomplete"  # the error of a file cut short in which nothing can be read: then ": <why>"
TRACKS_FOLDER = "tracks"  # under the library (Folders.tracks)
UNDATED_FOLDER = "undated"  # under the library: photos whose file holds no capture time

T = TypeVar("T")
A = TypeVar("A")


class NotSettled(Exception):
    """The file is probably still being written (unreadable and written moments ago, or cut
    short and changed within `incomplete_seconds`). The watcher gives it the full settle time
    before trying again; `retry_in` says when the answer can next change (seconds)."""

    def __init__(self, reason: str, retry_in: float = 0.0) -> None:
        super().__init__(reason)
        self.retry_in = retry_in


class StageOrderError(RuntimeError):
    """A stage ran before the stage that provides what it needs: a bug in the stage list."""


def _need(value: T | None, what: str) -> T:
    if value is None:
        raise StageOrderError(f"{what} is not known yet at this stage")
    return value


class Claim(enum.Enum):
    """How the claim stage decided the file's move."""

    NEW = "new"  # an intent written now
    RESUMED = "resumed"  # this very file's intent from an earlier attempt that did not finish
    JOINED = "joined"  # a sidecar following its photo, filed moments before
    UPDATED = "updated"  # in place: the record of this content, its path or its file's stat brought up to date


class Role(enum.Enum):
    PHOTO = "photo"  # anything that is not a sidecar: a photo, a video, a file we cannot read
    SIDECAR = "sidecar"  # NAME.xmp / NAME.EXT.xmp: travels with its photo
    TRACK = "track"  # a GPS track file, recognised by its content: kept in library/tracks/


# -- the typed task ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One inbox file on its way through the stages; each stage fills in what it learnt."""

    source: Path  # as the OS names it (undecodable bytes as surrogates): used for every file operation
    name: str  # readable, valid UTF-8: the record's name and the destination's
    size: int
    mtime: float
    arrived: float  # st_ctime: the last change of any kind, a rename into the inbox included
    role: Role = Role.PHOTO
    joins: str | None = None  # a sidecar: the id of the photo's record it follows
    sha256: str | None = None
    original: PhotoRecord | None = None  # the record whose content this file repeats
    metadata: PhotoMetadata | None = None
    track: TrackFile | None = None  # a track file's points
    picture: Picture | None = None  # what it shows, to compare with other photos ([location] copies)
    error: str | None = None  # why the file cannot be read
    truncated: str | None = None  # why it looks cut short, once it has waited `incomplete_seconds` unchanged
    record: PhotoRecord | None = None  # what will be stored; the intent once claimed
    claim: Claim | None = None
    seen: FileStat | None = None  # (size, mtime_ns, inode) as `lstat` found it: in place, the record's `file_stat`

    @classmethod
    def arriving(cls, source: Path, st: os.stat_result) -> Task:
        """The task for an inbox file as `lstat` found it."""
        role = Role.SIDECAR if is_sidecar(source.name) else Role.PHOTO
        return cls(source=source, name=readable_name(source.name), size=st.st_size, mtime=st.st_mtime, arrived=st.st_ctime, role=role, seen=file_stat(st))

    @property
    def content_hash(self) -> str:
        return _need(self.sha256, "the content hash")


@dataclass(frozen=True)
class Outcome:
    """What became of one file given to `process_many`."""

    source: Path
    record: PhotoRecord | None = None  # as `process` returns it
    waiting: NotSettled | None = None  # the file may still be changing: try it again later
    why: str | None = None  # why a file without a record or a wait was left where it is (`scan` says it)


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Task], Task]
    when: Callable[[Task], bool] = lambda task: True


# -- pure parts ------------------------------------------------------------------------------------
def duplicate_id(sha256: str, nonce: str) -> str:
    return record_id(hashlib.sha256(f"{sha256}\0dup\0{nonce}".encode()).hexdigest())


def capture_time(taken_at: str | None) -> datetime | None:
    """When the photo was taken, as its record holds it (the wall clock its file, its name or its
    original gives; a date alone is that day), or None when nothing says."""
    if taken_at:
        try:
            return datetime.fromisoformat(taken_at)
        except ValueError:
            pass
    return None


def subfolder(record: PhotoRecord, layout: str) -> PurePosixPath:
    """Where under its root a record's file goes: the layout for library photos, by the capture
    time the record holds (the file's, its name's or its original's; `undated/` without one: the
    day it was copied is not when it was taken), flat otherwise."""
    if record.status in (Status.FAILED, Status.DUPLICATE):
        return PurePosixPath()
    if record.status is Status.TRACK:
        return PurePosixPath(TRACKS_FOLDER)
    when = capture_time(record.taken_at)
    return PurePosixPath(UNDATED_FOLDER) if when is None else layout_folder(layout, when)


def locate(task: Task, ai_enabled: bool, describe: Callable[[float, float], PlaceName], *, owed: bool = False) -> PhotoRecord:
    """The record for a newly seen content, from what the file says about itself
    (`file_location`); `describe` names a point (`places.name`). `owed`: its picture is hashed
    after it is filed (its signature OWED until then)."""
    sha256 = task.content_hash
    if task.error is not None or task.metadata is None:
        return PhotoRecord(id=record_id(sha256), sha256=sha256, name=task.name, path=None, status=Status.FAILED, error=task.error or "unreadable")
    md = task.metadata
    warning = f"{TRUNCATED}: {task.truncated}" if task.truncated else None
    found = file_location(md, describe)
    where = found.location
    # Built in one go: a dataclasses.replace of a record this wide costs ~10 µs, a third of this step.
    taken_at, time_source, taken_utc, time_basis = _taken(md, task.name)
    read = functools.partial(
        PhotoRecord, id=record_id(sha256), sha256=sha256, name=task.name, path=None, camera=md.camera, camera_serial=md.serial, altitude=md.altitude,
        warning=warning, taken_at=taken_at, time_source=time_source, taken_utc=taken_utc, time_basis=time_basis,
        phash=task.picture.signature if task.picture is not None else OWED if owed else None,
    )  # fmt: skip
    if not where.has_location:
        return read(status=Status.PENDING, error=WAITING_FOR_AI) if ai_enabled else read(status=Status.UNLOCATED, error=AI_DISABLED)
    if found.decisions:
        log.info("%s: its sidecar says the location is %s: kept so", task.name, where.source.value if where.source else "none")
    fields = {name: getattr(where, name) for name in LOCATION_FIELDS}
    return read(status=Status.LOCATED, model=found.model, decisions=found.decisions, **fields)


def _taken(md: PhotoMetadata, name: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(taken_at, time_source, taken_utc, time_basis) of a new record: the file's own time; else,
    when the file records no time at all (nor a GPS time stamp), the one its name gives, saying
    so; a name in UTC gives the UTC time too."""
    named = time_from_name(name) if md.taken_at is None and md.gps_utc is None else None
    if named is None:
        return md.taken_at, None, None, None
    if named.clock is NameClock.UTC:
        return named.taken_at, named.source, named.wall.replace(tzinfo=UTC).isoformat(), TimeBasis.FILE_NAME.value
    return named.taken_at, named.source, None, None


def track_record(task: Task) -> PhotoRecord:
    """The record of a track file: its span and size in the description, or why it is failed."""
    sha256 = task.content_hash
    base = PhotoRecord(id=record_id(sha256), sha256=sha256, name=task.name, path=None, status=Status.TRACK)
    if task.error is not None or task.track is None:
        return dataclasses.replace(base, status=Status.FAILED, error=task.error or UNREADABLE_TRACK)
    found = task.track
    summary = f"{found.format.value} track: {len(found.tracks)} part(s), {found.point_count:,} points, {found.start:%Y-%m-%d %H:%M:%S}Z to {found.end:%Y-%m-%d %H:%M:%S}Z"
    return dataclasses.replace(base, taken_utc=found.start.isoformat(), description=summary)


def as_duplicate(task: Task, original: PhotoRecord) -> PhotoRecord:
    sha256 = task.content_hash
    return PhotoRecord(
        id=duplicate_id(sha256, uuid.uuid4().hex),
        sha256=sha256,
        name=task.name,
        path=None,
        status=Status.DUPLICATE,
        duplicate_of=original.id,
        error=f"same content as {original.id} ({original.path or original.name})",
    )


# -- the pipeline ----------------------------------------------------------------------------------
class Pipeline:
    """Runs the stages for one file at a time per calling thread; safe to call from several."""

    def __init__(self, core: Core, *, read: Callable[[Path], PhotoMetadata] | None = None) -> None:
        if read is None:
            from geolocator.locate.metadata import read_metadata

            read = read_metadata
        config = core.config
        self.core = core
        self.store = core.store
        self.folders = core.folders
        self.intents = core.intents
        self.archive = core.archive  # in place (`[library] move = false`); None when files are moved
        self.tracks = core.tracks
        self.locations: Locations = core.locations
        self.layout = config.library.layout
        self.ai_enabled = config.ollama.enabled
        self.settle_seconds = config.watch.settle_seconds
        self.incomplete_seconds = config.watch.incomplete_seconds
        self.ignore = config.watch.ignore
        self.recently_filed = RecentlyFiled(keep=self.incomplete_seconds)  # under intents.lock
        self._read = read
        self._describe = core.describe
        self.track_limits = core.tracks.limits
        self.stages: tuple[Stage, ...] = (
            Stage("complete", self.check_complete, when=lambda task: task.role is Role.PHOTO and task.error is None),
            Stage("pair", self.pair, when=lambda task: task.role is Role.SIDECAR),
            Stage("sniff", self.sniff, when=lambda task: task.role is Role.PHOTO and task.error is None),
            Stage("hash", self.hash, when=lambda task: task.joins is None),
            Stage("original", self.find_original, when=lambda task: task.joins is None),
            Stage("read", self.read, when=lambda task: task.role is Role.PHOTO and task.error is None and self.is_new_content(task)),
            Stage("picture", self.look, when=self.looks_now),
            Stage("read track", self.read_track, when=lambda task: task.role is Role.TRACK and self.is_new_content(task)),
            Stage("locate", self.locate, when=lambda task: task.joins is None and self.is_new_content(task)),
            Stage("claim", self.claim),
            Stage("move", self.move),
            Stage("follow", self.follow, when=lambda task: task.claim in (Claim.NEW, Claim.RESUMED)),
            Stage("finish", self.finish, when=lambda task: task.claim is not Claim.UPDATED),
        )
        at = [stage.name for stage in self.stages].index("claim")
        self._before_claim, self._after_claim = self.stages[:at], self.stages[at + 1 :]

    # -- stages ----------------------------------------------------------------------------------
    def check_complete(self, task: Task) -> Task:
        """A file that looks cut short waits until it has not changed for `incomplete_seconds`
        (a writer that closes between chunks is still at work: never split into pieces). Then it
        is taken as it is: `read` locates it from what it says (a header's GPS is whole), with a
        warning, or fails it as incomplete when nothing in it can be read."""
        why = missing_end(task.source)
        if why is None:
            return task
        unchanged = time.time() - task.mtime
        if unchanged < self.incomplete_seconds:
            raise NotSettled(f"{why}: waiting until it has not changed for {self.incomplete_seconds:g} s", self.incomplete_seconds - unchanged)
        return dataclasses.replace(task, truncated=f"{why} (unchanged for {unchanged:.0f} s)")

    def pair(self, task: Task) -> Task:
        """A sidecar waits while its photo is in the inbox (the photo's claim takes it along),
        follows a photo filed moments before, or, alone for `incomplete_seconds` since it
        arrived, is failed as a sidecar without photo."""
        with self.intents.lock:
            if task.source in self.intents.sources:
                raise NotSettled("moving with its photo", self.settle_seconds)
            photo = photo_beside(task.source, self.ignore)
            if photo is not None:
                raise NotSettled(f"waiting for its photo {readable_name(photo.name)}", self.settle_seconds)
            joins = self.recently_filed.photo_of(task.source)
        if joins is not None:
            return dataclasses.replace(task, joins=joins)
        alone = time.time() - task.arrived
        if alone < self.incomplete_seconds:
            raise NotSettled(f"a sidecar waiting for its photo (up to {self.incomplete_seconds:g} s)", self.incomplete_seconds - alone)
        return dataclasses.replace(task, error=SIDECAR_WITHOUT_PHOTO)

    def sniff(self, task: Task) -> Task:
        """A track file is told from a photo by its content (at most 64 KiB read). One whose head
        is refused (JSON nested thousands deep) is a track too: reading it says why it fails."""
        try:
            found = track_format(task.source)
        except TrackError:
            return dataclasses.replace(task, role=Role.TRACK)
        return task if found is None else dataclasses.replace(task, role=Role.TRACK)

    def read_track(self, task: Task) -> Task:
        try:
            return dataclasses.replace(task, track=read_track(task.source, self.track_limits))
        except TrackError as exc:  # malformed, or past the size and point limits: failed with the reason
            return dataclasses.replace(task, error=f"{UNREADABLE_TRACK}: {exc}")
        except FileNotFoundError:
            raise
        except Exception as exc:  # a reader bug: record it against the file, keep going
            log.exception("reading the track %s failed unexpectedly", task.source)
            return dataclasses.replace(task, error=f"{UNREADABLE_TRACK}: internal error: {type(exc).__name__}: {exc}")

    def hash(self, task: Task) -> Task:
        return dataclasses.replace(task, sha256=sha256_file(task.source))

    def find_original(self, task: Task) -> Task:
        return dataclasses.replace(task, original=self.store.get(record_id(task.content_hash)))

    def is_new_content(self, task: Task) -> bool:
        """No record has this content, or its file is gone: the file itself must be read. In place
        a content recorded before is never read again: its record moves to where it is now, or
        this copy is its duplicate."""
        if self.archive is not None:
            return task.original is None
        return task.original is None or not self.has_file(task.original)

    def read(self, task: Task) -> Task:
        """What the file says about itself; one cut short is failed as incomplete only when it
        says nothing (no location, time or camera) or cannot be read at all."""
        young = time.time() - task.mtime < self.settle_seconds
        try:
            metadata = self._read(task.source)
        except UnreadableImage as exc:
            if young and task.truncated is None:
                raise NotSettled(str(exc), self.settle_seconds) from None
            why = str(exc) or "unreadable"
            return dataclasses.replace(task, error=f"{INCOMPLETE}: {task.truncated}: {why}" if task.truncated else why)
        except FileNotFoundError:
            raise
        except Exception as exc:  # a reader bug: record it against the file, keep going
            log.exception("reading %s failed unexpectedly", task.source)
            return dataclasses.replace(task, error=f"internal error while reading: {type(exc).__name__}: {exc}")
        if task.truncated and metadata == PhotoMetadata():
            return dataclasses.replace(task, error=f"{INCOMPLETE}: {task.truncated}: nothing in it can be read")
        return dataclasses.replace(task, metadata=metadata)

    def looks_now(self, task: Task) -> bool:
        """Whether the `picture` stage decodes this photo while filing it: one that may be a copy
        (`copies.needs_picture_now`). One with GPS of its own is filed without it, and hashed
        after (`Locations.compare_filed`)."""
        return (
            self.core.copies is not None and task.role is Role.PHOTO and task.metadata is not None and needs_picture_now(task.metadata)
            and self.is_new_content(task)
        )  # fmt: skip

    def look(self, task: Task) -> Task:
        """The photo's picture, small and upright, to find the photo it is a copy of and its
        copies (geolocator.locations.copies). A video has none, nor has a picture that cannot be
        decoded: either is filed all the same."""
        try:
            return dataclasses.replace(task, picture=picture_of_file(task.source))
        except FileNotFoundError:
            raise
        except (UnreadableImage, OSError) as exc:
            log.info("%s: its picture is not compared with others: %s", task.name, exc)
        except Exception:  # a bug: never lose the photo over it
            log.exception("decoding the picture of %s failed unexpectedly", task.source)
        return task

    def locate(self, task: Task) -> Task:
        if task.role is Role.TRACK:
            return dataclasses.replace(task, record=track_record(task))
        owed = self.core.copies is not None and task.metadata is not None and not needs_picture_now(task.metadata)
        record = locate(task, self.ai_enabled, self._describe, owed=owed)
        gps_utc = task.metadata.gps_utc if task.metadata is not None else None
        return dataclasses.replace(task, record=self.locations.place_new(record, gps_utc, task.picture))

    def claim(self, task: Task) -> Task:
        """Decide the final record and its destination, and store it as an intent (fsynced).
        A photo's sidecars lying beside it are claimed with it."""
        with self.intents.lock:
            task = self._decide(task, {})
            return self._committed([task])[0]

    def _decide(self, task: Task, pending: Mapping[str, PhotoRecord]) -> Task:
        """The claim of one file with its destination reserved, its intent not yet written
        (`_committed` writes it); `pending` holds the unwritten intents of the files claimed
        with it, by id, so a content twice in one group is filed once. Caller holds the lock."""
        if task.joins is not None:
            return self._claim_join(task, task.joins)
        if self.archive is not None:
            return self._decide_in_place(task, pending, self.archive)
        if task.error == SIDECAR_WITHOUT_PHOTO and (task.source in self.intents.sources or photo_beside(task.source, self.ignore)):
            raise NotSettled("its photo has just arrived", self.settle_seconds)  # it takes the sidecar along
        rid = record_id(task.content_hash)
        existing = pending.get(rid) or self.store.get(rid)
        if existing is not None and existing.moving_from == encode_path(task.source):
            return dataclasses.replace(task, record=existing, claim=Claim.RESUMED)  # a move that failed earlier
        if existing is not None and self.has_file(existing):
            record = as_duplicate(task, existing)
        elif existing is not None:
            record = Locations.reimported(existing, _need(task.record, "the located record"))
            log.info("%s: its earlier copy (%s) is no longer there: imported again", task.name, existing.path)
        else:
            record = _need(task.record, "the located record")
        folder = self.folders.root(record.status) / subfolder(record, self.layout)
        sidecars = sidecars_of(task.source, self.intents.sources) if task.role is Role.PHOTO and record.status is not Status.TRACK else ()
        intent = self.intents.reserve(record, folder, task.source, sidecars, write=False)
        return dataclasses.replace(task, record=intent, claim=Claim.NEW)

    def _decide_in_place(self, task: Task, pending: Mapping[str, PhotoRecord], archive: Archive) -> Task:
        """The record of a file where it is (`[library] move = false`): the record already at its
        path when it holds this content (its stat brought up to date), a new record (its intent
        names the file itself, so that what follows is redone after a crash), a duplicate of the
        copy recorded first that is still in place, or the record of this content whose file is
        gone from where it was (moved here: its path follows). Caller holds the lock."""
        path, sha256 = self.folders.relative(task.source), task.content_hash
        here = archive.at(path)
        if here is not None and here.sha256 == sha256:
            return dataclasses.replace(task, record=dataclasses.replace(here, file_stat=task.seen, missing_since=None), claim=Claim.UPDATED)
        existing = pending.get(record_id(sha256)) or self.store.get(record_id(sha256))
        if existing is not None and existing.moving_from == encode_path(task.source):
            return dataclasses.replace(task, record=existing, claim=Claim.RESUMED)
        if here is not None:  # another content was recorded at this path: it is no longer there
            archive.replaced(here)
        if existing is not None and not (existing.id in pending or archive.holds(existing)):
            log.info("%s: moved within the archive to %s", existing.path, path)
            sidecar_due = existing.sidecar_due or self.core.sidecars.owed(existing)  # ours stays by the old name: one more by the new
            moved = dataclasses.replace(existing, path=path, file_stat=task.seen, missing_since=None, sidecar_due=sidecar_due)
            return dataclasses.replace(task, record=moved, claim=Claim.UPDATED)
        record = _need(task.record, "the located record") if existing is None else as_duplicate(task, existing)
        intent = dataclasses.replace(record, path=path, moving_from=encode_path(task.source), file_stat=task.seen, missing_since=None)
        return dataclasses.replace(task, record=intent, claim=Claim.NEW)

    def _committed(self, tasks: Sequence[Task]) -> list[Task]:
        """`tasks` once the intents of their new claims (and in place, the records brought up to
        date) are written, all with one fsync (a sidecar joining its photo wrote its own). Caller
        holds the lock."""
        written = (Claim.NEW, Claim.UPDATED)
        new = [_need(task.record, "the intent") for task in tasks if task.claim in written]
        stored = {record.id: record for record in self.intents.commit(new)} if new else {}
        if self.archive is not None and stored:
            self.archive.index(stored.values())
        return [dataclasses.replace(task, record=stored[_need(task.record, "the intent").id]) if task.claim in written else task for task in tasks]

    def _claim_join(self, task: Task, photo_id: str) -> Task:
        """A sidecar following its filed photo; its intent is written here. Caller holds the lock."""
        photo = self.store.get(photo_id)
        dest = self.folders.file_of(photo) if photo is not None and photo.moving_from is None else None
        if photo is None or dest is None or not dest.is_file():
            raise NotSettled("its photo is no longer where it was filed", self.settle_seconds)
        intent = self.intents.join(photo, task.source, sidecar_name(photo.name, task.name, dest.name))
        return dataclasses.replace(task, record=intent, claim=Claim.JOINED)

    def move(self, task: Task) -> Task:
        intent = _need(task.record, "the intent")
        if self.archive is not None:
            return self._recorded_in_place(task, intent)
        match _need(task.claim, "the claim"):
            case Claim.NEW:
                record = self.intents.move(intent)
            case Claim.RESUMED:
                record = self.intents.resolve(intent)
            case Claim.JOINED:
                return dataclasses.replace(task, record=self._in_place_of_ours(self.intents.move_sidecars(intent), task.name))
        if task.role is Role.PHOTO and record.path is not None:
            with self.intents.lock:
                self.recently_filed.add(task.source, record.id)
        return dataclasses.replace(task, record=record)

    def _recorded_in_place(self, task: Task, record: PhotoRecord) -> Task:
        """In place nothing moves: a record brought up to date gets the sidecar it is owed beside
        its new name; a new one is followed up (`follow`), its intent cleared at `finish`."""
        if task.claim is Claim.UPDATED and record.sidecar_due:
            self.core.sidecars.sync([record])
        return task

    def _in_place_of_ours(self, photo: PhotoRecord, arrived_as: str) -> PhotoRecord:
        """A sidecar that followed its filed photo under a numbered name (`IMG.jpg-2.xmp`, which
        no other program links to the photo) because ours was there: it takes the name of ours
        when ours holds nothing but what the record can write again, and ours is made again by
        merging into it (`sidecar_due`: after a crash too). Another program's sidecar there is
        never replaced: the arrival keeps its numbered name."""
        photo_file = self.folders.file_of(photo)
        if photo_file is None or not photo.sidecars:
            return photo
        joined = photo.sidecars[-1]
        canonical = photo_file.parent / sidecar_name(photo.name, arrived_as, photo_file.name)
        root = self.folders.root(photo.status)
        if root / joined == canonical or not is_entry(canonical) or os.path.islink(canonical):
            return photo
        try:
            with open_regular(canonical, follow_symlinks=False) as fh:
                ours = holds_only_ours(fh.read(MAX_SIDECAR + 1))
            if not ours:
                return photo
            self.store.update(photo.id, lambda current: dataclasses.replace(current, sidecar_due=True) if current else None)
            os.replace(root / joined, canonical)  # ours is derived data: the record makes it again
            fsync_dir(canonical.parent)
        except OSError as exc:
            log.warning("%s stays beside its photo as %s: %s", arrived_as, joined, exc)
            return photo
        moved = canonical.relative_to(root).as_posix()
        log.info("%s took the place of our sidecar %s (ours is merged into it)", arrived_as, canonical.name)
        stored = self.store.update(photo.id, lambda current: dataclasses.replace(current, sidecars=tuple(dict.fromkeys(moved if s == joined else s for s in current.sidecars))) if current else None)
        self.core.sidecars.sync([stored or photo])
        return stored or photo

    def follow(self, task: Task) -> Task:
        """Once filed: a track joins the known tracks; then the filed photo or track is announced
        and the Core's follow-ups run (the photos it places, sidecars). The file is in place
        already: a follow-up that fails is logged, never fatal (`Events.send`)."""
        record = _need(task.record, "the filed record")
        if record.status is Status.TRACK:
            try:
                if task.track is not None:
                    self.tracks.add(record.id, task.track.tracks)
                else:  # a move resumed after a crash: read from the library
                    self.tracks.load([record])
            except (OSError, TrackError, ValueError) as exc:
                log.error("%s is filed, but its points could not be loaded: %s", record.name, exc)
                return task
            self.core.events.send(Event.TRACK_FILED, [record], FILED_BY)
        else:
            self.core.events.send(Event.PHOTO_FILED, [record], FILED_BY)
        return task

    def finish(self, task: Task) -> Task:
        """Its moves and follow-ups done: the intent is cleared at the next flush."""
        self.intents.finish(_need(task.record, "the filed record"))
        return task

    def has_file(self, record: PhotoRecord) -> bool:
        """Whether a recorded photo's file is still where the record says (or on its way there)."""
        if record.moving_from:
            return True
        path = self.folders.file_of(record)
        return path is not None and is_entry(path)

    # -- driving ---------------------------------------------------------------------------------
    def run(self, task: Task, stages: Sequence[Stage] | None = None) -> Task:
        """Pass `task` through `stages` (all of them by default), skipping those that do not apply."""
        for stage in self.stages if stages is None else stages:
            if stage.when(task):
                task = stage.run(task)
        return task

    def process(self, source: Path) -> PhotoRecord | None:
        """Ingest one inbox file. Returns its record (still carrying the intent until `flush`),
        or None when the file vanished or could not be moved (it stays in the inbox; logged) or
        was a sidecar that followed its photo (recorded on the photo's record). Raises
        NotSettled for a file that may still be changing, or a sidecar waiting for its photo."""
        (outcome,) = self.process_many([source])
        if outcome.waiting is not None:
            raise outcome.waiting
        return outcome.record

    def process_many(self, sources: Sequence[Path]) -> list[Outcome]:
        """Ingest several inbox files, one `Outcome` each (in order; see `process`): every file
        is read and located first, then all are claimed and their intents written with one
        fsync before the first of them moves, then each moves and is followed up. A crash
        leaves the states `process` can, for several files at once: `recover` finishes them."""
        outcomes: dict[int, Outcome] = {}
        prepared: list[tuple[int, Task]] = []
        for i, source in enumerate(sources):
            found = self._guarded(source, self._prepare, source)
            if isinstance(found, Outcome):
                outcomes[i] = found
            else:
                prepared.append((i, found))
        claimed = self._claim_many(prepared, outcomes)
        moved = 0
        try:
            for i, task in claimed:
                done = self._guarded(task.source, self._carry_out, task)
                outcomes[i] = done if isinstance(done, Outcome) else self._filed(done)
                moved += 1
        finally:  # a bug stopped the group: what did not move keeps its intent, resumed when seen again
            for _, task in claimed[moved:]:
                if task.claim is not Claim.RESUMED:
                    self.intents.release(_need(task.record, "the intent"))
        return [outcomes[i] for i in range(len(sources))]

    def process_each(self, sources: Sequence[Path]) -> list[Outcome]:
        """`process_many`; should the group fail unexpectedly (a bug), each file is tried alone
        (`process_alone`), so one odd file never stops the others."""
        try:
            return self.process_many(sources)
        except Exception:
            log.exception("processing a group of %d files failed unexpectedly; each is tried alone", len(sources))
            return [self.process_alone(source) for source in sources]

    def process_alone(self, source: Path) -> Outcome:
        """One file's `Outcome`; a bug on it is logged (the file stays in the inbox, or was
        moved) and gives an empty outcome, never an exception: the next file goes on."""
        try:
            (outcome,) = self.process_many([source])
        except Exception as exc:
            where = "it stays in the inbox" if os.path.lexists(source) else "it was moved"
            log.exception("processing %s failed unexpectedly; %s", source, where)
            return Outcome(source, why=f"an internal error: {type(exc).__name__}: {exc}")
        return outcome

    def _prepare(self, source: Path) -> Task | Outcome:
        """One file through the stages before `claim` (reading; nothing written, nothing moved)."""
        st = source.lstat()
        if stat.S_ISLNK(st.st_mode):  # filed as itself, to failed/, whatever its name: its target is not ours
            target = os.fsdecode(os.readlink(source))
            task = dataclasses.replace(Task.arriving(source, st), role=Role.PHOTO, error=f"a symbolic link (to {target}), not a file: the link is kept here, what it points to is left where it is")
            return self.run(task, self._before_claim)
        if not stat.S_ISREG(st.st_mode):  # FIFOs, sockets, devices: never opened, never moved
            log.info("%s is not a regular file: left alone", source)
            return Outcome(source, why="not a regular file (a FIFO, socket or device): left alone")
        task = Task.arriving(source, st)
        if self.archive is not None and task.role is Role.SIDECAR:  # in place a sidecar is read with its photo, never a record of its own
            return Outcome(source)
        return self.run(task, self._before_claim)

    def _claim_many(self, prepared: Sequence[tuple[int, Task]], outcomes: dict[int, Outcome]) -> list[tuple[int, Task]]:
        """Claim the prepared files and write their intents together (one fsync). Returns the
        claims to carry out; a file that cannot be claimed now gets its outcome in `outcomes`."""
        pending: dict[str, PhotoRecord] = {}  # new intents of this group, by id
        decided: list[tuple[int, Task]] = []
        try:
            with self.intents.lock:
                for i, task in prepared:
                    found = self._guarded(task.source, functools.partial(self._decide, pending=pending), task)
                    if isinstance(found, Outcome):
                        outcomes[i] = found
                        continue
                    if found.claim in (Claim.NEW, Claim.UPDATED):
                        intent = _need(found.record, "the intent")
                        pending[intent.id] = intent
                    decided.append((i, found))
                written = self._committed([task for _, task in decided])
                self._flush_archive()
        except OSError as exc:  # the intents could not be written (`commit` gave their names back): nothing moved
            log.error("cannot record %d file(s) now (left in the inbox, retried later): %s", len(pending), exc)
            unwritten = (Claim.NEW, Claim.UPDATED)
            outcomes.update((i, Outcome(task.source, why=f"cannot be recorded now: {exc}")) for i, task in decided if task.claim in unwritten)
            return [(i, task) for i, task in decided if task.claim not in unwritten]
        except BaseException:
            for intent in pending.values():
                self.intents.release(intent)
            raise
        return [(i, task) for (i, _), task in zip(decided, written, strict=True)]

    def _flush_archive(self) -> None:
        """In place: write what deciding found of other records (a content replaced at its path)."""
        if self.archive is not None and self.archive.pending():
            self.archive.flush()

    def _carry_out(self, task: Task) -> Task:
        return self.run(task, self._after_claim)

    def _guarded(self, source: Path, step: Callable[[A], Task | Outcome], arg: A) -> Task | Outcome:
        """`step(arg)` for the file at `source`, or the outcome of a file that cannot be taken now."""
        try:
            return step(arg)
        except FileNotFoundError:
            log.info("%s disappeared before it could be processed", source)
        except NotSettled as exc:
            return Outcome(source, waiting=exc)
        except OSError as exc:
            log.error("cannot process %s now (left in the inbox, retried later): %s", source, exc)
            return Outcome(source, why=f"cannot be processed now: {exc.strerror or exc}")
        return Outcome(source)

    def _filed(self, task: Task) -> Outcome:
        record = _need(task.record, "the record")
        if task.claim is Claim.JOINED:  # not a file of its own: part of its photo's record
            log.info("%s followed its photo %s -> %s", task.name, record.name, record.sidecars[-1] if record.sidecars else "?")
            return Outcome(task.source)
        if self.archive is not None:
            log.info("%s: %s (%s)", record.path, "recorded before" if task.claim is Claim.UPDATED else "recorded in place", record.status.value)
            return Outcome(task.source, record)
        log.info("%s -> %s/%s (%s)", task.name, self.folders.root(record.status).name, record.path, record.status.value)
        return Outcome(task.source, record)

    def flush(self) -> list[PhotoRecord]:
        """Clear the intents of finished moves (one fsync for all of them)."""
        return self.intents.flush()

    def recover(self) -> int:
        """Finish what a previous run left (`Core.recover`; call before watching). Returns how
        many interrupted moves."""
        return self.core.recover()
