"""The intent protocol (geolocator.move.intents): record, move, flush; and recovery from every state a
kill -9 can leave, built exactly on real files and a real store."""

from __future__ import annotations

import os

import pytest
from configs import make_config
from photos import CORPUS_JPG, GPS_JPEGS, copy_corpus
from trees import nest, sha256, tree

from geolocator.core import Core
from geolocator.folders import Folders
from geolocator.move import mover
from geolocator.move.intents import Intents
from geolocator.pipeline import Pipeline, Task
from geolocator.record import PhotoRecord, Status
from geolocator.record.store import Store, load_records


@pytest.fixture
def config(tmp_path, corpus):
    config = make_config(tmp_path)
    Folders.from_config(config).create()
    return config


def test_the_intent_is_on_disk_before_the_move_and_cleared_only_once_finished_and_flushed(config):
    src = copy_corpus(GPS_JPEGS[0], config.paths.inbox / "a.jpg")
    record = PhotoRecord(id="0123456789abcdef", sha256="0" * 64, name="a.jpg", path=None, status=Status.LOCATED)
    with Store(config.paths.database) as store:
        intents = Intents(store, Folders.from_config(config))
        with intents.lock:
            intent = intents.reserve(record, config.paths.library / "2020", src)
        on_disk = load_records(config.paths.database)[record.id]  # what a crash right now would leave
        assert (on_disk.path, on_disk.moving_from) == ("2020/a.jpg", str(src)) and src.exists()
        intents.move(intent)
        assert (config.paths.library / "2020" / "a.jpg").is_file() and not src.exists()
        assert load_records(config.paths.database)[record.id].moving_from == str(src)  # not yet durable
        assert intents.flush() == []  # moved, but what follows the move has not run: kept for a restart to redo
        intents.finish(intent)
        assert [r.id for r in intents.flush()] == [record.id]
        assert load_records(config.paths.database)[record.id].moving_from is None
        assert intents.flush() == []


def test_a_name_taken_between_reserve_and_move_gets_the_next_free_one(config):
    src = copy_corpus(GPS_JPEGS[0], config.paths.inbox / "a.jpg")
    record = PhotoRecord(id="0123456789abcdef", sha256="0" * 64, name="a.jpg", path=None, status=Status.LOCATED)
    with Store(config.paths.database) as store:
        intents = Intents(store, Folders.from_config(config))
        with intents.lock:
            intent = intents.reserve(record, config.paths.library, src)
        (config.paths.library / "a.jpg").write_bytes(b"the user's own file")
        moved = intents.move(intent)
        assert moved.path == "a-2.jpg" and store.get(record.id).path == "a-2.jpg"
        assert (config.paths.library / "a.jpg").read_bytes() == b"the user's own file"


# -- recovery: the states a kill -9 can leave --------------------------------------------------------
def crashed_after_intent(config, src):
    """Run the stages up to the intent record, then stop as a kill would."""
    with Store(config.paths.database) as store:
        pipeline = Pipeline(Core.build(config, store))
        task = pipeline.run(Task.arriving(src, src.lstat()), [stage for stage in pipeline.stages if stage.name != "move"])
        return task.record, pipeline.intents.destination(task.record)


def recover(config):
    with Store(config.paths.database) as store:
        Pipeline(Core.build(config, store)).recover()
        return {r.id: r for r in store.all()}
def test_recovery_finishes_a_move_that_never_started(config):
    src = copy_corpus(GPS_JPEGS[2], config.paths.inbox / "x.jpg")
    record, dest = crashed_after_intent(config, src)
    assert record.moving_from == str(src) and not dest.exists()
    records = recover(config)
    assert records[record.id].moving_from is None and dest.is_file() and not src.exists()


def test_recovery_after_link_before_unlink_keeps_one_copy(config):
    src = copy_corpus(GPS_JPEGS[2], config.paths.inbox / "x.jpg")
    record, dest = crashed_after_intent(config, src)
    os.link(src, dest)  # the first half of a same-filesystem move
    records = recover(config)
    assert records[record.id].moving_from is None and dest.is_file() and not src.exists()


def test_recovery_after_the_move_just_clears_the_intent(config):
    src = copy_corpus(GPS_JPEGS[2], config.paths.inbox / "x.jpg")
    record, dest = crashed_after_intent(config, src)
    os.rename(src, dest)
    (dest.parent / f"{mover.TEMP_PREFIX}dead{mover.TEMP_SUFFIX}").write_bytes(b"partial copy")
    records = recover(config)
    assert records[record.id].moving_from is None
    # the photo, whole, and the stale temporary copy gone
    assert tree(config.paths.library) == nest({dest.relative_to(config.paths.library).as_posix(): sha256(CORPUS_JPG / GPS_JPEGS[2])})


def test_recovery_when_the_file_is_gone_says_so(config):
    src = copy_corpus(GPS_JPEGS[2], config.paths.inbox / "x.jpg")
    record, _ = crashed_after_intent(config, src)
    src.unlink()
    records = recover(config)
    assert records[record.id].status is Status.FAILED and records[record.id].moving_from is None
    assert "disappeared" in records[record.id].error


def test_a_move_that_failed_is_resumed_not_duplicated(config):
    src = copy_corpus(GPS_JPEGS[3], config.paths.inbox / "y.jpg")
    record, dest = crashed_after_intent(config, src)
    with Store(config.paths.database) as store:
        # The same file seen again (a rescan) without a restart in between: resume the intent.
        again = Pipeline(Core.build(config, store)).process(src)
        assert again.id == record.id and dest.is_file() and not src.exists()
        assert len(store) == 1


