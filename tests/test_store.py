"""The store: crash-safe journal, one process at a time, readable by TinyDB itself."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tinydb import TinyDB

from geolocator.record import PhotoRecord, Source, Status, record_id
from geolocator.store import Store, StoreError, load_records, open_tinydb

REPO = Path(__file__).resolve().parent.parent


def make(n: int, **changes) -> PhotoRecord:
    sha = hashlib.sha256(str(n).encode()).hexdigest()
    return dataclasses.replace(PhotoRecord(id=record_id(sha), sha256=sha, name=f"{n}.jpg", path=f"2024/01/{n}.jpg", status=Status.LOCATED, lat=1.0, lon=2.0), **changes)


def test_a_torn_last_journal_line_is_ignored(tmp_path):
    db = tmp_path / "geolocator.json"
    with Store(db) as store:
        store.put_many([make(1), make(2)])
    journal = db.with_name(db.name + ".journal")
    journal.write_text(json.dumps(make(3).to_dict()) + "\n" + json.dumps(make(4).to_dict())[:40])  # killed mid-write
    records = load_records(db)
    assert sorted(r.name for r in records.values()) == ["1.jpg", "2.jpg", "3.jpg"]
    with Store(db) as store:
        assert len(store) == 3
        store.put(make(5))
    assert len(load_records(db)) == 4


def test_reopen_after_kill_9_keeps_every_acknowledged_write(tmp_path):
    db = tmp_path / "geolocator.json"
    script = f"""
import sys, os, dataclasses
sys.path.insert(0, {str(REPO)!r})
from geolocator.store import Store
from test_store import make
store = Store(__import__('pathlib').Path({str(db)!r}))
for n in range(200):
    store.put(make(n))
    print(n, flush=True)
os.kill(os.getpid(), 9)
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    acknowledged = len(proc.stdout.split())
    assert acknowledged == 200
    with Store(db) as store:  # the lock died with the process
        assert len(store) == 200


def test_a_second_process_cannot_open_a_database_in_use(tmp_path):
    db = tmp_path / "geolocator.json"
    with Store(db):
        script = f"import sys; sys.path.insert(0, {str(REPO)!r})\nfrom pathlib import Path\nfrom geolocator.store import Store\nStore(Path({str(db)!r}))"
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and "in use by another geolocator process" in proc.stderr
    with pytest.raises(StoreError), Store(db):
        Store(db)


def test_tinydb_reads_the_file_as_it_is(tmp_path):
    db = tmp_path / "geolocator.json"
    with Store(db) as store:
        store.put_many([make(n) for n in range(10)])
        with open_tinydb(db) as tiny:  # snapshot + live journal
            assert len(tiny.table("photos")) == 10
    with TinyDB(db) as plain:  # TinyDB's own JSON storage, after close
        docs = plain.table("photos").all()
        assert sorted(d["name"] for d in docs) == sorted(f"{n}.jpg" for n in range(10))


def test_update_is_read_modify_write(tmp_path):
    with Store(tmp_path / "geolocator.json") as store:
        first = store.put(make(1, status=Status.PENDING))
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
from test_store import make
from geolocator.store import Store

store = Store(Path(sys.argv[1]))
store.put(make(1))
journal = Path(sys.argv[1] + ".journal")
# The disk "fills up": a size limit just past what is written (EFBIG, like ENOSPC, from write).
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = journal.stat().st_size + 100
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
try:
    store.put(make(2, description="x" * 500))
except OSError as exc:
    print("put 2 failed:", exc.errno)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
store.put(make(3))  # the disk has room again
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
        store.put(make(1))
        with pytest.raises(StoreError, match="in use"):
            open_tinydb(db).table("photos").insert({"name": "x"})
        assert len(load_records(db)) == 1
    table = open_tinydb(db).table("photos")  # once it has stopped, scripts may write
    table.truncate()
    assert load_records(db) == {}
