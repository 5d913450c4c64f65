"""The store: crash-safe journal, one process at a time, readable by TinyDB itself."""

from __future__ import annotations

import dataclasses
import errno
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from configs import write_config
from processes import REPO, run_daemon
from records import record
from smallfs import fill_inodes, fill_space, small_fs
from tinydb import TinyDB

from geolocator.record import ChangeKind, ClockSync, LocationChange, PhotoRecord, Source, Status
from geolocator.record.store import MIN_COMPACT_LINES, Store, StoreError, load_records, open_tinydb


def test_a_torn_last_journal_line_is_ignored(tmp_path):
    db = tmp_path / "geolocator.json"
    with Store(db) as store:
        store.put_many([record(1), record(2)])
    journal = db.with_name(db.name + ".journal")
    journal.write_text(json.dumps(record(3).to_dict()) + "\n" + json.dumps(record(4).to_dict())[:40])  # killed mid-write
    records = load_records(db)
    assert sorted(r.name for r in records.values()) == ["1.jpg", "2.jpg", "3.jpg"]
    with Store(db) as store:
        assert len(store) == 3
        store.put(record(5))
    assert len(load_records(db)) == 4


def test_reopen_after_kill_9_keeps_every_acknowledged_write(tmp_path):
    db = tmp_path / "geolocator.json"
    script = f"""
import sys, os, dataclasses
sys.path.insert(0, {str(REPO)!r})
from geolocator.record.store import Store
from records import record
store = Store(__import__('pathlib').Path({str(db)!r}))
for n in range(200):
    store.put(record(n))
    print(n, flush=True)
os.kill(os.getpid(), 9)
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    acknowledged = len(proc.stdout.split())
    assert acknowledged == 200
    with Store(db) as store:  # the lock died with the process
        assert len(store) == 200


def test_a_store_opened_and_closed_without_changes_leaves_its_snapshot_as_it_was(tmp_path):
    db = tmp_path / "geolocator.json"
    with Store(db) as store:
        store.put_many([record(1), record(2)])
    journal = db.with_name(db.name + ".journal")
    written = db.stat()
    assert not journal.exists()
    with Store(db) as store:
        assert len(store) == 2
    after = db.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (written.st_ino, written.st_mtime_ns, written.st_size)
    assert not journal.exists()
    # An empty journal (a run killed before its first write) is nothing to fold in either.
    journal.touch()
    with Store(db) as store:
        assert len(store) == 2
    assert db.stat().st_ino == written.st_ino and not journal.exists()
    # A change is folded in at close, as before.
    with Store(db) as store:
        store.put(record(3))
    assert db.stat().st_ino != written.st_ino and len(load_records(db)) == 3 and not journal.exists()


def test_a_second_process_cannot_open_a_database_in_use(tmp_path):
    db = tmp_path / "geolocator.json"
    with Store(db):
        script = f"import sys; sys.path.insert(0, {str(REPO)!r})\nfrom pathlib import Path\nfrom geolocator.record.store import Store\nStore(Path({str(db)!r}))"
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and "in use by another geolocator process" in proc.stderr
    with pytest.raises(StoreError), Store(db):
        Store(db)


def test_tinydb_reads_the_file_as_it_is(tmp_path):
    db = tmp_path / "geolocator.json"
    with Store(db) as store:
        store.put_many([record(n) for n in range(10)])
        with open_tinydb(db) as tiny:  # snapshot + live journal
            assert len(tiny.table("photos")) == 10
    with TinyDB(db) as plain:  # TinyDB's own JSON storage, after close
        docs = plain.table("photos").all()
        assert sorted(d["name"] for d in docs) == sorted(f"{n}.jpg" for n in range(10))


def test_update_is_read_modify_write(tmp_path):
    with Store(tmp_path / "geolocator.json") as store:
        first = store.put(record(1, status=Status.PENDING))
        store.put(dataclasses.replace(first, source=Source.MANUAL, status=Status.LOCATED))  # a manual fix
        # a writer holding the old copy changes only what it means to change
        result = store.update(first.id, lambda cur: dataclasses.replace(cur, attempts=cur.attempts + 1))
        assert result.source is Source.MANUAL and result.attempts == 1
        assert store.update(first.id, lambda cur: None) == result  # None: no write
        assert store.update("missing", lambda cur: None) is None
        done = store.update_many([first.id, "missing"], lambda cur: dataclasses.replace(cur, error="x"))
        assert [r.error for r in done] == ["x"]


FAILED_WRITE_SCRIPT = r"""
import resource, signal, sys
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from records import record
from geolocator.record.store import Store

store = Store(Path(sys.argv[1]))
store.put(record(1))
journal = Path(sys.argv[1] + ".journal")
# The disk "fills up": a size limit just past what is written (EFBIG, like ENOSPC, from write).
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = journal.stat().st_size + 100
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
try:
    store.put(record(2, description="x" * 500))
except OSError as exc:
    print("put 2 failed:", exc.errno)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
store.put(record(3))  # the disk has room again
print("in memory:", sorted(r.name for r in store.all()))
"""


def test_a_write_that_failed_never_surfaces_later(tmp_path):
    # The journal is cut back to its last good line when a write fails, so a record the caller
    # was told had not been stored does not appear after a restart.
    db = tmp_path / "geolocator.json"
    result = subprocess.run(
        [sys.executable, "-c", FAILED_WRITE_SCRIPT, str(db), str(Path(__file__).parent)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert "put 2 failed: 27" in result.stdout, result.stdout + result.stderr
    assert "in memory: ['1.jpg', '3.jpg']" in result.stdout
    assert sorted(r.name for r in load_records(db).values()) == ["1.jpg", "3.jpg"]


def test_tinydb_api_writes_wait_for_a_running_geolocator(tmp_path):
    db = tmp_path / "geolocator.json"
    with Store(db) as store:
        store.put(record(1))
        with pytest.raises(StoreError, match="in use"):
            open_tinydb(db).table("photos").insert({"name": "x"})
        assert len(load_records(db)) == 1
    table = open_tinydb(db).table("photos")  # once it has stopped, scripts may write
    table.truncate()
    assert load_records(db) == {}


# -- a snapshot that does not end as written ---------------------------------------------------------
def test_a_snapshot_cut_after_a_complete_record_is_refused_and_left_untouched(tmp_path):
    db = tmp_path / "geolocator.json"
    with Store(db) as store:
        store.put_many([record(n) for n in range(10)])
    whole = db.read_bytes()
    lines = whole.split(b"\n")
    cut = b"\n".join(lines[:6]) + b"\n"  # head and five complete records; no closing '}}'
    db.write_bytes(cut)
    with pytest.raises(StoreError, match="cut short"):
        Store(db)
    with pytest.raises(StoreError, match="cut short"):
        load_records(db)
    assert db.read_bytes() == cut  # never rewritten as a valid, shorter snapshot
    db.write_bytes(whole + b'"1":{}\n')  # anything after the end is not ours either
    with pytest.raises(StoreError, match="after its closing"):
        Store(db)


def test_scan_on_a_cut_snapshot_exits_2_with_one_line_and_keeps_the_file(tmp_path):
    db = tmp_path / "geolocator.json"
    with Store(db) as store:
        store.put_many([record(n) for n in range(10)])
    cut = db.read_bytes().rsplit(b"\n}}", 1)[0]
    db.write_bytes(cut)
    config = write_config(tmp_path / "config.toml")
    proc = run_daemon("scan", "--config", str(config), cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "cut short" in proc.stderr and "Traceback" not in proc.stderr
    assert db.read_bytes() == cut



def test_a_database_in_another_layout_is_read_one_record_at_a_time_and_migrated(tmp_path):
    """One JSON document on one line, as TinyDB's own storage, a previous version or a person
    following the README writes it: every record is read (streamed: bench/service_rss.py shows
    the memory), and the next compaction writes our layout."""
    db = tmp_path / "geolocator.json"
    records = [record(n) for n in range(50)]
    db.write_text(json.dumps({"_default": {}, "photos": {str(n): r.to_dict() for n, r in enumerate(records)}}))
    with Store(db) as store:
        assert sorted(r.id for r in store.all()) == sorted(r.id for r in records)
        assert store.get(records[7].id) == records[7]
        store.put(dataclasses.replace(records[0], error="changed"))
    assert db.read_bytes().startswith(b'{"photos": {\n')  # folded at close: our layout now
    assert load_records(db)[records[0].id].error == "changed" and len(load_records(db)) == 50


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"photos": [{"id": "x"}]}', "no 'photos' table"),  # a table that is not an object: never taken for an empty one
        ('{"photos": {"1": {"id": "abc", "sha256": "ab', "not valid JSON"),  # cut short
        ("[]", "no 'photos' table"),
    ],
)
def test_a_database_in_another_layout_that_is_not_one_is_refused_and_kept(tmp_path, text, why):
    db = tmp_path / "geolocator.json"
    db.write_text(text)
    with pytest.raises(StoreError, match=why):
        Store(db)
    assert db.read_text() == text


# -- a full disk -------------------------------------------------------------------------------------
def test_a_journal_rotation_without_an_inode_keeps_writing_the_old_journal(tmp_path):
    with small_fs(tmp_path / "fs", size="8m", inodes=16) as fs:
        db = fs / "geolocator.json"
        with Store(db) as store:
            fillers = fill_inodes(fs)  # rotation cannot create the new journal now
            assert fillers
            store.put_many([record(n) for n in range(MIN_COMPACT_LINES + 1)])  # past the rotation threshold
            store.put(record(5000))  # still written: never to a closed descriptor
            store.put(record(5001))
            assert store.problem is None
            assert len(load_records(db)) == MIN_COMPACT_LINES + 3  # on disk, as acknowledged
            for filler in fillers:
                filler.unlink()
            store.put(record(5002))  # room again: this write rotates and compacts
            assert not db.with_name(db.name + ".journal.new").exists()
        assert len(load_records(db)) == MIN_COMPACT_LINES + 4
        assert not db.with_name(db.name + ".journal").exists()


def test_a_store_that_cannot_write_says_why_until_it_can_again_and_closes_anyway(tmp_path):
    with small_fs(tmp_path / "fs", size="1m", inodes=64) as fs:
        db = fs / "geolocator.json"
        store = Store(db)
        store.put(record(1))
        filler = fill_space(fs)
        with pytest.raises(OSError) as failed:
            store.put(record(2, description="x" * 20000))  # more than the journal's last page holds
        assert failed.value.errno == errno.ENOSPC
        assert "No space left on device" in (store.problem or "")
        store.close()  # folding into the snapshot fails on a full disk: closing still completes
        assert sorted(r.name for r in load_records(db).values()) == ["1.jpg"]
        with pytest.raises(StoreError, match="No space left on device"):
            Store(db)  # a restart on the full disk: one clear error
        filler.unlink()
        with Store(db) as store:
            store.put(record(3))
            assert store.problem is None
        assert sorted(r.name for r in load_records(db).values()) == ["1.jpg", "3.jpg"]


def test_a_record_is_stored_as_to_dict_without_its_defaults_and_stamped_as_replace_would():
    """`stored` and `stamped` are written for speed (putting 100k records): the same results as
    the plain forms they replace, for a record at its defaults and for one with every field set."""
    full = record(
        2, source=Source.AI, lat=1.5, lon=-2.5, altitude=3.0, place="P", city="C", region="R", country_code="PT",
        confidence=0.5, radius_km=9.0, status=Status.LOCATED, model="m", attempts=2, sidecars=("a.xmp",),
        sidecar_moves=(("a.xmp", "in/a.xmp"),), ai_decisions=("asked",), decisions=("kept",), declined=(Source.TRACK,),
        history=(LocationChange(n=1, prev=None, kind=ChangeKind.SET, at="2024-01-01T00:00:00Z", by="ai", source=Source.AI, lat=1.5, lon=-2.5),),
        clock_sync=ClockSync(utc="2024-01-01T00:00:00+00:00", first_day="2024-01-01", last_day="2024-01-01", how="typed", at="2024-01-02"),
        file_stat=(1, 2, 3), added_at="2024-01-01T00:00:00Z",
    )
    defaults = {f.name: f.default for f in dataclasses.fields(PhotoRecord) if f.default is not dataclasses.MISSING}
    for each in (record(1), full):
        plain = {name: value for name, value in each.to_dict().items()
                 if name not in defaults or value != ([] if isinstance(defaults[name], tuple) else defaults[name])}
        assert each.stored() == plain
        assert PhotoRecord.from_dict(each.stored()) == each
        now = "2025-02-02T00:00:00Z"
        assert each.stamped(now) == dataclasses.replace(each, updated_at=now, added_at=each.added_at or now)
