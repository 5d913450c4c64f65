"""The inbox watcher with real watchdog observers on real folders: when is a file ready?"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from expect import expect, never
from photos import jpeg_bytes

from geolocator.config import WatchConfig
from geolocator.watch.watcher import CLOSE_QUIET, Change, Phase, Watcher, after, is_ignored, iter_inbox, quiet_needed, shown

IGNORE = (".*", "*.part", "*.crdownload", "*.tmp", "~*")

class Ready:
    """Collects what the watcher hands over: (path, size at that moment, time)."""

    def __init__(self) -> None:
        self.items: list[tuple[Path, int, float]] = []
        self.lock = threading.Lock()
        self.then = lambda path: None  # what the worker does next (e.g. watcher.done)

    def __call__(self, path: Path) -> None:
        with self.lock:
            self.items.append((path, path.stat().st_size if path.exists() else -1, time.monotonic()))
        self.then(path)

    def paths(self) -> list[Path]:
        with self.lock:
            return [p for p, _, _ in self.items]

    def get(self, path: Path):
        with self.lock:
            return next(((s, t) for p, s, t in self.items if p == path), None)


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def watching(inbox: Path, settle: float = 1.0, polling: bool = False, observe: bool = True, rescan_minutes: float = 0.0):
    ready = Ready()
    config = WatchConfig(recursive=True, polling=polling, settle_seconds=settle, rescan_minutes=rescan_minutes, ignore=IGNORE)
    watcher = Watcher(inbox, config, ready, observe=observe, poll_interval=0.1)
    return watcher, ready


@pytest.fixture
def watch(inbox):
    started = []

    def start(**kwargs):
        watcher, ready = watching(inbox, **kwargs)
        watcher.start()
        started.append(watcher)
        return watcher, ready

    yield start
    for watcher in started:
        watcher.stop()


def test_a_copied_in_file_is_ready_soon_after_close_without_waiting_the_settle_time(inbox, watch, tmp_path):
    _, ready = watch(settle=600.0)  # far beyond the deadline: only the close-write can hand it over in time
    outside = tmp_path / "photo.jpg"
    outside.write_bytes(jpeg_bytes(1))
    shutil.copyfile(outside, inbox / "photo.jpg")
    size, _ = expect(lambda: ready.get(inbox / "photo.jpg"), timeout=60, what="the copy to be ready")
    assert size == outside.stat().st_size


def test_a_slow_chunked_write_is_not_ready_before_it_is_complete(inbox, watch):
    _, ready = watch(settle=3.0)
    target = inbox / "slow.jpg"
    data = jpeg_bytes(2) * 20
    chunks = [data[i : i + len(data) // 10] for i in range(0, len(data), len(data) // 10)]
    with target.open("wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
            fh.flush()
            never(lambda: ready.get(target), 0.25, what="a half-written file handed over")
    size, _ = expect(lambda: ready.get(target), timeout=60, what="the finished file")
    assert size == len(data)


def test_a_writer_that_closes_and_reopens_gets_the_full_settle_time(inbox, watch):
    _, ready = watch(settle=3.0)
    target = inbox / "reopened.jpg"
    data = jpeg_bytes(3) * 10
    step = len(data) // 6
    writer = target.open("ab")
    for i in range(0, len(data), step):
        writer.write(data[i : i + step])
        writer.flush()
        # The next open comes before this close (as a sync tool's next chunk, within CLOSE_QUIET
        # whatever the load): after the close, the write makes the file "rewritten".
        reopened = target.open("ab")
        writer.close()
        writer = reopened
        never(lambda: ready.get(target), CLOSE_QUIET * 2, what="handed over between two chunks")
    writer.close()
    size, _ = expect(lambda: ready.get(target), timeout=60)
    assert size == len(data)


def test_moved_in_from_another_folder_and_nested_folders(inbox, watch, tmp_path):
    _, ready = watch(settle=600.0)
    outside = tmp_path / "elsewhere" / "moved.jpg"
    outside.parent.mkdir()
    outside.write_bytes(jpeg_bytes(4))
    os.rename(outside, inbox / "moved.jpg")
    nested = inbox / "2024" / "trip" / "deep.jpg"
    nested.parent.mkdir(parents=True)
    nested.write_bytes(jpeg_bytes(5))
    folder = tmp_path / "album"
    folder.mkdir()
    (folder / "in-a-folder.jpg").write_bytes(jpeg_bytes(6))
    os.utime(folder / "in-a-folder.jpg", (time.time() - 60, time.time() - 60))
    os.rename(folder, inbox / "album")  # a whole folder moved in
    wanted = {inbox / "moved.jpg", nested, inbox / "album" / "in-a-folder.jpg"}
    expect(lambda: wanted <= set(ready.paths()), timeout=60, what=f"{wanted} (got {ready.paths()})")


def test_temporary_and_hidden_names_are_left_alone_until_renamed(inbox, watch):
    _, ready = watch(settle=0.3)
    ignored = [inbox / "d.jpg.part", inbox / "e.crdownload", inbox / ".hidden.jpg", inbox / "~lock.jpg", inbox / "x.tmp", inbox / ".sync" / "inside.jpg"]
    for path in ignored:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(jpeg_bytes(7))
    never(lambda: ready.paths(), 1.0, what="an ignored file handed over")
    os.rename(inbox / "d.jpg.part", inbox / "d.jpg")  # the download finished
    expect(lambda: ready.get(inbox / "d.jpg"), timeout=60)
    assert set(ready.paths()) == {inbox / "d.jpg"}


def test_files_present_before_start_are_taken_at_once(inbox, watch):
    old = time.time() - 3600
    for n in range(5):
        (inbox / f"old{n}.jpg").write_bytes(jpeg_bytes(n))
        os.utime(inbox / f"old{n}.jpg", (old, old))
    _, ready = watch(settle=600.0)  # old files are taken at once, not after the settle time
    expect(lambda: len(ready.paths()) == 5, timeout=60, what="the backlog")


def test_polling_waits_for_size_and_mtime_to_settle(inbox, watch):
    _, ready = watch(settle=3.0, polling=True)
    target = inbox / "polled.jpg"
    with target.open("wb") as fh:
        for n in range(4):
            fh.write(jpeg_bytes(n))
            fh.flush()
            never(lambda: ready.get(target), 0.2)
    size, _ = expect(lambda: ready.get(target), timeout=60)
    assert size == target.stat().st_size


def test_a_file_that_disappears_before_it_is_ready_is_forgotten(inbox, watch):
    watcher, ready = watch(settle=0.5)
    (inbox / "brief.jpg").write_bytes(jpeg_bytes(8))
    (inbox / "brief.jpg").unlink()
    (inbox / "stays.jpg").write_bytes(jpeg_bytes(9))
    expect(lambda: ready.get(inbox / "stays.jpg"), timeout=60)
    watcher.done(inbox / "stays.jpg")
    expect(watcher.idle, timeout=60)
    assert ready.paths() == [inbox / "stays.jpg"]


def test_the_rescan_finds_what_events_missed(inbox, watch):
    watcher, ready = watch(settle=0.2, observe=False)  # no observer: only scans
    expect(watcher.idle, timeout=60)
    (inbox / "missed.jpg").write_bytes(jpeg_bytes(10))
    never(lambda: ready.paths(), 0.5)
    watcher.rescan()
    expect(lambda: ready.get(inbox / "missed.jpg"), timeout=60)


def test_a_path_in_flight_is_looked_at_again_if_it_changes(inbox, watch):
    watcher, ready = watch(settle=0.3)
    target = inbox / "again.jpg"
    target.write_bytes(jpeg_bytes(11))
    expect(lambda: ready.get(target), timeout=60)
    new_content = jpeg_bytes(12) * 2
    target.write_bytes(new_content)  # a new file at the same path while the first is "processed"
    expect(lambda: watcher.status().changed_in_flight == 1, timeout=60, what="the change seen while in flight")
    assert ready.paths() == [target]  # not handed over again while the worker holds it
    watcher.done(target)
    expect(lambda: len(ready.paths()) == 2, timeout=60, what="the changed file handed over again")
    assert ready.paths() == [target, target]
    assert ready.items[1][1] == len(new_content)


def test_ignore_rules_cover_folders_on_the_way():
    assert is_ignored(Path(".git/objects/x.jpg"), IGNORE)
    assert is_ignored(Path("a/b.part"), IGNORE)
    assert not is_ignored(Path("holiday/IMG_1.jpg"), IGNORE)


def test_iter_inbox_skips_excluded_and_ignored(tmp_path):
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "x.jpg").write_bytes(b"1")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "y.jpg").write_bytes(b"1")
    (tmp_path / "z.jpg").write_bytes(b"1")
    assert list(iter_inbox(tmp_path, IGNORE, exclude=[tmp_path / "library"])) == [tmp_path / "z.jpg"]


# -- names that are not UTF-8 ---------------------------------------------------------------------
NOT_UTF8 = [b"A\xe9t\xe9.jpg", b"D\xfcsseldorf/\xff\xfe.jpg", b"ok/caf\xc3\xa9.jpg"]  # Latin-1 from a FAT card; the last is UTF-8


def make_bytes_files(inbox: Path, names: list[bytes], seed: int = 20) -> set[bytes]:
    """Create files through bytes paths, as a card reader or an old ZIP leaves them."""
    made = set()
    for n, name in enumerate(names):
        full = os.fsencode(inbox) + b"/" + name
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(jpeg_bytes(seed + n))
        made.add(full)
    return made


def handed_bytes(ready: Ready) -> list[bytes]:
    return [os.fsencode(p) for p in ready.paths()]


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_names_that_are_not_utf8_are_handed_over_at_every_rescan_without_errors(inbox, watch, caplog, polling):
    caplog.set_level(logging.DEBUG, logger="geolocator.watch.watcher")
    watcher, ready = watch(settle=0.2, polling=polling, rescan_minutes=0.3 / 60)
    ready.then = watcher.done  # the worker leaves each file in the inbox: every rescan finds it again
    made = make_bytes_files(inbox, NOT_UTF8)
    expect(lambda: set(handed_bytes(ready)) == made, timeout=60, what="every file handed over by its real bytes")
    for path in ready.paths():
        assert path.exists() and path.stat().st_size > 0  # the path given opens the real file
    rounds = lambda: min(handed_bytes(ready).count(name) for name in made)  # noqa: E731
    expect(lambda: rounds() >= 3, timeout=60, what="each file handed over again at later rescans")
    assert set(handed_bytes(ready)) == made
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_names_that_are_not_utf8_in_the_backlog_are_taken(inbox, watch):
    made = make_bytes_files(inbox, NOT_UTF8)
    old = time.time() - 3600
    for name in made:
        os.utime(name, (old, old))
    _, ready = watch(settle=600.0)
    expect(lambda: sorted(handed_bytes(ready)) == sorted(made), timeout=60, what="the backlog by its real bytes")


def test_log_lines_show_undecodable_bytes_and_never_break_a_line():
    assert shown(Path(os.fsdecode(b"/in/A\xe9t\xe9.jpg"))) == "/in/A\\xe9t\\xe9.jpg"
    assert shown(Path("/in/caf\u00e9\nFAKE: line.jpg")) == "/in/caf\u00e9\\nFAKE: line.jpg"


# -- the inbox deleted, moved away, made again ------------------------------------------------------
@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_a_deleted_and_recreated_inbox_is_watched_again_at_once(inbox, watch, caplog, polling):
    caplog.set_level(logging.INFO, logger="geolocator.watch.watcher")
    settle = 0.5 if polling else 30.0
    watcher, ready = watch(settle=settle, polling=polling)  # no rescans: only the watch can see new files
    expect(lambda: watcher.status().watching, timeout=60, what="the inbox watched")
    shutil.rmtree(inbox)
    expect(lambda: not watcher.status().watching, timeout=60, what="the deletion noticed")
    assert "was deleted" in caplog.text
    inbox.mkdir()
    (inbox / "first.jpg").write_bytes(jpeg_bytes(30))  # dropped at once: the watch, or the scan after it, sees it
    os.utime(inbox / "first.jpg", (time.time() - 3600, time.time() - 3600))  # settled long ago, if the scan finds it
    expect(lambda: ready.get(inbox / "first.jpg"), timeout=settle + 60, what="the file dropped into the new inbox")
    expect(lambda: watcher.status().watching, timeout=60, what="the new inbox watched")
    assert f"watching the inbox {inbox} again" in caplog.text
    began = time.monotonic()
    (inbox / "second.jpg").write_bytes(jpeg_bytes(31))
    _, at = expect(lambda: ready.get(inbox / "second.jpg"), timeout=settle + 60, what="a file dropped later, seen by the new watch")
    if not polling:  # a close-write event, not a scan: well within the settle time
        assert at - began < settle - 1


def test_an_inbox_moved_away_and_made_again_is_watched_in_its_new_place(inbox, watch, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="geolocator.watch.watcher")
    watcher, ready = watch(settle=600.0)  # far beyond the deadline: only the close-write can hand it over in time
    expect(lambda: watcher.status().watching, timeout=60, what="the inbox watched")
    moved = tmp_path / "old-inbox"
    os.rename(inbox, moved)
    inbox.mkdir()
    expect(lambda: "moved away or replaced" in caplog.text and watcher.status().watching, timeout=60, what="the new inbox watched")
    (moved / "left-behind.jpg").write_bytes(jpeg_bytes(32))
    (inbox / "new.jpg").write_bytes(jpeg_bytes(33))
    expect(lambda: ready.get(inbox / "new.jpg"), timeout=60, what="a file in the new inbox, from its close-write")
    never(lambda: len(ready.paths()) > 1, 0.5, what="a file outside the inbox handed over")


# -- the phases, as a table ------------------------------------------------------------------------
def test_phase_transitions():
    table = {
        (Phase.ARRIVED, Change.OPENED): Phase.SEEN,  # being written where it was created
        (Phase.CLOSED, Change.OPENED): Phase.CLOSED,  # a reader: the open count holds it
        (Phase.ARRIVED, Change.WRITTEN): Phase.SEEN,
        (Phase.SEEN, Change.WRITTEN): Phase.SEEN,
        (Phase.CLOSED, Change.WRITTEN): Phase.REWRITTEN,  # written again after a close
        (Phase.SEEN, Change.CLOSED): Phase.CLOSED,
        (Phase.ARRIVED, Change.CLOSED): Phase.CLOSED,
        (Phase.REWRITTEN, Change.CLOSED): Phase.REWRITTEN,  # once rewritten, closes no longer shortcut the settle time
        (Phase.CLOSED, Change.NOT_READY): Phase.REWRITTEN,
    }
    for (phase, change), expected in table.items():
        assert after(phase, change) is expected, (phase, change)
    assert [quiet_needed(p, 7.0) for p in Phase] == [CLOSE_QUIET if p in (Phase.ARRIVED, Phase.CLOSED) else 7.0 for p in Phase]


QUEUE_LIMIT = Path("/proc/sys/fs/inotify/max_queued_events")


@pytest.mark.skipif(os.geteuid() != 0, reason="shrinking the kernel's inotify queue needs root")
def test_an_inotify_queue_overflow_starts_a_rescan_at_once(inbox, tmp_path, caplog):
    """More files renamed into the inbox at once than the kernel queues events for (a sync of a
    phone's camera folder, 20k files): the events it drops never come. The overflow starts a rescan
    at once, not at the next scheduled one (an hour away here). The kernel's queue is made small
    (64 events) for the watcher's inotify instance alone, so five thousand files overflow it."""
    caplog.set_level(logging.WARNING, logger="watchdog")
    count = 5000  # ~80 times the queue: the reader, however quick, cannot drain it as fast as renames fill it
    staging = tmp_path / "staging"
    staging.mkdir()
    for n in range(count):
        (staging / f"{n:06d}.jpg").write_bytes(b"x")
    watcher, ready = watching(inbox, settle=0.2, rescan_minutes=60)
    ready.then = watcher.done
    limit = QUEUE_LIMIT.read_text()
    try:
        QUEUE_LIMIT.write_text("64")  # read by inotify_init: this watcher's instance only
        watcher.start()
    finally:
        QUEUE_LIMIT.write_text(limit)
    try:
        expect(lambda: watcher.status().watching and watcher.idle(), 10, what="the inbox watched, its first scan done")
        for n in range(count):
            os.rename(staging / f"{n:06d}.jpg", inbox / f"{n:06d}.jpg")
        expect(lambda: any("queue overflowed" in r.getMessage() for r in caplog.records), 60, what="the kernel's queue to overflow")
        expect(lambda: len(set(ready.paths())) == count, 120, what=f"all {count} files handed over")
    finally:
        watcher.stop()
