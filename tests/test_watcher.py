"""The inbox watcher with real watchdog observers on real folders: when is a file ready?"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from expect import expect, never
from photos import jpeg_bytes

from geolocator.config import WatchConfig
from geolocator.watcher import CLOSE_QUIET, Watcher, is_ignored, iter_inbox

IGNORE = (".*", "*.part", "*.crdownload", "*.tmp", "~*")


class Ready:
    """Collects what the watcher hands over: (path, size at that moment, time)."""

    def __init__(self) -> None:
        self.items: list[tuple[Path, int, float]] = []
        self.lock = threading.Lock()

    def __call__(self, path: Path) -> None:
        with self.lock:
            self.items.append((path, path.stat().st_size if path.exists() else -1, time.monotonic()))

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
    watcher, ready = watch(settle=5.0)
    outside = tmp_path / "photo.jpg"
    outside.write_bytes(jpeg_bytes(1))
    began = time.monotonic()
    shutil.copyfile(outside, inbox / "photo.jpg")
    expect(lambda: ready.get(inbox / "photo.jpg"), timeout=3, what="the copy to be ready")
    size, at = ready.get(inbox / "photo.jpg")
    assert size == outside.stat().st_size
    assert at - began < 2.0  # close-write: CLOSE_QUIET, not the 5 s settle time


def test_a_slow_chunked_write_is_not_ready_before_it_is_complete(inbox, watch):
    watcher, ready = watch(settle=0.6)
    target = inbox / "slow.jpg"
    data = jpeg_bytes(2) * 20
    chunks = [data[i : i + len(data) // 10] for i in range(0, len(data), len(data) // 10)]
    with target.open("wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
            fh.flush()
            never(lambda: ready.get(target), 0.25, what="a half-written file handed over")
    size, _ = expect(lambda: ready.get(target), timeout=5, what="the finished file")
    assert size == len(data)


def test_a_writer_that_closes_and_reopens_gets_the_full_settle_time(inbox, watch):
    watcher, ready = watch(settle=1.0)
    target = inbox / "reopened.jpg"
    data = jpeg_bytes(3) * 10
    for i in range(0, len(data), len(data) // 6):
        with target.open("ab") as fh:
            fh.write(data[i : i + len(data) // 6])
        time.sleep(CLOSE_QUIET / 2)  # reopens quicker than the close-quiet time
        assert not ready.get(target), "handed over between two chunks"
    size, _ = expect(lambda: ready.get(target), timeout=5)
    assert size == len(data)


def test_moved_in_from_another_folder_and_nested_folders(inbox, watch, tmp_path):
    watcher, ready = watch(settle=5.0)
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
    expect(lambda: wanted <= set(ready.paths()), timeout=4, what=f"{wanted} (got {ready.paths()})")


def test_temporary_and_hidden_names_are_left_alone_until_renamed(inbox, watch):
    watcher, ready = watch(settle=0.3)
    ignored = [inbox / "d.jpg.part", inbox / "e.crdownload", inbox / ".hidden.jpg", inbox / "~lock.jpg", inbox / "x.tmp", inbox / ".sync" / "inside.jpg"]
    for path in ignored:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(jpeg_bytes(7))
    never(lambda: ready.paths(), 1.0, what="an ignored file handed over")
    os.rename(inbox / "d.jpg.part", inbox / "d.jpg")  # the download finished
    expect(lambda: ready.get(inbox / "d.jpg"), timeout=3)
    assert set(ready.paths()) == {inbox / "d.jpg"}


def test_files_present_before_start_are_taken_at_once(inbox, watch):
    old = time.time() - 3600
    for n in range(5):
        (inbox / f"old{n}.jpg").write_bytes(jpeg_bytes(n))
        os.utime(inbox / f"old{n}.jpg", (old, old))
    watcher, ready = watch(settle=30.0)
    expect(lambda: len(ready.paths()) == 5, timeout=3, what="the backlog")


def test_polling_waits_for_size_and_mtime_to_settle(inbox, watch):
    watcher, ready = watch(settle=0.5, polling=True)
    target = inbox / "polled.jpg"
    with target.open("wb") as fh:
        for n in range(4):
            fh.write(jpeg_bytes(n))
            fh.flush()
            never(lambda: ready.get(target), 0.2)
    size, _ = expect(lambda: ready.get(target), timeout=5)
    assert size == target.stat().st_size


def test_a_file_that_disappears_before_it_is_ready_is_forgotten(inbox, watch):
    watcher, ready = watch(settle=0.5)
    (inbox / "brief.jpg").write_bytes(jpeg_bytes(8))
    (inbox / "brief.jpg").unlink()
    (inbox / "stays.jpg").write_bytes(jpeg_bytes(9))
    expect(lambda: ready.get(inbox / "stays.jpg"), timeout=3)
    watcher.done(inbox / "stays.jpg")
    expect(watcher.idle, timeout=3)
    assert ready.paths() == [inbox / "stays.jpg"]


def test_the_rescan_finds_what_events_missed(inbox, watch):
    watcher, ready = watch(settle=0.2, observe=False)  # no observer: only scans
    expect(watcher.idle, timeout=3)
    (inbox / "missed.jpg").write_bytes(jpeg_bytes(10))
    never(lambda: ready.paths(), 0.5)
    watcher.rescan()
    expect(lambda: ready.get(inbox / "missed.jpg"), timeout=3)


def test_a_path_in_flight_is_looked_at_again_if_it_changes(inbox, watch):
    watcher, ready = watch(settle=0.3)
    target = inbox / "again.jpg"
    target.write_bytes(jpeg_bytes(11))
    expect(lambda: ready.get(target), timeout=3)
    target.write_bytes(jpeg_bytes(12))  # a new file at the same path while the first is "processed"
    time.sleep(0.3)
    watcher.done(target)
    expect(lambda: len([p for p in ready.paths() if p == target]) == 2, timeout=3)


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
