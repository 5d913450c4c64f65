"""The ingest pipeline and the mover on real files and a real store (no mocks of our modules)."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from pathlib import Path

import pytest
from configs import make_config
from expect import expect
from photos import CORPUS_JPG, GPS_JPEGS, NO_GPS_JPEG, copy_corpus, write_jpeg
from trees import sha256, tree

from geolocator.config import build_config
from geolocator.core import Core
from geolocator.errors import ConfigError
from geolocator.locate.places import PlaceName
from geolocator.move import mover
from geolocator.move.intents import decode_path
from geolocator.pipeline import AI_DISABLED, WAITING_FOR_AI, NotSettled, Pipeline, Task, capture_time, locate
from geolocator.record import PhotoMetadata, Source, Status, record_id
from geolocator.record.store import Store, load_records


@pytest.fixture
def config(tmp_path, corpus):
    return make_config(tmp_path)


def pipeline_env(config):
    """(config, store, pipeline) on the config's folders, made; the store closed after (a fixture's body)."""
    store = Store(config.paths.database)
    pipeline = Pipeline(Core.build(config, store))
    for folder in (config.paths.inbox, config.paths.library, config.paths.failed, config.paths.duplicates):
        folder.mkdir(parents=True, exist_ok=True)
    yield config, store, pipeline
    store.close()


@pytest.fixture
def env(config):
    yield from pipeline_env(config)


def aged(path: Path, seconds: float = 3600) -> Path:
    """Make a file look long finished (older than any settle time)."""
    old = time.time() - seconds
    os.utime(path, (old, old))
    return path


def test_a_photo_with_gps_is_located_named_and_moved_by_capture_date(env):
    config, store, pipeline = env
    src = copy_corpus(GPS_JPEGS[0], config.paths.inbox / "DSCN0010.jpg")
    record = pipeline.process(src)
    pipeline.flush()
    stored = store.get(record.id)
    assert stored.status is Status.LOCATED and stored.source is Source.EXIF
    assert stored.path == "2008/10/DSCN0010.jpg" and stored.moving_from is None
    assert "Italy" in stored.place
    # the label's fields are kept apart, for the map to search and group by
    assert stored.country_code == "IT" and stored.city and stored.region
    assert stored.place.endswith(f"{stored.city}, {stored.region}, Italy")
    assert tree(config.paths.library) == {"2008": {"10": {"DSCN0010.jpg": sha256(CORPUS_JPG / GPS_JPEGS[0])}}}  # its own bytes
    assert tree(config.paths.inbox) == {}
    assert stored.id == record_id(stored.sha256)


def test_without_gps_the_photo_is_pending_for_the_ai_or_unlocated_without_it(tmp_path, corpus):
    for ai, status, reason in ((True, Status.PENDING, WAITING_FOR_AI), (False, Status.UNLOCATED, AI_DISABLED)):
        config = make_config(tmp_path / str(ai), ai=ai)
        with Store(config.paths.database) as store:
            pipeline = Pipeline(Core.build(config, store))
            src = copy_corpus(NO_GPS_JPEG, config.paths.inbox / "c.jpg")
            record = pipeline.process(src)
            assert (record.status, record.error) == (status, reason)
            assert record.path == "2008/05/c.jpg"  # the capture date
            assert (config.paths.library / record.path).is_file()


def test_without_a_capture_date_the_photo_is_filed_as_undated_not_under_the_day_it_was_copied(env):
    config, _, pipeline = env
    src = write_jpeg(config.paths.inbox / "synthetic.jpg", 1)
    when = time.mktime((2019, 7, 4, 12, 0, 0, 0, 0, -1))
    os.utime(src, (when, when))
    record = pipeline.process(src)
    assert record.path == "undated/synthetic.jpg" and record.taken_at is None
    assert (config.paths.library / "undated" / "synthetic.jpg").is_file()


def test_two_different_files_with_the_same_name_are_both_kept(env):
    config, store, pipeline = env
    first = pipeline.process(copy_corpus(GPS_JPEGS[0], config.paths.inbox / "a" / "IMG.jpg"))
    second = pipeline.process(copy_corpus(GPS_JPEGS[0], config.paths.inbox / "b" / "IMG.jpg", extra=b"other"))
    assert (first.path, second.path) == ("2008/10/IMG.jpg", "2008/10/IMG-2.jpg")
    assert first.id != second.id and len(store) == 2


def test_the_same_content_twice_goes_to_duplicates_with_its_own_record(env):
    config, store, pipeline = env
    original = pipeline.process(copy_corpus(GPS_JPEGS[1], config.paths.inbox / "one.jpg"))
    again = pipeline.process(copy_corpus(GPS_JPEGS[1], config.paths.inbox / "sub" / "two.jpg"))
    third = pipeline.process(copy_corpus(GPS_JPEGS[1], config.paths.inbox / "two.jpg"))
    pipeline.flush()
    assert again.status is Status.DUPLICATE and again.duplicate_of == original.id
    assert again.sha256 == original.sha256 and len({original.id, again.id, third.id}) == 3
    assert (again.path, third.path) == ("two.jpg", "two-2.jpg")
    assert tree(config.paths.duplicates) == {"two.jpg": sha256(CORPUS_JPG / GPS_JPEGS[1]), "two-2.jpg": sha256(CORPUS_JPG / GPS_JPEGS[1])}
    assert store.get(original.id).status is Status.LOCATED  # the original's record is untouched
    assert store.counts()["duplicate"] == 2


def test_a_corrupt_file_goes_to_failed_with_the_reason(env):
    config, store, pipeline = env
    src = config.paths.inbox / "broken.jpg"
    src.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    record = pipeline.process(aged(src))
    assert record.status is Status.FAILED and record.error
    assert (config.paths.failed / "broken.jpg").read_bytes().startswith(b"\xff\xd8")
    assert store.get(record.id).error == record.error


def test_a_young_unreadable_file_is_not_failed_but_given_time(env):
    config, store, pipeline = env
    src = config.paths.inbox / "half.jpg"
    src.write_bytes(b"\xff\xd8\xff")  # a copy that has barely started
    with pytest.raises(NotSettled):
        pipeline.process(src)
    assert src.exists() and len(store) == 0


def test_a_file_that_vanished_is_skipped(env):
    config, store, pipeline = env
    assert pipeline.process(config.paths.inbox / "gone.jpg") is None
    assert len(store) == 0


def test_locate_is_pure_and_keeps_what_the_file_says():
    metadata = PhotoMetadata(lat=1.0, lon=2.0, taken_at="2020-01-02T03:04:05+02:00", make="Canon", model="Canon EOS")
    task = Task(source=Path("x.jpg"), name="x.jpg", size=1, mtime=0, arrived=0, sha256="ab" * 32, metadata=metadata)
    record = locate(task, ai_enabled=True, describe=lambda lat, lon: PlaceName("Quarter", f"City {lat}", f"Region {lon}", "Country", "CC"))
    assert (record.status, record.source, record.place, record.camera) == (Status.LOCATED, Source.EXIF, "Quarter, City 1.0, Region 2.0, Country", "Canon EOS")
    assert (record.city, record.region, record.country_code) == ("City 1.0", "Region 2.0", "CC")
    assert capture_time(record.taken_at).month == 1
    assert capture_time("2024-06-15").month == 6  # a date alone (a WhatsApp name): filed under its month
    assert capture_time(None) is None and capture_time("not a time") is None


# -- the mover ------------------------------------------------------------------------------------
def test_move_never_overwrites(tmp_path):
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "a.jpg").write_bytes(b"existing")
    (tmp_path / "a.jpg").write_bytes(b"new")
    with pytest.raises(FileExistsError):
        mover.move_noreplace(tmp_path / "a.jpg", tmp_path / "dest" / "a.jpg")
    assert (tmp_path / "a.jpg").read_bytes() == b"new"
    moved = mover.free_name(tmp_path / "dest", "a.jpg")
    mover.move_noreplace(tmp_path / "a.jpg", moved)
    assert moved.name == "a-2.jpg" and moved.read_bytes() == b"new"
    assert (tmp_path / "dest" / "a.jpg").read_bytes() == b"existing"


@pytest.fixture
def other_filesystem(tmp_path):
    """A folder on another filesystem than tmp_path (tmpfs /dev/shm), or skip where there is none."""
    if not Path("/dev/shm").is_dir():
        pytest.skip("needs a second filesystem (/dev/shm)")
    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        if os.stat(other).st_dev == os.stat(tmp_path).st_dev:
            pytest.skip("/dev/shm is on the same filesystem as the test's folder here")
        yield Path(other)


def test_move_across_filesystems_copies_then_removes_the_source(tmp_path, other_filesystem):
    src = other_filesystem / "b.jpg"
    src.write_bytes(b"x" * 100_000)
    (tmp_path / "b.jpg").write_bytes(b"taken")
    moved = mover.free_name(tmp_path, "b.jpg")
    mover.move_noreplace(src, moved)
    assert moved.name == "b-2.jpg" and moved.read_bytes() == b"x" * 100_000 and not src.exists()
    assert os.stat(moved).st_dev != os.stat(other_filesystem).st_dev  # it really crossed devices
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b-2.jpg", "b.jpg"]  # no temp left


def test_the_pipeline_moves_across_filesystems(tmp_path, corpus, other_filesystem):
    config = build_config({"paths": {"inbox": str(other_filesystem)}, "ollama": {"enabled": False}}, tmp_path, None)
    with Store(config.paths.database) as store:
        src = copy_corpus(GPS_JPEGS[0], other_filesystem / "p.jpg")
        content = src.read_bytes()
        pipeline = Pipeline(Core.build(config, store))
        record = pipeline.process(src)
        pipeline.flush()
        dest = config.paths.library / record.path
        assert os.stat(dest).st_dev != os.stat(other_filesystem).st_dev  # it really crossed devices
        assert dest.read_bytes() == content and not src.exists()
        assert store.get(record.id).moving_from is None
        assert [p.name for p in dest.parent.iterdir()] == ["p.jpg"]  # no temporary copy left beside it


def test_a_symlink_in_the_inbox_is_filed_as_a_link_to_failed_and_its_target_left_alone(env, tmp_path):
    config, store, pipeline = env
    target = copy_corpus(GPS_JPEGS[0], tmp_path / "elsewhere.jpg")
    content = target.read_bytes()
    (config.paths.inbox / "link.jpg").symlink_to(target)
    record = pipeline.process(config.paths.inbox / "link.jpg")
    pipeline.flush()
    assert record is not None and record.status is Status.FAILED and "symbolic link" in (record.error or "")
    filed = config.paths.failed / (record.path or "")
    assert filed.is_symlink() and os.readlink(filed) == str(target) and not os.path.lexists(config.paths.inbox / "link.jpg")
    assert target.read_bytes() == content and len(store) == 1  # the photo it points to: not read as ours, not moved


def test_content_whose_file_was_deleted_is_imported_again_not_called_a_duplicate(env):
    config, store, pipeline = env
    first = pipeline.process(copy_corpus(GPS_JPEGS[0], config.paths.inbox / "a.jpg"))
    pipeline.flush()
    # A manual fix, then the user deletes the photo from the library and drops it in again.
    store.put(dataclasses.replace(store.get(first.id), source=Source.MANUAL, lat=1.5, lon=2.5, place="Somewhere"))
    (config.paths.library / first.path).unlink()
    again = pipeline.process(copy_corpus(GPS_JPEGS[0], config.paths.inbox / "a-again.jpg"))
    pipeline.flush()
    stored = store.get(first.id)
    assert again.id == first.id and stored.status is Status.LOCATED
    assert (stored.source, stored.lat, stored.lon) == (Source.MANUAL, 1.5, 2.5)  # the fix is kept
    assert stored.name == "a-again.jpg" and (config.paths.library / stored.path).is_file()
    assert tree(config.paths.duplicates) == {}
    assert len(store) == 1
    # While the file is there, the same content is a duplicate as before.
    third = pipeline.process(copy_corpus(GPS_JPEGS[0], config.paths.inbox / "a-third.jpg"))
    assert third.status is Status.DUPLICATE and third.duplicate_of == first.id


# -- file names that are not valid UTF-8 (FAT cards, old ZIPs) ----------------------------------------
def put_bytes_named(folder: Path, raw_name: bytes, content: bytes) -> Path:
    """A real file whose name is exactly `raw_name`; returns its path as os.listdir gives it."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(os.path.join(os.fsencode(folder), raw_name), "xb") as fh:
        fh.write(content)
    (listed,) = [name for name in os.listdir(folder) if os.fsencode(name) == raw_name]
    return folder / listed


def test_a_name_that_is_not_utf8_is_filed_under_a_readable_name(env, corpus):
    config, _, pipeline = env
    content = (corpus / "exif-samples/jpg" / GPS_JPEGS[0]).read_bytes()
    src = put_bytes_named(config.paths.inbox, b"A\xe9t\xe9.jpg", content)
    record = pipeline.process(src)
    pipeline.flush()
    assert (record.status, record.name, record.path) == (Status.LOCATED, "Aété.jpg", "2008/10/Aété.jpg")
    assert os.listdir(config.paths.inbox) == []  # the real bytes were moved
    assert (config.paths.library / "2008" / "10" / "Aété.jpg").read_bytes() == content
    assert load_records(config.paths.database)[record.id].name == "Aété.jpg"  # stored, and read back
    # A second one of the same bytes name with other content: numbered, still valid UTF-8.
    again = pipeline.process(put_bytes_named(config.paths.inbox, b"A\xe9t\xe9.jpg", content + b"other"))
    assert again.path == "2008/10/Aété-2.jpg"


def test_a_non_utf8_source_survives_a_crash_between_intent_and_move(config, corpus):
    content = (corpus / "exif-samples/jpg" / GPS_JPEGS[1]).read_bytes()
    src = put_bytes_named(config.paths.inbox, b"\x93caf\xe9\x94.jpg", content)
    with Store(config.paths.database) as store:
        pipeline = Pipeline(Core.build(config, store))
        task = pipeline.run(Task.arriving(src, src.lstat()), [s for s in pipeline.stages if s.name != "move"])
    intent = load_records(config.paths.database)[task.record.id]  # as a kill -9 now leaves it
    assert intent.moving_from.startswith("base64:") and os.fsencode(decode_path(intent.moving_from)) == os.fsencode(src)
    with Store(config.paths.database) as store:
        assert Pipeline(Core.build(config, store)).recover() == 1
        recovered = store.get(intent.id)
    assert recovered.moving_from is None and (config.paths.library / recovered.path).read_bytes() == content
    assert os.listdir(config.paths.inbox) == []


# -- files that look cut short ---------------------------------------------------------------------
def test_a_photo_cut_short_waits_then_is_located_from_its_whole_header_with_a_warning(tmp_path, corpus):
    config = make_config(tmp_path, settle=0.1, watch={"incomplete_seconds": 1.0})
    with Store(config.paths.database) as store:
        pipeline = Pipeline(Core.build(config, store))
        whole = (corpus / "exif-samples/jpg" / GPS_JPEGS[0]).read_bytes()
        src = config.paths.inbox / "cut.jpg"
        src.parent.mkdir(parents=True)
        src.write_bytes(whole[: len(whole) // 2])  # its EXIF and GPS are whole, its image data is not
        with pytest.raises(NotSettled) as waiting:
            pipeline.process(src)
        assert "JPEG without its end marker" in str(waiting.value) and 0 < waiting.value.retry_in <= 1.0
        assert len(store) == 0 and src.exists()

        def try_again():
            try:
                return pipeline.process(src)
            except NotSettled:
                return None

        record = expect(try_again, timeout=30, what="the cut file to be filed once unchanged")
        assert record.status is Status.LOCATED and record.warning.startswith("truncated: JPEG without its end marker")
        assert record.source is Source.EXIF and record.lat is not None  # its EXIF and GPS are whole (test_truncated.py)
        assert (config.paths.library / record.path).read_bytes() == whole[: len(whole) // 2]


def test_incomplete_seconds_is_validated_like_the_other_settings(tmp_path):
    assert make_config(tmp_path).watch.incomplete_seconds == 120.0  # the default
    with pytest.raises(ConfigError, match=r"\[watch\] incomplete_seconds cannot be negative"):
        make_config(tmp_path, watch={"incomplete_seconds": -1})
    with pytest.raises(ConfigError, match=r"\[watch\] incomplete_seconds: expected a number"):
        make_config(tmp_path, watch={"incomplete_seconds": "soon"})
