"""The store: crash-safe journal, one process at a time, readable by TinyDB itself."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
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
    with pytest.raises(StoreError):
        with Store(db):
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
