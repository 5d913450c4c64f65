""".xmp sidecars dropped into the inbox travel with their photo, whatever the order of arrival;
one whose photo never comes is failed with a record. Real files, a real store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from configs import make_config
from expect import wait_until
from photos import CORPUS_JPG, GPS_JPEGS, copy_corpus
from trees import sha256, tree

from geolocator.core import Core
from geolocator.folders import Folders
from geolocator.pipeline import SIDECAR_WITHOUT_PHOTO, NotSettled, Pipeline, Task
from geolocator.record import Status
from geolocator.record.store import Store, load_records

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'


@pytest.fixture
def config(tmp_path, corpus):
    config = make_config(tmp_path, watch={"incomplete_seconds": 0.5})
    Folders.from_config(config).create()
    return config


@pytest.fixture
def env(config):
    with Store(config.paths.database) as store:
        yield config, store, Pipeline(Core.build(config, store))


def sidecar(path: Path, note: bytes = b"") -> Path:
    path.write_bytes(XMP + note)
    return path


def test_sidecars_beside_a_photo_move_with_it_and_are_recorded_on_it(env):
    config, store, pipeline = env
    inbox = config.paths.inbox
    photo = copy_corpus(GPS_JPEGS[0], inbox / "a.jpg")
    sidecar(inbox / "a.xmp", b"lightroom")
    sidecar(inbox / "a.jpg.XMP", b"darktable")
    record = pipeline.process(photo)
    pipeline.flush()
    stored = load_records(config.paths.database)[record.id]
    assert stored.path == "2008/10/a.jpg" and sorted(stored.sidecars) == ["2008/10/a.jpg.XMP", "2008/10/a.xmp"]
    assert stored.moving_from is None and stored.sidecar_moves == ()
    assert tree(config.paths.library) == {"2008": {"10": {"a.jpg": sha256(CORPUS_JPG / GPS_JPEGS[0]), "a.jpg.XMP": XMP + b"darktable", "a.xmp": XMP + b"lightroom"}}}
    assert tree(inbox) == {} and len(store) == 1  # no record of their own


def test_a_sidecar_is_renamed_with_its_photo_on_a_clash(env):
    config, _, pipeline = env
    inbox, folder = config.paths.inbox, config.paths.library / "2008" / "10"
    folder.mkdir(parents=True)
    (folder / "a.xmp").write_bytes(b"someone else's sidecar")  # only the sidecar's name is taken
    photo = copy_corpus(GPS_JPEGS[0], inbox / "a.jpg")
    sidecar(inbox / "a.xmp")
    sidecar(inbox / "a.jpg.xmp")
    record = pipeline.process(photo)
    assert record.path == "2008/10/a-2.jpg" and sorted(record.sidecars) == ["2008/10/a-2.jpg.xmp", "2008/10/a-2.xmp"]
    # the other sidecar untouched; the photo and both its sidecars under the next free name
    assert tree(folder) == {"a.xmp": b"someone else's sidecar", "a-2.jpg": sha256(CORPUS_JPG / GPS_JPEGS[0]), "a-2.xmp": XMP, "a-2.jpg.xmp": XMP}
    assert tree(inbox) == {}


def test_a_sidecar_that_arrives_first_waits_for_its_photo(env):
    config, store, pipeline = env
    inbox = config.paths.inbox
    xmp = sidecar(inbox / "b.xmp")
    with pytest.raises(NotSettled, match="waiting for its photo"):
        pipeline.process(xmp)  # alone so far: waits (incomplete_seconds) for its photo
    photo = copy_corpus(GPS_JPEGS[1], inbox / "b.jpg")
    with pytest.raises(NotSettled, match=r"waiting for its photo b\.jpg"):
        pipeline.process(xmp)
    record = pipeline.process(photo)
    assert record.sidecars == ("2008/10/b.xmp",) and not xmp.exists()
    assert pipeline.process(xmp) is None and len(store) == 1  # gone with its photo


def test_a_sidecar_that_arrives_just_after_its_photo_follows_it(env):
    config, store, pipeline = env
    inbox = config.paths.inbox
    record = pipeline.process(copy_corpus(GPS_JPEGS[2], inbox / "c.jpg"))
    pipeline.flush()
    assert record.sidecars == ()
    xmp = sidecar(inbox / "c.jpg.xmp")
    assert pipeline.process(xmp) is None  # not a file of its own
    pipeline.flush()
    stored = load_records(config.paths.database)[record.id]
    assert stored.sidecars == (f"{Path(record.path).parent}/c.jpg.xmp",) and stored.sidecar_moves == ()
    assert (config.paths.library / stored.sidecars[0]).read_bytes() == XMP
    assert len(store) == 1 and tree(config.paths.failed) == {} and os.listdir(inbox) == []


def test_a_sidecar_whose_photo_never_comes_is_failed_with_a_record(env):
    config, store, pipeline = env
    xmp = sidecar(config.paths.inbox / "lonely.xmp")

    def attempt():
        try:
            return pipeline.process(xmp)
        except NotSettled:
            return None

    record = wait_until(attempt, 5, "the lonely sidecar filed")
    assert (record.status, record.error, record.path) == (Status.FAILED, SIDECAR_WITHOUT_PHOTO, "lonely.xmp")
    assert tree(config.paths.failed) == {"lonely.xmp": XMP} and len(store) == 1


def test_the_sidecar_of_a_duplicate_goes_with_it_to_duplicates(env):
    config, store, pipeline = env
    inbox = config.paths.inbox
    original = pipeline.process(copy_corpus(GPS_JPEGS[3], inbox / "d.jpg"))
    again = copy_corpus(GPS_JPEGS[3], inbox / "again" / "d.jpg")
    sidecar(inbox / "again" / "d.xmp", b"edited")
    duplicate = pipeline.process(again)
    assert duplicate.status is Status.DUPLICATE and duplicate.duplicate_of == original.id
    assert duplicate.sidecars == ("d.xmp",) and tree(config.paths.duplicates) == {"d.jpg": sha256(CORPUS_JPG / GPS_JPEGS[3]), "d.xmp": XMP + b"edited"}
    assert len(store) == 2


def test_a_crash_after_the_photo_moved_but_before_its_sidecar_is_finished_at_restart(config):
    inbox = config.paths.inbox
    photo = copy_corpus(GPS_JPEGS[4], inbox / "e.jpg")
    xmp = sidecar(inbox / "e.xmp")
    with Store(config.paths.database) as store:
        pipeline = Pipeline(Core.build(config, store))
        intent = pipeline.run(Task.arriving(photo, photo.lstat()), [s for s in pipeline.stages if s.name != "move"]).record
    assert intent.sidecar_moves == (("2008/10/e.xmp", str(xmp)),)
    os.rename(photo, config.paths.library / intent.path)  # the photo moved, then the kill
    with Store(config.paths.database) as again:
        assert Pipeline(Core.build(config, again)).recover() == 1
        stored = again.get(intent.id)
    assert stored.moving_from is None and stored.sidecar_moves == () and stored.sidecars == ("2008/10/e.xmp",)
    assert (config.paths.library / "2008/10/e.xmp").read_bytes() == XMP and os.listdir(inbox) == []


def test_a_photo_arriving_as_its_lonely_sidecar_is_about_to_be_failed_still_gets_it(env):
    config, store, pipeline = env
    inbox = config.paths.inbox
    xmp = sidecar(inbox / "late.xmp")
    before_claim = [s for s in pipeline.stages if s.name not in ("claim", "move")]

    def judged_alone():
        try:
            return pipeline.run(Task.arriving(xmp, xmp.lstat()), before_claim)
        except NotSettled:
            return None

    task = wait_until(judged_alone, 5, "the sidecar judged to be without photo")
    assert task.error == SIDECAR_WITHOUT_PHOTO
    photo = copy_corpus(GPS_JPEGS[0], inbox / "late.jpg")  # ... and now its photo arrives
    with pytest.raises(NotSettled, match="its photo has just arrived"):
        pipeline.claim(task)
    assert pipeline.process(photo).sidecars == ("2008/10/late.xmp",)
    assert len(store) == 1 and tree(config.paths.failed) == {}
