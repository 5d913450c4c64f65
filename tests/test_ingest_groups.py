"""Groups of files through `Pipeline.process_many` (what `scan` and the service's workers do): all
read and located, all their intents written with one journal write, then all moved. On real files,
a real store, a real full filesystem and a real kill -9 of `daemon.py scan`."""

from __future__ import annotations

import os
import signal
import subprocess

from configs import make_config, write_config
from expect import wait_until
from photos import CORPUS_JPG, GPS_JPEGS, copy_corpus
from processes import DAEMON, daemon_env, reap, run_daemon
from smallfs import fill_space, small_fs
from trees import file_names, nest, sha256, tree

from geolocator.core import Core
from geolocator.folders import Folders
from geolocator.pipeline import Pipeline
from geolocator.record import Status
from geolocator.record.store import Store, load_records


def test_the_same_content_twice_in_one_group_is_filed_once_and_the_other_is_its_duplicate(tmp_path, corpus):
    config = make_config(tmp_path)
    Folders.from_config(config).create()
    inbox = config.paths.inbox
    sources = [copy_corpus(GPS_JPEGS[1], inbox / "a.jpg"), copy_corpus(GPS_JPEGS[2], inbox / "b.jpg"), copy_corpus(GPS_JPEGS[1], inbox / "sub" / "a.jpg")]
    with Store(config.paths.database) as store:
        pipeline = Pipeline(Core.build(config, store))
        outcomes = pipeline.process_many(sources)
        pipeline.flush()
        assert [o.source for o in outcomes] == sources and all(o.waiting is None for o in outcomes)
        first, other, again = (o.record for o in outcomes)
        assert (first.status, other.status, again.status) == (Status.LOCATED, Status.LOCATED, Status.DUPLICATE)
        assert again.duplicate_of == first.id and again.sha256 == first.sha256 and again.id != first.id
        assert store.counts()["located"] == 2 and store.counts()["duplicate"] == 1 and len(store) == 3
    content = {name: sha256(CORPUS_JPG / name) for name in GPS_JPEGS[1:3]}
    assert tree(config.paths.library) == nest({first.path: content[GPS_JPEGS[1]], other.path: content[GPS_JPEGS[2]]})
    assert tree(config.paths.duplicates) == {"a.jpg": content[GPS_JPEGS[1]]}
    assert file_names(inbox) == []
    on_disk = load_records(config.paths.database)
    assert on_disk.keys() == {first.id, other.id, again.id} and not any(r.moving_from for r in on_disk.values())


def test_when_the_group_s_intents_cannot_be_written_the_whole_group_stays_in_the_inbox(tmp_path, corpus):
    with small_fs(tmp_path / "fs", size="1m", inodes=64) as fs:
        config = make_config(tmp_path, paths={"database": str(fs / "geolocator.json")})
        Folders.from_config(config).create()
        # Each record outgrows the journal's last page (its name is long), so the write needs a new page.
        sources = [copy_corpus(name, config.paths.inbox / f"{n}-{'x' * 200}.jpg") for n, name in enumerate(GPS_JPEGS[:4])]
        contents = {path.name: path.read_bytes() for path in sources}
        with Store(config.paths.database) as store:
            pipeline = Pipeline(Core.build(config, store))
            filler = fill_space(fs)
            outcomes = pipeline.process_many(sources)
            assert [(o.source, o.record, o.waiting) for o in outcomes] == [(path, None, None) for path in sources]
            assert "No space left on device" in (store.problem or "")
            assert tree(config.paths.inbox) == contents and file_names(config.paths.library) == []  # nothing moved
            assert len(store) == 0 and load_records(config.paths.database) == {}  # nothing recorded
            filler.unlink()
            filed = [o.record for o in pipeline.process_many(sources)]  # the next try files them all
            pipeline.flush()
            assert all(r is not None and r.status is Status.LOCATED for r in filed) and store.problem is None
            # Their names were given back when the write failed: no "-2" suffix on the second try.
            assert sorted(os.path.basename(r.path) for r in filed) == sorted(contents)
        assert file_names(config.paths.inbox) == [] and len(file_names(config.paths.library)) == len(sources)


def test_a_kill_9_in_the_middle_of_a_group_is_finished_by_the_next_start(tmp_path, corpus):
    config = write_config(tmp_path / "config.toml", settle=0.0)
    inbox, library = tmp_path / "inbox", tmp_path / "library"
    sources = [copy_corpus(name, inbox / f"{n}.jpg", extra=b"%d" % n) for n, name in enumerate(GPS_JPEGS * 2)]
    contents = {path.name: path.read_bytes() for path in sources}
    # stderr is a pipe filled to the brim beforehand: scan's first log line, written right after the
    # group's first file has moved, blocks it there, in the middle of the group, until killed.
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:
            os.write(write_end, b"-")
    except BlockingIOError:
        pass
    os.set_blocking(write_end, True)
    try:
        proc = subprocess.Popen([*DAEMON, "scan", "--config", str(config)], cwd=tmp_path, env=daemon_env(), stdout=subprocess.DEVNULL, stderr=write_end)
    finally:
        os.close(write_end)
    try:
        moved = wait_until(lambda: file_names(library), 60, "the group's first file to move")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=20) == -signal.SIGKILL
    finally:
        reap(proc)
        os.close(read_end)
    assert len(moved) == 1 and len(file_names(inbox)) == len(sources) - 1  # killed mid-group
    intents = load_records(tmp_path / "geolocator.json")
    assert len(intents) == len(sources) and all(r.moving_from for r in intents.values())  # every intent written before the first move

    done = run_daemon("scan", "--config", str(config), cwd=tmp_path)  # recovery at start finishes the group
    assert done.returncode == 0, done.stderr
    records = load_records(tmp_path / "geolocator.json")
    assert records.keys() == intents.keys() and all(r.status is Status.LOCATED and not r.moving_from for r in records.values())
    assert tree(library) == nest({r.path: contents[os.path.basename(r.path)] for r in records.values()})
    assert file_names(inbox) == []
