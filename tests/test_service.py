"""The whole service: real observers, real store, real files; the daemon as a subprocess for
signals and kill -9. Waits are `wait_until` polls with deadlines, never bare sleeps."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from configs import write_config
from expect import never, wait_until
from photos import CORPUS_JPG, GPS_JPEGS, NO_GPS_JPEG, copy_corpus, jpeg_bytes, write_jpeg
from processes import free_port, run_daemon, stop, wait_ready
from records import record_of
from smallfs import fill_space, small_fs
from trees import files_under, nest, sha256, tree

from geolocator.record import Source, Status
from geolocator.record.store import load_records, open_tinydb

IGNORED = ("download.jpg.part", ".hidden.jpg", "~$lock.jpg", "x.tmp", "y.crdownload")  # the default ignore rules


def test_photos_dropped_in_every_way_end_up_recorded_and_filed(service, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    old = time.time() - 3600
    before = copy_corpus(GPS_JPEGS[0], inbox / "before-start.jpg")
    os.utime(before, (old, old))
    svc = service()
    store = svc.store

    copy_corpus(GPS_JPEGS[1], tmp_path / "staging" / "copied.jpg")
    shutil.copyfile(tmp_path / "staging" / "copied.jpg", inbox / "copied.jpg")  # copy-in
    moved = copy_corpus(GPS_JPEGS[2], tmp_path / "elsewhere" / "moved.jpg")
    os.rename(moved, inbox / "moved.jpg")  # move-in
    copy_corpus(GPS_JPEGS[3], inbox / "trip" / "day1" / "nested.jpg")  # nested folders
    copy_corpus(GPS_JPEGS[4], inbox / "a" / "same.jpg")
    copy_corpus(GPS_JPEGS[4], inbox / "b" / "same.jpg", extra=b"different bytes")  # same name, other content
    (inbox / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe1 this is not a photo" * 10)  # corrupt, and cut short:
    os.utime(inbox / "broken.jpg", (old, old))  # old, so not a copy still growing (that waits incomplete_seconds)
    write_jpeg(inbox / "no-gps.jpg", 1)
    for ignored in IGNORED:
        (inbox / ignored).write_bytes(jpeg_bytes(2))

    names = ["before-start.jpg", "copied.jpg", "moved.jpg", "nested.jpg", "broken.jpg", "no-gps.jpg"]
    wait_until(lambda: all(record_of(store, n) for n in names) and len([r for r in store.all() if r.name == "same.jpg" and not r.moving_from]) == 2, 15, "every photo recorded")
    located = {n: record_of(store, n) for n in names}
    for name in ("before-start.jpg", "copied.jpg", "moved.jpg", "nested.jpg"):
        assert located[name].status is Status.LOCATED and (tmp_path / "library" / located[name].path).is_file()
    assert located["broken.jpg"].status is Status.FAILED and (tmp_path / "failed" / "broken.jpg").is_file()
    assert located["no-gps.jpg"].status is Status.UNLOCATED
    assert sorted(Path(r.path).name for r in store.all() if r.name == "same.jpg") == ["same-2.jpg", "same.jpg"]

    # the same content again: filed under duplicates/, with its own record pointing at the original
    copy_corpus(GPS_JPEGS[1], inbox / "copied-again.jpg")
    duplicate = wait_until(lambda: record_of(store, "copied-again.jpg"), 10, "the duplicate recorded")
    assert duplicate.status is Status.DUPLICATE and duplicate.duplicate_of == located["copied.jpg"].id

    wait_until(svc.idle, 5, "the service idle")
    # every photo is filed with its own bytes where its record says; the ignored names and the
    # emptied folders stay in the inbox
    assert tree(tmp_path / "library") == nest({r.path: r.sha256 for r in store.all() if r.status in (Status.LOCATED, Status.UNLOCATED)})
    assert tree(tmp_path / "failed") == {"broken.jpg": b"\xff\xd8\xff\xe1 this is not a photo" * 10}
    assert tree(tmp_path / "duplicates") == {"copied-again.jpg": sha256(CORPUS_JPG / GPS_JPEGS[1])}
    assert tree(inbox) == {name: jpeg_bytes(2) for name in IGNORED} | {"trip": {"day1": {}}, "a": {}, "b": {}}


def test_a_slow_chunked_write_is_not_processed_before_it_is_complete(service, tmp_path):
    svc = service(settle=0.6)
    target = tmp_path / "inbox" / "slow.jpg"
    data = (tmp_path / "src.jpg")
    copy_corpus(GPS_JPEGS[0], data)
    content = data.read_bytes()
    step = len(content) // 8 + 1
    with target.open("wb") as fh:
        for i in range(0, len(content), step):
            fh.write(content[i : i + step])
            fh.flush()
            # mid-write: nothing recorded, nothing moved
            never(lambda: len(svc.store) or not target.exists(), 0.3, what="a half-written file processed")
    record = wait_until(lambda: record_of(svc.store, "slow.jpg"), 10, "the finished file recorded")
    assert record.status is Status.LOCATED and record.sha256 == hashlib.sha256(content).hexdigest()


def test_a_writer_that_keeps_the_file_open_through_long_pauses_is_waited_for(service, tmp_path):
    # Pauses longer than settle_seconds, the file open all along: taken only once closed.
    svc = service(settle=0.5)
    target = tmp_path / "inbox" / "open.jpg"
    content = copy_corpus(GPS_JPEGS[1], tmp_path / "src.jpg").read_bytes()
    third = len(content) // 3 + 1
    with target.open("wb") as fh:
        for i in range(0, len(content), third):
            fh.write(content[i : i + third])
            fh.flush()
            never(lambda: len(svc.store) or not target.exists(), 1.2, what="a file still open for writing processed")
    record = wait_until(lambda: record_of(svc.store, "open.jpg"), 10, "the closed file recorded")
    assert record.sha256 == hashlib.sha256(content).hexdigest()
    assert (svc.config.paths.library / record.path).read_bytes() == content


def test_a_writer_that_closes_between_chunks_never_splits_a_photo(service, tmp_path):
    # Appends in three goes, closing in between (pauses shorter than settle_seconds): the first
    # part reads as a photo with GPS, but it is cut short, so it waits until the file is whole.
    svc = service(settle=1.5)
    target = tmp_path / "inbox" / "append.jpg"
    content = copy_corpus(GPS_JPEGS[2], tmp_path / "src.jpg").read_bytes()
    third = len(content) // 3 + 1
    for i in range(0, len(content), third):
        with target.open("ab") as fh:
            fh.write(content[i : i + third])
        never(lambda: len(svc.store) or not target.exists(), 0.5, what="part of a photo processed")
    record = wait_until(lambda: record_of(svc.store, "append.jpg"), 10, "the whole file recorded")
    assert record.status is Status.LOCATED and record.sha256 == hashlib.sha256(content).hexdigest()
    assert len(svc.store) == 1 and tree(svc.config.paths.failed) == {}


def test_an_ollama_outage_leaves_photos_pending_then_they_are_placed(fake_ollama, service, tmp_path):
    fake = fake_ollama
    fake.down()
    svc = service(ai=fake.url)
    inbox = tmp_path / "inbox"
    write_jpeg(inbox / "mystery.jpg", 3)
    write_jpeg(inbox / "by-hand.jpg", 4)
    pending = wait_until(lambda: (r := record_of(svc.store, "mystery.jpg")) and r.attempts >= 1 and r, 10, "a failed AI attempt")
    assert pending.status is Status.PENDING and "AI unavailable" in pending.error and pending.retry_at
    assert (tmp_path / "library" / pending.path).is_file()  # moved and recorded meanwhile
    # photos with GPS do not wait for the AI
    copy_corpus(GPS_JPEGS[0], inbox / "gps.jpg")
    assert wait_until(lambda: record_of(svc.store, "gps.jpg"), 5, "the GPS photo recorded").status is Status.LOCATED
    # someone places one by hand meanwhile: the AI must never overwrite it
    hand = wait_until(lambda: record_of(svc.store, "by-hand.jpg"), 5, "the photo to place by hand recorded")
    svc.store.update(hand.id, lambda r: dataclasses.replace(r, status=Status.LOCATED, source=Source.MANUAL, lat=1.0, lon=2.0))
    fake.up()
    placed = wait_until(lambda: (r := svc.store.get(pending.id)).status is not Status.PENDING and r, 15, "the retry")
    assert placed.status is Status.LOCATED and placed.source is Source.AI and placed.place and placed.retry_at is None
    assert svc.store.get(hand.id).source is Source.MANUAL and svc.store.get(hand.id).lat == 1.0
    assert svc.store.counts()["pending"] == 0


# -- the daemon as a process -------------------------------------------------------------------------
def test_sigterm_finishes_cleanly_with_a_valid_database(daemon, tmp_path, corpus):
    port = free_port()
    config = write_config(tmp_path / "config.toml", settle=0.3, viewer={"enabled": True, "port": port})
    inbox = tmp_path / "inbox"
    proc = daemon("--config", str(config))
    assert proc.stdout.readline().strip() == f"map: http://127.0.0.1:{port}/"
    for n in range(20):
        write_jpeg(inbox / f"p{n}.jpg", n)
    copy_corpus(GPS_JPEGS[0], inbox / "gps.jpg")
    wait_until(lambda: not files_under(inbox), 20, "the inbox to empty")
    _, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    assert "SIGTERM" in err and "Traceback" not in err
    table = open_tinydb(tmp_path / "geolocator.json").table("photos")
    assert len(table) == 21 and not (tmp_path / "geolocator.json.journal").exists()


def assert_nothing_lost(root: Path, contents: dict[str, bytes]) -> None:
    """Every input's content exactly once across library/failed/duplicates (a duplicate input is
    its own file), inbox empty, one record per file, every record's path existing."""
    assert not files_under(root / "inbox")
    filed = [p for folder in ("library", "failed", "duplicates") for p in files_under(root / folder)]
    assert not [p for p in filed if p.name.startswith(".geolocator-")], "temporary copies left"
    filed_hashes = sorted(sha256(p) for p in filed)
    expected = sorted(sha256(c) for c in contents.values())
    assert filed_hashes == expected
    records = load_records(root / "geolocator.json")
    assert len(records) == len(filed) == len(contents)
    roots = {Status.FAILED: "failed", Status.DUPLICATE: "duplicates"}
    paths = sorted(str(root / roots.get(r.status, "library") / r.path) for r in records.values())
    assert paths == sorted(str(p) for p in filed)
    assert not [r for r in records.values() if r.moving_from]


def filed(root: Path) -> int:
    return sum(len(files_under(root / folder)) for folder in ("library", "failed", "duplicates"))


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_nothing_and_records_nothing_twice(daemon, tmp_path, corpus):
    config = write_config(tmp_path / "config.toml", settle=0.2)
    inbox = tmp_path / "inbox"
    contents: dict[str, bytes] = {}
    for n in range(240):
        name = f"d{n % 7}/IMG_{n % 40:03d}.jpg"  # colliding names across and within folders
        data = jpeg_bytes(n) if n % 10 else (CORPUS_JPG / GPS_JPEGS[n % 5]).read_bytes() + bytes([n])
        if n % 31 == 0:
            data = contents[next(iter(contents))] if contents else data  # same content again
        if n == 17:
            data = b"not an image at all" * 50
        path = inbox / f"{n:03d}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        contents[str(path)] = data
    old = time.time() - 60
    for path in contents:
        os.utime(path, (old, old))
    rng = random.Random(4)
    # Each crash comes once the daemon has filed a few more photos (plus a random delay), so it
    # lands mid-ingest however fast the machine starts and files.
    crash_points = sorted(rng.sample(range(5, 200), 6))
    kills = 0
    for crash_point in crash_points:
        proc = daemon("--config", str(config))
        wait_until(lambda n=crash_point: proc.poll() is not None or filed(tmp_path) >= n, 60, f"{crash_point} photos filed")
        time.sleep(rng.uniform(0, 0.05))  # the moment of the crash is the point of the test
        stop(proc, signal.SIGKILL)
        kills += 1
        if not files_under(inbox):
            break
    proc = daemon("--config", str(config))
    wait_ready(proc)  # the kills may have emptied the inbox already: SIGTERM must meet a started daemon
    wait_until(lambda: not files_under(inbox), 60, "the inbox to empty after restart")
    _, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    assert kills >= 2
    assert_nothing_lost(tmp_path, contents)


def test_scan_processes_the_inbox_prints_a_summary_and_exits(tmp_path, corpus):
    config = write_config(tmp_path / "config.toml", settle=0.3)
    inbox = tmp_path / "inbox"
    copy_corpus(GPS_JPEGS[0], inbox / "a.jpg")
    copy_corpus(GPS_JPEGS[0], inbox / "sub" / "a.jpg")  # same content
    copy_corpus(NO_GPS_JPEG, inbox / "b.jpg")
    (inbox / "c.jpg").write_bytes(b"garbage")
    (inbox / "d.part").write_bytes(b"partial")
    proc = run_daemon("scan", "--config", str(config), cwd=tmp_path)
    assert proc.stdout == "scan: 1 located, 1 unlocated, 0 pending, 1 failed, 1 duplicate\n"
    assert proc.returncode == 1  # a file failed
    gps, no_gps = sha256(CORPUS_JPG / GPS_JPEGS[0]), sha256(CORPUS_JPG / NO_GPS_JPEG)
    assert tree(tmp_path / "library") == {"2008": {"05": {"b.jpg": no_gps}, "10": {"a.jpg": gps}}}  # by capture month
    assert tree(tmp_path / "duplicates") == {"a.jpg": gps}
    assert tree(tmp_path / "failed") == {"c.jpg": b"garbage"}
    assert tree(inbox) == {"d.part": b"partial", "sub": {}}  # an ignored name stays, as does the emptied folder
    assert len(load_records(tmp_path / "geolocator.json")) == 4


def test_a_store_that_cannot_write_makes_the_service_unhealthy_until_it_can(service, tmp_path, corpus):
    with small_fs(tmp_path / "fs", size="1m", inodes=64) as fs:
        svc = service(paths={"database": str(fs / "geolocator.json")})
        assert svc.healthy() and svc.problem() is None
        filler = fill_space(fs)
        copy_corpus(GPS_JPEGS[0], tmp_path / "inbox" / "a.jpg", extra=b"x" * 20000)  # its record outgrows the journal's last page
        problem = wait_until(svc.problem, 10, "the service to notice the full disk")
        assert "cannot write the database" in problem and "No space left on device" in problem
        assert not svc.healthy() and svc.status().startswith(f"unhealthy: {problem}; ")
        assert (tmp_path / "inbox" / "a.jpg").is_file() and not files_under(tmp_path / "library")  # nothing lost meanwhile
        filler.unlink()
        copy_corpus(GPS_JPEGS[1], tmp_path / "inbox" / "b.jpg")
        wait_until(lambda: record_of(svc.store, "b.jpg"), 10, "a photo filed once there is room")
        assert svc.healthy()
        svc.stop()
        assert svc.problem() == "stopped" and not svc.healthy()


def test_a_watcher_that_stopped_makes_the_service_unhealthy(service):
    svc = service()
    assert svc.healthy()
    svc.watcher.stop()  # as if its observer thread had died
    assert svc.problem() == "the inbox is no longer watched" and not svc.healthy()


def test_scan_says_when_a_file_had_to_stay_in_the_inbox(tmp_path, corpus):
    config = write_config(tmp_path / "config.toml", settle=0.3)
    inbox = tmp_path / "inbox"
    copy_corpus(GPS_JPEGS[0], inbox / "a.jpg")
    os.mkfifo(inbox / "pipe.jpg")  # never opened, never moved: it stays
    proc = run_daemon("scan", "--config", str(config), cwd=tmp_path)
    assert proc.stdout == "scan: 1 located, 0 unlocated, 0 pending, 0 failed, 0 duplicate, 1 left in the inbox:\n  pipe.jpg: not a regular file (a FIFO, socket or device): left alone\n"
    assert proc.returncode == 1
    assert tree(inbox) == {"pipe.jpg": "fifo"}


def test_scan_files_a_name_that_is_not_utf8_and_every_file_after_it(tmp_path, corpus):
    config = write_config(tmp_path / "config.toml", settle=0.3)
    inbox = tmp_path / "inbox"
    copy_corpus(GPS_JPEGS[0], inbox / "B.jpg")
    copy_corpus(GPS_JPEGS[1], inbox / "C.jpg")
    latin1 = os.path.join(os.fsencode(inbox), b"A\xe9t\xe9.jpg")  # from an old ZIP or a FAT card
    with open(latin1, "wb") as fh:
        fh.write(copy_corpus(GPS_JPEGS[2], tmp_path / "src.jpg").read_bytes())
    forged = inbox / "D.jpg\nERROR geolocator: forged.jpg"  # a newline in a name must not forge a log line
    copy_corpus(GPS_JPEGS[3], forged)
    proc = run_daemon("scan", "--config", str(config), cwd=tmp_path)
    assert proc.stdout == "scan: 4 located, 0 unlocated, 0 pending, 0 failed, 0 duplicate\n", proc.stderr
    assert proc.returncode == 0
    assert not files_under(inbox)
    names = sorted(r.name for r in load_records(tmp_path / "geolocator.json").values())
    assert names == sorted(["B.jpg", "C.jpg", "Aété.jpg", "D.jpg\nERROR geolocator: forged.jpg"])
    assert "Traceback" not in proc.stderr
    assert not [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert "D.jpg\\x0aERROR geolocator: forged.jpg" in proc.stderr  # written, escaped, on its own line


def scan_with_ai(tmp_path: Path, host: str) -> subprocess.CompletedProcess[str]:
    return run_daemon("scan", "--config", str(write_config(tmp_path / "config.toml", ai=host, settle=0.2)), cwd=tmp_path)


def test_scan_asks_the_ai_about_photos_without_gps_and_leaves_them_pending_while_it_is_down(fake_ollama, tmp_path, corpus):
    inbox = tmp_path / "inbox"
    write_jpeg(inbox / "kyoto.jpg", 1)
    write_jpeg(inbox / "nowhere.jpg", 2)
    fake_ollama.answer(
        '{"country": "Japan", "region": "Kyoto", "city": "Kyoto", "landmark": null, "latitude": 34.9671, "longitude": 135.7727, "confidence": 0.8, "description": "Torii gates."}',
        '{"country": null, "region": null, "city": null, "landmark": null, "latitude": null, "longitude": null, "confidence": 0.0, "description": "A grey chart."}',
    )
    proc = scan_with_ai(tmp_path, fake_ollama.url)
    assert proc.stdout == "scan: 1 located, 1 unlocated, 0 pending, 0 failed, 0 duplicate\n", proc.stderr
    assert proc.returncode == 0
    write_jpeg(inbox / "later.jpg", 3)
    fake_ollama.down()
    proc = scan_with_ai(tmp_path, fake_ollama.url)
    assert proc.stdout == "scan: 0 located, 0 unlocated, 1 pending, 0 failed, 0 duplicate\n", proc.stderr
    later = next(r for r in load_records(tmp_path / "geolocator.json").values() if r.name == "later.jpg")
    assert later.status is Status.PENDING and "AI unavailable" in later.error and later.attempts == 1  # the worker's own handling
