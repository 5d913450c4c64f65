"""The whole service: real observers, real store, real files; the daemon as a subprocess for
signals and kill -9. Waits are `expect` polls with deadlines, never bare sleeps."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from expect import expect, never
from fake_ollama import FakeOllama
from photos import GPS_JPEGS, NO_GPS_JPEG, copy_corpus, jpeg_bytes, write_jpeg
from smallfs import fill_space, small_fs

from geolocator.aiworker import Backoff
from geolocator.config import build_config
from geolocator.record import Source, Status
from geolocator.service import Service
from geolocator.store import Store, load_records, open_tinydb

REPO = Path(__file__).resolve().parent.parent
DAEMON = [sys.executable, str(REPO / "daemon.py")]


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def config_for(root: Path, *, ai: str | None = None, settle: float = 0.5, **sections):
    data = {
        "watch": {"settle_seconds": settle, **sections.pop("watch", {})},
        "ollama": {"enabled": ai is not None, **({"host": ai, "timeout": 5.0} if ai else {})},
        "viewer": {"enabled": False},
        **sections,
    }
    return build_config(data, root, None)


def write_toml(path: Path, *, ai: bool = False, settle: float = 0.3, viewer_port: int | None = None) -> Path:
    viewer = f"enabled = true\nport = {viewer_port}" if viewer_port else "enabled = false"
    path.write_text(f"[watch]\nsettle_seconds = {settle}\n[ollama]\nenabled = {'true' if ai else 'false'}\n[viewer]\n{viewer}\n")
    return path


@pytest.fixture
def service(tmp_path, corpus):
    running = []

    def start(**kwargs) -> Service:
        svc = Service(config_for(tmp_path, **kwargs), backoff=Backoff(base=0.2, cap=1.0)).start()
        running.append(svc)
        return svc

    yield start
    for svc in running:
        svc.stop()


def record_for(store: Store, name: str):
    return next((r for r in store.all() if r.name == name and not r.moving_from), None)


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
    for ignored in ("download.jpg.part", ".hidden.jpg", "~$lock.jpg", "x.tmp", "y.crdownload"):
        (inbox / ignored).write_bytes(jpeg_bytes(2))

    names = ["before-start.jpg", "copied.jpg", "moved.jpg", "nested.jpg", "broken.jpg", "no-gps.jpg"]
    expect(lambda: all(record_for(store, n) for n in names) and len([r for r in store.all() if r.name == "same.jpg" and not r.moving_from]) == 2, timeout=15, what="every photo recorded")
    located = {n: record_for(store, n) for n in names}
    for name in ("before-start.jpg", "copied.jpg", "moved.jpg", "nested.jpg"):
        assert located[name].status is Status.LOCATED and (tmp_path / "library" / located[name].path).is_file()
    assert located["broken.jpg"].status is Status.FAILED and (tmp_path / "failed" / "broken.jpg").is_file()
    assert located["no-gps.jpg"].status is Status.UNLOCATED
    assert sorted(Path(r.path).name for r in store.all() if r.name == "same.jpg") == ["same-2.jpg", "same.jpg"]

    # the same content again: filed under duplicates/, with its own record pointing at the original
    copy_corpus(GPS_JPEGS[1], inbox / "copied-again.jpg")
    duplicate = expect(lambda: record_for(store, "copied-again.jpg"), timeout=10)
    assert duplicate.status is Status.DUPLICATE and duplicate.duplicate_of == located["copied.jpg"].id
    assert (tmp_path / "duplicates" / "copied-again.jpg").is_file()

    expect(svc.idle, timeout=5)
    assert sorted(p.name for p in files_under(inbox)) == sorted([".hidden.jpg", "download.jpg.part", "x.tmp", "y.crdownload", "~$lock.jpg"])


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
    record = expect(lambda: record_for(svc.store, "slow.jpg"), timeout=10)
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
    record = expect(lambda: record_for(svc.store, "open.jpg"), timeout=10)
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
    record = expect(lambda: record_for(svc.store, "append.jpg"), timeout=10)
    assert record.status is Status.LOCATED and record.sha256 == hashlib.sha256(content).hexdigest()
    assert len(svc.store) == 1 and files_under(svc.config.paths.failed) == []


def test_an_ollama_outage_leaves_photos_pending_then_they_are_placed(tmp_path, corpus):
    with FakeOllama() as fake:
        fake.down()
        config = config_for(tmp_path, ai=fake.url)
        with Service(config, backoff=Backoff(base=0.2, cap=1.0)) as svc:
            inbox = tmp_path / "inbox"
            write_jpeg(inbox / "mystery.jpg", 3)
            write_jpeg(inbox / "by-hand.jpg", 4)
            pending = expect(lambda: (r := record_for(svc.store, "mystery.jpg")) and r.attempts >= 1 and r, timeout=10, what="a failed AI attempt")
            assert pending.status is Status.PENDING and "AI unavailable" in pending.error and pending.retry_at
            assert (tmp_path / "library" / pending.path).is_file()  # moved and recorded meanwhile
            # photos with GPS do not wait for the AI
            copy_corpus(GPS_JPEGS[0], inbox / "gps.jpg")
            assert expect(lambda: record_for(svc.store, "gps.jpg"), timeout=5).status is Status.LOCATED
            # someone places one by hand meanwhile: the AI must never overwrite it
            hand = expect(lambda: record_for(svc.store, "by-hand.jpg"), timeout=5)
            svc.store.update(hand.id, lambda r: dataclasses.replace(r, status=Status.LOCATED, source=Source.MANUAL, lat=1.0, lon=2.0))
            fake.up()
            placed = expect(lambda: (r := svc.store.get(pending.id)).status is not Status.PENDING and r, timeout=15, what="the retry")
            assert placed.status is Status.LOCATED and placed.source is Source.AI and placed.place and placed.retry_at is None
            assert svc.store.get(hand.id).source is Source.MANUAL and svc.store.get(hand.id).lat == 1.0
            assert svc.store.counts()["pending"] == 0


# -- the daemon as a process -------------------------------------------------------------------------
def start_daemon(config: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("NOTIFY_SOCKET", None)
    return subprocess.Popen(DAEMON + list(args) + ["--config", str(config)], cwd=config.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_ready(proc: subprocess.Popen) -> str:
    """Read the daemon's log until it says it is ready (its signal handlers are in place);
    returns what it logged so far."""
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if " ready: " in line:
            return "".join(lines)
    raise AssertionError("the daemon exited before it was ready:\n" + "".join(lines))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_finishes_cleanly_with_a_valid_database(tmp_path, corpus):
    port = free_port()
    config = write_toml(tmp_path / "config.toml", viewer_port=port)
    inbox = tmp_path / "inbox"
    proc = start_daemon(config)
    try:
        assert proc.stdout.readline().strip() == f"map: http://127.0.0.1:{port}/"
        for n in range(20):
            write_jpeg(inbox / f"p{n}.jpg", n)
        copy_corpus(GPS_JPEGS[0], inbox / "gps.jpg")
        expect(lambda: not files_under(inbox), timeout=20, what="the inbox to empty")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
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
    filed_hashes = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in filed)
    expected = sorted(hashlib.sha256(c).hexdigest() for c in contents.values())
    assert filed_hashes == expected
    records = load_records(root / "geolocator.json")
    assert len(records) == len(filed) == len(contents)
    roots = {Status.FAILED: "failed", Status.DUPLICATE: "duplicates"}
    paths = sorted(str(root / roots.get(r.status, "library") / r.path) for r in records.values())
    assert paths == sorted(str(p) for p in filed)
    assert not [r for r in records.values() if r.moving_from]


def filed(root: Path) -> int:
    return sum(len(files_under(root / folder)) for folder in ("library", "failed", "duplicates"))


def test_kill_9_at_random_moments_loses_nothing_and_records_nothing_twice(tmp_path, corpus):
    config = write_toml(tmp_path / "config.toml", settle=0.2)
    inbox = tmp_path / "inbox"
    contents: dict[str, bytes] = {}
    for n in range(240):
        name = f"d{n % 7}/IMG_{n % 40:03d}.jpg"  # colliding names across and within folders
        data = jpeg_bytes(n) if n % 10 else (REPO.parent / "shared/corpus/exif-samples/jpg" / GPS_JPEGS[n % 5]).read_bytes() + bytes([n])
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
    stops = sorted(rng.sample(range(5, 200), 6))
    kills = 0
    for stop in stops:
        proc = start_daemon(config)
        try:
            expect(lambda stop=stop: proc.poll() is not None or filed(tmp_path) >= stop, timeout=60, what=f"{stop} photos filed")
            time.sleep(rng.uniform(0, 0.05))  # the moment of the crash is the point of the test
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            kills += 1
        finally:
            proc.kill()
            proc.communicate()
        if not files_under(inbox):
            break
    proc = start_daemon(config)
    try:
        wait_ready(proc)  # the kills may have emptied the inbox already: SIGTERM must meet a started daemon
        expect(lambda: not files_under(inbox), timeout=60, what="the inbox to empty after restart")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert kills >= 2
    assert_nothing_lost(tmp_path, contents)


def test_scan_processes_the_inbox_prints_a_summary_and_exits(tmp_path, corpus):
    config = write_toml(tmp_path / "config.toml")
    inbox = tmp_path / "inbox"
    copy_corpus(GPS_JPEGS[0], inbox / "a.jpg")
    copy_corpus(GPS_JPEGS[0], inbox / "sub" / "a.jpg")  # same content
    copy_corpus(NO_GPS_JPEG, inbox / "b.jpg")
    (inbox / "c.jpg").write_bytes(b"garbage")
    (inbox / "d.part").write_bytes(b"partial")
    proc = subprocess.run([*DAEMON, "scan", "--config", str(config)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.stdout == "scan: 1 located, 1 unlocated, 0 pending, 1 failed, 1 duplicate\n"
    assert proc.returncode == 1  # a file failed
    assert [p.name for p in files_under(inbox)] == ["d.part"]
    assert len(load_records(tmp_path / "geolocator.json")) == 4


def test_a_store_that_cannot_write_makes_the_service_unhealthy_until_it_can(service, tmp_path, corpus):
    with small_fs(tmp_path / "fs", size="1m", inodes=64) as fs:
        svc = service(paths={"database": str(fs / "geolocator.json")})
        assert svc.healthy() and svc.problem() is None
        filler = fill_space(fs)
        copy_corpus(GPS_JPEGS[0], tmp_path / "inbox" / "a.jpg", extra=b"x" * 20000)  # its record outgrows the journal's last page
        problem = expect(svc.problem, timeout=10, what="the service to notice the full disk")
        assert "cannot write the database" in problem and "No space left on device" in problem
        assert not svc.healthy() and svc.status().startswith(f"unhealthy: {problem}; ")
        assert (tmp_path / "inbox" / "a.jpg").is_file() and not files_under(tmp_path / "library")  # nothing lost meanwhile
        filler.unlink()
        copy_corpus(GPS_JPEGS[1], tmp_path / "inbox" / "b.jpg")
        expect(lambda: record_for(svc.store, "b.jpg"), timeout=10, what="a photo filed once there is room")
        assert svc.healthy()
        svc.stop()
        assert svc.problem() == "stopped" and not svc.healthy()


def test_a_watcher_that_stopped_makes_the_service_unhealthy(service):
    svc = service()
    assert svc.healthy()
    svc.watcher.stop()  # as if its observer thread had died
    assert svc.problem() == "the inbox is no longer watched" and not svc.healthy()


def test_scan_says_when_a_file_had_to_stay_in_the_inbox(tmp_path, corpus):
    config = write_toml(tmp_path / "config.toml")
    inbox = tmp_path / "inbox"
    copy_corpus(GPS_JPEGS[0], inbox / "a.jpg")
    (inbox / "link.jpg").symlink_to(inbox / "a.jpg")  # not ours to move: it stays
    proc = subprocess.run([*DAEMON, "scan", "--config", str(config)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.stdout == "scan: 1 located, 0 unlocated, 0 pending, 0 failed, 0 duplicate, 1 left in the inbox (see the log)\n"
    assert proc.returncode == 1


def test_scan_files_a_name_that_is_not_utf8_and_every_file_after_it(tmp_path, corpus):
    config = write_toml(tmp_path / "config.toml")
    inbox = tmp_path / "inbox"
    copy_corpus(GPS_JPEGS[0], inbox / "B.jpg")
    copy_corpus(GPS_JPEGS[1], inbox / "C.jpg")
    latin1 = os.path.join(os.fsencode(inbox), b"A\xe9t\xe9.jpg")  # from an old ZIP or a FAT card
    with open(latin1, "wb") as fh:
        fh.write(copy_corpus(GPS_JPEGS[2], tmp_path / "src.jpg").read_bytes())
    forged = inbox / "D.jpg\nERROR geolocator: forged.jpg"  # a newline in a name must not forge a log line
    copy_corpus(GPS_JPEGS[3], forged)
    proc = subprocess.run([*DAEMON, "scan", "--config", str(config)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.stdout == "scan: 4 located, 0 unlocated, 0 pending, 0 failed, 0 duplicate\n", proc.stderr
    assert proc.returncode == 0
    assert not files_under(inbox)
    names = sorted(r.name for r in load_records(tmp_path / "geolocator.json").values())
    assert names == sorted(["B.jpg", "C.jpg", "Aété.jpg", "D.jpg\nERROR geolocator: forged.jpg"])
    assert "Traceback" not in proc.stderr
    assert not [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert "D.jpg\\x0aERROR geolocator: forged.jpg" in proc.stderr  # written, escaped, on its own line


def scan_with_ai(tmp_path: Path, host: str) -> subprocess.CompletedProcess:
    config = tmp_path / "config.toml"
    config.write_text(f'[watch]\nsettle_seconds = 0.2\n[ollama]\nhost = "{host}"\ntimeout = 5\n[viewer]\nenabled = false\n')
    return subprocess.run([*DAEMON, "scan", "--config", str(config)], capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_scan_asks_the_ai_about_photos_without_gps_and_leaves_them_pending_while_it_is_down(tmp_path, corpus):
    inbox = tmp_path / "inbox"
    write_jpeg(inbox / "kyoto.jpg", 1)
    write_jpeg(inbox / "nowhere.jpg", 2)
    with FakeOllama() as fake:
        fake.answer(
            '{"country": "Japan", "region": "Kyoto", "city": "Kyoto", "landmark": null, "latitude": 34.9671, "longitude": 135.7727, "confidence": 0.8, "description": "Torii gates."}',
            '{"country": null, "region": null, "city": null, "landmark": null, "latitude": null, "longitude": null, "confidence": 0.0, "description": "A grey chart."}',
        )
        proc = scan_with_ai(tmp_path, fake.url)
        assert proc.stdout == "scan: 1 located, 1 unlocated, 0 pending, 0 failed, 0 duplicate\n", proc.stderr
        assert proc.returncode == 0
        write_jpeg(inbox / "later.jpg", 3)
        fake.down()
        proc = scan_with_ai(tmp_path, fake.url)
    assert proc.stdout == "scan: 0 located, 0 unlocated, 1 pending, 0 failed, 0 duplicate\n", proc.stderr
    later = next(r for r in load_records(tmp_path / "geolocator.json").values() if r.name == "later.jpg")
    assert later.status is Status.PENDING and "AI unavailable" in later.error and later.attempts == 1  # the worker's own handling
