"""An archive indexed in place (`[library] move = false`, issue 20 item 1): the inbox is the root
of the user's sorted archive; every file is recorded where it is and never moved, renamed or
modified (only our sidecar is merged beside a photo placed by a track); renames within the tree
keep their records, deleted files are marked missing and never forgotten, and a second look reads
nothing already recorded. Real files: photos written by exiftool, a GPX, darktable's own sidecar;
`scan` as a process, the service with its real watcher."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time

import pytest
from configs import make_config, write_config
from corpus import CORPUS
from exiftool_process import exiftool as run_exiftool
from expect import wait_until
from photos import Exif, exiftool_photos, noise_jpeg
from processes import run_daemon
from smallfs import fill_space, small_fs
from test_tracks_parse import gpx_text
from trees import tree

from geolocator.core import Core
from geolocator.pipeline import Pipeline, Task
from geolocator.record import Source, Status
from geolocator.record.store import Store, load_records

pytestmark = [pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool"), pytest.mark.timeout(120)]

IN_PLACE = {"library": {"move": False}, "paths": {"inbox": "archive"}}
T0 = 1_717_236_000  # 2024-06-01 10:00:00 UTC: the walk's start
DARKTABLE = CORPUS / "sidecars" / "darktable" / "DSC_9034.NEF.xmp"
EIFFEL = Exif(48.8584, 2.2945, "2019:05:01 10:00:00")
BLED = Exif(46.3683, 14.1146, "2020:06:02 11:30:00")
DURING_WALK = Exif(None, None, "2024:06:01 10:02:30", offset="+00:00")  # no GPS: the track places it


def exiftool(path) -> dict:
    done = run_exiftool("-n", "-j", "-G1", str(path))
    return json.loads(done)[0]


def make_archive(root):
    """A sorted archive: photos by year, a copy of one, a walk (GPX, a photo without GPS and
    darktable's sidecar of it), a note and a broken photo. Returns {relative path: bytes}."""
    walk = [(T0 + 60 * i, 48.85 + i * 0.001, 2.29 + i * 0.001) for i in range(6)]
    made = exiftool_photos({
        root / "2019" / "paris" / "eiffel.jpg": (noise_jpeg(1), EIFFEL),
        root / "2020" / "bled.jpg": (noise_jpeg(2), BLED),
        root / "2024" / "walk" / "nogps.jpg": (noise_jpeg(3), DURING_WALK),
    })
    (root / "2021").mkdir()
    shutil.copyfile(root / "2019" / "paris" / "eiffel.jpg", root / "2021" / "eiffel-again.jpg")  # a copy, found after the first
    (root / "2024" / "walk" / "walk.gpx").write_text(gpx_text(walk))
    shutil.copyfile(DARKTABLE, root / "2024" / "walk" / "nogps.jpg.xmp")  # another program's sidecar of it
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("our trip notes")
    (root / "2020" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe1 not a photo at all" * 10)  # cut short, and unreadable
    old = time.time() - 3600
    for path in root.rglob("*"):
        os.utime(path, (old, old))  # written an hour ago: none still being written (run_scan waits for no file)
    return {str(path.relative_to(root)): data for path, data in made.items()}


def records_by_path(store_or_path):
    records = load_records(store_or_path).values() if not isinstance(store_or_path, Store) else store_or_path.all()
    return {r.path: r for r in records}


# -- scan ------------------------------------------------------------------------------------------
def test_scan_in_place_records_every_file_where_it_is_and_changes_nothing_but_merges_our_sidecar(tmp_path):
    config = write_config(tmp_path / "config.toml", settle=0.1, **IN_PLACE)
    archive = tmp_path / "archive"
    make_archive(archive)
    before = tree(archive)
    proc = run_daemon("scan", "--config", str(config), cwd=tmp_path)
    # As filed (the photo without GPS is placed by the walk's track just after: its record says so below).
    assert proc.stdout == "scan: 2 located, 1 unlocated, 0 pending, 2 failed, 1 duplicate; in place: 0 unchanged, 0 renamed or moved, 0 missing\n"
    assert proc.returncode == 1  # two files could not be read: said so, as in move mode

    after = tree(archive)
    after["2024"]["walk"].pop("nogps.jpg.xmp")  # the one file that changed: darktable's sidecar, our GPS merged in
    before["2024"]["walk"].pop("nogps.jpg.xmp")
    assert after == before  # every photo, the track, the note and the broken file as they were, where they were
    assert not any((tmp_path / name).exists() for name in ("library", "failed", "duplicates"))

    records = records_by_path(tmp_path / "geolocator.json")
    assert set(records) == {"2019/paris/eiffel.jpg", "2021/eiffel-again.jpg", "2020/bled.jpg", "2020/broken.jpg", "2024/walk/nogps.jpg", "2024/walk/walk.gpx", "notes/readme.txt"}
    eiffel, copy = records["2019/paris/eiffel.jpg"], records["2021/eiffel-again.jpg"]
    assert eiffel.status is Status.LOCATED and (eiffel.lat, eiffel.lon) == pytest.approx((EIFFEL.lat, EIFFEL.lon))
    assert copy.status is Status.DUPLICATE and copy.duplicate_of == eiffel.id
    assert records["notes/readme.txt"].status is Status.FAILED and records["2020/broken.jpg"].status is Status.FAILED
    assert records["2024/walk/walk.gpx"].status is Status.TRACK
    placed = records["2024/walk/nogps.jpg"]
    assert placed.status is Status.LOCATED and placed.source is Source.TRACK
    assert all(r.moving_from is None and r.file_stat is not None for r in records.values())

    sidecar = exiftool(archive / "2024" / "walk" / "nogps.jpg.xmp")
    theirs = exiftool(DARKTABLE)
    assert (sidecar["XMP-exif:GPSLatitude"], sidecar["XMP-exif:GPSLongitude"]) == pytest.approx((placed.lat, placed.lon), abs=1e-6)
    darktable = {key: value for key, value in theirs.items() if key.startswith("XMP-darktable:")}
    assert darktable and {key: sidecar.get(key) for key in darktable} == darktable and sidecar["XMP-xmp:Rating"] == theirs["XMP-xmp:Rating"]


def test_a_second_scan_reads_nothing_recorded_follows_renames_and_marks_deleted_files_missing(tmp_path):
    config = write_config(tmp_path / "config.toml", settle=0.1, **IN_PLACE)
    archive = tmp_path / "archive"
    make_archive(archive)
    run_daemon("scan", "--config", str(config), cwd=tmp_path)
    first = records_by_path(tmp_path / "geolocator.json")

    # A recorded photo whose bytes change but not its size, mtime or inode: only reading it could
    # tell, and nothing recorded is read again (the stat check is the whole of it).
    bled = archive / "2020" / "bled.jpg"
    st = bled.stat()
    with bled.open("r+b") as fh:
        fh.seek(st.st_size - 10)
        fh.write(b"\0" * 8)
    os.utime(bled, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.rename(archive / "2019" / "paris" / "eiffel.jpg", archive / "2019" / "paris" / "tour-eiffel.jpg")
    os.renames(archive / "2024" / "walk", archive / "2024-06" / "walk")  # a folder moved, its sidecar with it
    (archive / "notes" / "readme.txt").unlink()
    copy = archive / "2021" / "eiffel-again.jpg"
    copy.write_bytes(exiftool_photos({tmp_path / "other.jpg": (noise_jpeg(9), BLED)})[tmp_path / "other.jpg"])  # other content at a recorded path
    exiftool_photos({archive / "2025" / "new.jpg": (noise_jpeg(10), EIFFEL)})

    proc = run_daemon("scan", "--config", str(config), cwd=tmp_path)
    assert proc.stdout == "scan: 2 located, 0 unlocated, 0 pending, 0 failed, 0 duplicate; in place: 2 unchanged, 3 renamed or moved, 2 missing\n"
    assert proc.returncode == 0
    second = {r.id: r for r in load_records(tmp_path / "geolocator.json").values()}

    assert second[first["2020/bled.jpg"].id].sha256 == first["2020/bled.jpg"].sha256  # not read again
    for old, new in (("2019/paris/eiffel.jpg", "2019/paris/tour-eiffel.jpg"), ("2024/walk/nogps.jpg", "2024-06/walk/nogps.jpg"), ("2024/walk/walk.gpx", "2024-06/walk/walk.gpx")):
        record = second[first[old].id]
        assert record.path == new and record.missing_since is None and record.history == first[old].history  # the same record, its history kept
    gone = second[first["notes/readme.txt"].id]
    assert gone.missing_since and gone.path == "notes/readme.txt" and gone.status is Status.FAILED  # never forgotten
    replaced = second[first["2021/eiffel-again.jpg"].id]
    assert replaced.missing_since and replaced.status is Status.DUPLICATE
    now_there = [r for r in second.values() if r.path == "2021/eiffel-again.jpg" and not r.missing_since]
    assert len(now_there) == 1 and now_there[0].status is Status.LOCATED and (now_there[0].lat, now_there[0].lon) == pytest.approx((BLED.lat, BLED.lon))
    assert len(second) == len(first) + 2  # the new photo and the new content: nothing else recorded again
    sidecar = exiftool(archive / "2024-06" / "walk" / "nogps.jpg.xmp")  # ours followed into darktable's, moved with its photo
    assert sidecar["XMP-exif:GPSLatitude"] == pytest.approx(second[first["2024/walk/nogps.jpg"].id].lat, abs=1e-6)
    assert not (archive / "2024").exists()

    proc = run_daemon("scan", "--config", str(config), cwd=tmp_path)
    assert proc.stdout == "scan: 0 located, 0 unlocated, 0 pending, 0 failed, 0 duplicate; in place: 7 unchanged, 0 renamed or moved, 0 missing\n"


def test_a_deleted_photo_whose_copy_is_there_takes_its_place_and_a_missing_file_put_back_is_back(tmp_path):
    config = make_config(tmp_path, settle=0.1, **IN_PLACE)
    archive = config.paths.inbox
    make_archive(archive)
    note = (archive / "notes" / "readme.txt").read_bytes()
    with Store(config.paths.database) as store:
        core = Core.build(config, store)
        run_scan(core)
        eiffel = records_by_path(store)["2019/paris/eiffel.jpg"]
        copy = records_by_path(store)["2021/eiffel-again.jpg"]
        (archive / "2019" / "paris" / "eiffel.jpg").unlink()
        (archive / "notes" / "readme.txt").rename(tmp_path / "readme.txt")
        run_scan(core)
        now, copy_now = store.get(eiffel.id), store.get(copy.id)
        assert now.path == "2021/eiffel-again.jpg" and now.missing_since is None and now.status is Status.LOCATED  # the photo keeps its place on the map
        assert copy_now.missing_since is not None  # the duplicate's record: its file is the photo's now
        readme = next(r for r in store.all() if r.name == "readme.txt")
        assert readme.missing_since is not None
        assert core.folders.file_of(readme) is None and core.folders.file_of(now) == archive / "2021" / "eiffel-again.jpg"

        (tmp_path / "readme.txt").rename(archive / "notes" / "readme.txt")  # put back as it was (same inode, size, mtime)
        run_scan(core)
        assert store.get(readme.id).missing_since is None and (archive / "notes" / "readme.txt").read_bytes() == note
        assert core.archive.counts["back"] == 1 and core.archive.counts["to read"] == 0


def run_scan(core: Core) -> None:
    """What `scan` does, in this process: look at every file, read what must be, then look for what went."""
    from geolocator.commands.scan import _to_read
    from geolocator.watch.watcher import iter_inbox

    pipeline = Pipeline(core)
    files = _to_read(core.archive, list(iter_inbox(core.folders.inbox, core.config.watch.ignore)))
    pipeline.process_each(files)
    pipeline.flush()
    core.archive.scan_ended()


def test_a_crash_after_recording_in_place_redoes_what_follows_and_never_touches_the_file(tmp_path):
    """An in-place intent names the file itself as source and destination: recovery must see that
    nothing moves (finishing a move there would remove the file as a leftover)."""
    config = make_config(tmp_path, settle=0.1, **IN_PLACE)
    archive = config.paths.inbox
    made = make_archive(archive)
    photo = archive / "2020" / "bled.jpg"
    with Store(config.paths.database) as store:
        pipeline = Pipeline(Core.build(config, store))
        task = pipeline.run(Task.arriving(photo, photo.lstat()), [s for s in pipeline.stages if s.name not in ("move", "follow", "finish")])
    intent = load_records(config.paths.database)[task.record.id]  # as a kill -9 now leaves it
    assert intent.moving_from == str(photo) and intent.path == "2020/bled.jpg"
    with Store(config.paths.database) as store:
        assert Pipeline(Core.build(config, store)).recover() == 1
        recovered = store.get(intent.id)
    assert recovered.moving_from is None and recovered.status is Status.LOCATED
    assert photo.read_bytes() == made["2020/bled.jpg"]


# -- the service -----------------------------------------------------------------------------------
def settled(svc):
    return [r for r in svc.store.all() if not r.moving_from]


def test_the_service_follows_renames_deletes_and_new_files_in_place_and_a_restart_reads_nothing(service, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    archive = tmp_path / "archive"
    made = make_archive(archive)
    svc = service(settle=0.2, **IN_PLACE)
    wait_until(lambda: len(settled(svc)) == 7 and svc.idle(), 20, "the archive recorded")
    by_path = records_by_path(svc.store)
    eiffel = by_path["2019/paris/eiffel.jpg"]
    # The same bytes as 2021/eiffel-again.jpg: whichever of the two a worker claimed first is the original.
    (original,) = [r for r in (eiffel, by_path["2021/eiffel-again.jpg"]) if r.status is not Status.DUPLICATE]

    os.rename(archive / "2019" / "paris" / "eiffel.jpg", archive / "2019" / "eiffel-1.jpg")
    wait_until(lambda: svc.store.get(eiffel.id).path == "2019/eiffel-1.jpg", 10, "the record following the rename")
    os.rename(archive / "2024", archive / "2024-summer")
    wait_until(lambda: all(r.path.startswith("2024-summer/") for r in svc.store.all() if r.name in ("nogps.jpg", "walk.gpx")), 10, "the records following the folder")
    (archive / "2020" / "bled.jpg").unlink()
    bled = by_path["2020/bled.jpg"]
    wait_until(lambda: svc.store.get(bled.id).missing_since, 10, "the deleted photo marked missing")
    shutil.copyfile(archive / "2019" / "eiffel-1.jpg", archive / "2019" / "eiffel-2.jpg")
    exiftool_photos({tmp_path / "staging" / "new.jpg": (noise_jpeg(11), BLED)})
    os.rename(tmp_path / "staging" / "new.jpg", archive / "2020" / "new.jpg")
    wait_until(lambda: {"2019/eiffel-2.jpg", "2020/new.jpg"} <= set(records_by_path(svc.store)), 10, "the new files recorded")
    wait_until(svc.idle, 10, "the service idle")
    now = records_by_path(svc.store)
    assert now["2019/eiffel-2.jpg"].status is Status.DUPLICATE and now["2019/eiffel-2.jpg"].duplicate_of == original.id
    assert now["2020/new.jpg"].status is Status.LOCATED and len(svc.store) == 9
    wait_until(lambda: "renamed or moved within the archive, their records follow" in caplog.text, 10, "the renames said")  # followed without reading them
    assert svc.status().endswith(", 1 missing")
    assert (archive / "2019" / "eiffel-1.jpg").read_bytes() == made["2019/paris/eiffel.jpg"] and (archive / "2019" / "eiffel-2.jpg").exists()
    svc.stop()

    caplog.clear()
    again = service(settle=0.2, **IN_PLACE)
    wait_until(lambda: again.idle() and again.core.archive.counts["unchanged"] >= 8, 20, "the restart's scan")
    assert again.core.archive.counts["to read"] == 0 and again.core.archive.counts["unchanged"] == 8  # 8 files there, none read
    assert "recorded in place" not in caplog.text and len(again.store) == 9


def test_a_name_that_is_not_utf8_is_recorded_where_it_is_and_found_unchanged_again(tmp_path):
    config = make_config(tmp_path, settle=0.1, **IN_PLACE)
    archive = config.paths.inbox
    name = os.fsdecode(b"\xe9t\xe9 \xe0 Paris.jpg")  # from a FAT card: not UTF-8
    made = exiftool_photos({tmp_path / "made.jpg": (noise_jpeg(1), EIFFEL)})[tmp_path / "made.jpg"]
    (archive / "card").mkdir(parents=True)
    os.rename(tmp_path / "made.jpg", archive / "card" / name)
    with Store(config.paths.database) as store:
        core = Core.build(config, store)
        run_scan(core)
        (record,) = store.all()
        assert record.status is Status.LOCATED and record.name == "été à Paris.jpg" and record.path.startswith("/base64:")
        assert os.fsencode(core.folders.file_of(record)) == os.fsencode(archive / "card" / name) and core.folders.file_of(record).read_bytes() == made
        run_scan(core)
        assert core.archive.counts["unchanged"] == 1 and core.archive.counts["to read"] == 0
    assert load_records(config.paths.database)[record.id].path == record.path  # stored as text, read back the same


def test_check_in_place_looks_at_the_archive_alone(tmp_path):
    config = write_config(tmp_path / "config.toml", **IN_PLACE)
    (tmp_path / "archive").mkdir()
    proc = run_daemon("check", "--config", str(config), cwd=tmp_path)
    checked = [line[5:].split(":")[0] for line in proc.stdout.splitlines()]
    assert "inbox" in checked and not {"library", "failed", "duplicates"} & set(checked)
    assert not any((tmp_path / name).exists() for name in ("library", "failed", "duplicates"))


def test_a_file_renamed_over_another_takes_its_path_and_the_one_replaced_is_missing(tmp_path):
    config = make_config(tmp_path, settle=0.1, **IN_PLACE)
    archive = config.paths.inbox
    exiftool_photos({archive / "a.jpg": (noise_jpeg(1), EIFFEL), archive / "b.jpg": (noise_jpeg(2), BLED)})
    with Store(config.paths.database) as store:
        core = Core.build(config, store)
        run_scan(core)
        a, b = records_by_path(store)["a.jpg"], records_by_path(store)["b.jpg"]
        os.replace(archive / "b.jpg", archive / "a.jpg")  # `mv b.jpg a.jpg`
        run_scan(core)
        assert store.get(b.id).path == "a.jpg" and store.get(b.id).missing_since is None
        assert store.get(a.id).missing_since is not None and core.folders.file_of(store.get(a.id)) is None
        assert core.archive.counts["to read"] == 0 and len(store) == 2


def test_renames_that_cannot_be_recorded_on_a_full_disk_are_said_once_and_recorded_once_there_is_room(service, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    archive = tmp_path / "archive"
    exiftool_photos({archive / "trip" / f"p{n:02}.jpg": (noise_jpeg(n), EIFFEL) for n in range(20)})
    with small_fs(tmp_path / "fs", size="1m", inodes=64) as fs:
        svc = service(settle=0.2, **{**IN_PLACE, "paths": {**IN_PLACE["paths"], "database": str(fs / "geolocator.json")}})
        wait_until(lambda: len(settled(svc)) == 20 and svc.idle(), 20, "the archive recorded")
        filler = fill_space(fs)
        os.rename(archive / "trip", archive / "2019-trip")  # 20 records to follow: more than the journal's last page holds
        wait_until(lambda: "cannot record what changed in the archive now" in caplog.text, 10, "the full disk said")
        assert all(r.path.startswith("trip/") for r in svc.store.all())  # nothing recorded half-way
        assert caplog.text.count("cannot record what changed in the archive now") == 1  # said once, not at every try
        filler.unlink()
        wait_until(lambda: all(r.path.startswith("2019-trip/") for r in svc.store.all()), 10, "the records following once there is room")
        wait_until(lambda: "what changed in the archive is recorded now" in caplog.text, 10, "the recovery said (once the records are written)")
        assert len(svc.store) == 20
        svc.stop()
