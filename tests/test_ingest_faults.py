"""Faults found by attacking the ingest (issue 8), each injected for real into a running service:
real watchdog observers, a real store, real files, real FIFOs, the daemon as a subprocess."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import signal
import threading
from pathlib import Path

import pytest
from configs import make_config, write_config
from expect import expect, never, wait_until
from photos import GPS_JPEGS, NO_GPS_JPEG, copy_corpus
from PIL import Image
from processes import stop
from trees import files_under, tree

from geolocator.core import Core
from geolocator.folders import Folders
from geolocator.pipeline import Pipeline
from geolocator.record import Status
from geolocator.record.store import Store, load_records
from geolocator.service import Service


def settled(svc: Service) -> dict:
    """The records once the inbox is empty and every intent is cleared."""
    records = {r.id: r for r in svc.store.all()}
    if files_under(svc.config.paths.inbox) or any(r.moving_from or r.sidecar_moves for r in records.values()):
        return {}
    return records


def test_a_name_that_is_not_utf8_is_filed_by_the_service(service, corpus):
    svc = service(settle=0.3, watch={"incomplete_seconds": 5.0})
    content = (corpus / "exif-samples/jpg" / GPS_JPEGS[0]).read_bytes()
    inbox = os.fsencode(svc.config.paths.inbox)
    for raw in (b"A\xe9t\xe9.jpg", b"\xff\xfe.jpg"):
        with open(os.path.join(inbox, raw), "xb") as fh:
            fh.write(content + raw)  # distinct content: no duplicates
    records = expect(lambda: len(settled(svc)) == 2 and settled(svc), timeout=15, what="both files filed")
    assert sorted(r.name for r in records.values()) == ["Aété.jpg", "ÿþ.jpg"]
    assert all(r.status is Status.LOCATED for r in records.values())
    assert sorted(p.name for p in files_under(svc.config.paths.library)) == ["Aété.jpg", "ÿþ.jpg"]
    assert load_records(svc.config.paths.database).keys() == records.keys()


def big_gps_jpeg(corpus: Path, size: tuple[int, int] = (1400, 1000)) -> bytes:
    """A real JPEG of about 1.5 MB (noise compresses badly) carrying a corpus photo's EXIF GPS."""
    with Image.open(corpus / "exif-samples/jpg" / GPS_JPEGS[0]) as image:
        exif = image.getexif()
    out = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()


def test_a_writer_that_closes_and_pauses_longer_than_settle_ends_as_one_located_photo(service, corpus):
    # The reported fault: open, append 256 KB, close, wait longer than settle_seconds, again.
    # Its first part reads as a photo with GPS; it must wait, and end as ONE complete photo.
    svc = service(settle=0.3, watch={"incomplete_seconds": 5.0})
    content = big_gps_jpeg(corpus)
    chunk = 256 << 10
    assert len(content) > 4 * chunk
    target = svc.config.paths.inbox / "resumed.jpg"
    for start in range(0, len(content) - chunk, chunk):
        with target.open("ab") as fh:
            fh.write(content[start : start + chunk])
        never(lambda: len(svc.store) or not target.exists(), 0.6, what="part of a photo filed")  # 2 x settle_seconds
    with target.open("ab") as fh:
        fh.write(content[start + chunk :])  # the last part
    records = expect(lambda: len(settled(svc)) == 1 and settled(svc), timeout=15, what="the photo filed")
    (record,) = records.values()
    assert record.status is Status.LOCATED and record.sha256 == hashlib.sha256(content).hexdigest()
    assert (svc.config.paths.library / record.path).read_bytes() == content
    assert files_under(svc.config.paths.failed) == [] and files_under(svc.config.paths.duplicates) == []


def test_a_writer_that_never_finishes_ends_as_a_photo_located_from_its_header_with_a_warning(service, corpus):
    svc = service(settle=0.2, watch={"incomplete_seconds": 1.5})
    content = big_gps_jpeg(corpus, (600, 400))
    target = svc.config.paths.inbox / "abandoned.jpg"
    target.write_bytes(content[: len(content) // 2])
    never(lambda: len(svc.store), 1.0, what="a cut file filed before incomplete_seconds")
    records = expect(lambda: len(settled(svc)) == 1 and settled(svc), timeout=10, what="the cut file filed")
    (record,) = records.values()
    assert record.status is Status.LOCATED and record.warning.startswith("truncated: JPEG without its end marker")
    assert (svc.config.paths.library / record.path).read_bytes() == content[: len(content) // 2]


# -- FIFOs where a photo or a sidecar is expected ----------------------------------------------------
def test_a_fifo_named_like_a_sidecar_never_blocks_the_pipeline(tmp_path, corpus):
    config = make_config(tmp_path)
    Folders.from_config(config).create()
    inbox = config.paths.inbox
    photo = copy_corpus(NO_GPS_JPEG, inbox / "a.jpg")  # no GPS in the file: the sidecar is looked at
    os.mkfifo(inbox / "a.xmp")
    os.mkfifo(inbox / "a.jpg.xmp")
    outcome: list[object] = []
    with Store(config.paths.database) as store:
        worker = threading.Thread(target=lambda: outcome.append(Pipeline(Core.build(config, store)).process(photo)), daemon=True)
        worker.start()
        worker.join(timeout=10)
        if worker.is_alive():  # blocked in open(): free it by opening the other end, then fail
            for fifo in ("a.xmp", "a.jpg.xmp"):
                os.close(os.open(inbox / fifo, os.O_WRONLY | os.O_NONBLOCK))
            pytest.fail("the pipeline blocked on a FIFO named like a sidecar")
    (record,) = outcome
    assert record.status is Status.UNLOCATED and (config.paths.library / record.path).is_file()
    assert record.sidecars == ()  # a FIFO never travels as a sidecar
    assert sorted(os.listdir(inbox)) == ["a.jpg.xmp", "a.xmp"]  # left alone, not ours to move


def test_fifos_beside_photos_stop_neither_ingest_nor_sigterm(daemon, tmp_path, corpus):
    config = write_config(tmp_path / "config.toml", settle=0.2)
    inbox = tmp_path / "inbox"
    for n, name in enumerate(("a", "b", "c")):  # more pairs than ingest workers
        copy_corpus(NO_GPS_JPEG, inbox / f"{name}.jpg", extra=bytes([n]))
        os.mkfifo(inbox / f"{name}.xmp")
    os.mkfifo(inbox / "fifo.jpg")  # and one named like a photo
    proc = daemon("--config", str(config))
    wait_until(lambda: sorted(os.listdir(inbox)) == ["a.xmp", "b.xmp", "c.xmp", "fifo.jpg"], 20, "the three photos filed")
    wait_until(lambda: len(files_under(tmp_path / "library")) == 3, 5, "the photos in the library")
    _, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    assert tree(inbox) == {"a.xmp": "fifo", "b.xmp": "fifo", "c.xmp": "fifo", "fifo.jpg": "fifo"}  # left alone, still FIFOs
    assert "Traceback" not in err


# -- sidecars -----------------------------------------------------------------------------------------
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'


def test_sidecars_reach_the_library_with_their_photo_in_any_order_of_arrival(service, corpus):
    svc = service(settle=0.2, watch={"incomplete_seconds": 5.0})
    inbox, library = svc.config.paths.inbox, svc.config.paths.library
    # the photo first; its sidecar once the photo has been filed
    copy_corpus(GPS_JPEGS[0], inbox / "first.jpg")
    expect(lambda: not (inbox / "first.jpg").exists(), timeout=10, what="first.jpg filed")
    (inbox / "first.jpg.xmp").write_bytes(XMP + b"1")
    # the sidecar first; its photo after more than settle_seconds
    (inbox / "later.xmp").write_bytes(XMP + b"2")
    never(lambda: not (inbox / "later.xmp").exists(), 0.6, what="a sidecar filed without its photo")
    copy_corpus(GPS_JPEGS[1], inbox / "later.jpg")
    # both at once
    copy_corpus(GPS_JPEGS[2], inbox / "both.jpg")
    (inbox / "both.jpg.xmp").write_bytes(XMP + b"3")
    records = expect(lambda: len(settled(svc)) == 3 and settled(svc), timeout=15, what="three photos filed")
    by_name = {r.name: r for r in records.values()}
    assert sorted(by_name) == ["both.jpg", "first.jpg", "later.jpg"]
    for name, sidecar, note in (("first.jpg", "first.jpg.xmp", b"1"), ("later.jpg", "later.xmp", b"2"), ("both.jpg", "both.jpg.xmp", b"3")):
        record = by_name[name]
        assert record.status is Status.LOCATED and record.sidecars == (f"{Path(record.path).parent}/{sidecar}",)
        assert (library / record.sidecars[0]).read_bytes() == XMP + note
    assert files_under(svc.config.paths.failed) == [] and files_under(svc.config.paths.duplicates) == []


def test_a_sidecar_whose_photo_never_comes_ends_in_failed(service):
    svc = service(settle=0.2, watch={"incomplete_seconds": 1.0})
    (svc.config.paths.inbox / "orphan.xmp").write_bytes(XMP)
    never(lambda: len(svc.store), 0.6, what="the sidecar filed before incomplete_seconds")
    records = expect(lambda: len(settled(svc)) == 1 and settled(svc), timeout=10, what="the sidecar filed")
    (record,) = records.values()
    assert (record.status, record.error) == (Status.FAILED, "sidecar without photo")
    assert (svc.config.paths.failed / "orphan.xmp").read_bytes() == XMP


def test_files_that_wait_say_so_once_when_they_start_and_once_when_they_end(service, corpus, caplog):
    """A cut-short photo and a lonely sidecar are looked at again and again while they wait
    (every settle time, for incomplete_seconds): the log says when each starts waiting and why,
    and when it ends, not once per look."""
    caplog.set_level(logging.INFO, logger="geolocator")
    svc = service(settle=0.2, watch={"incomplete_seconds": 2.0})
    content = big_gps_jpeg(corpus, (600, 400))
    (svc.config.paths.inbox / "cut.jpg").write_bytes(content[: len(content) // 2])
    (svc.config.paths.inbox / "lonely.xmp").write_bytes(XMP)
    expect(lambda: len(settled(svc)) == 2, timeout=15, what="both filed to failed/")
    for name, why in (("cut.jpg", "JPEG without its end marker"), ("lonely.xmp", "photo")):
        lines = [r.getMessage() for r in caplog.records if name in r.getMessage() and "wait" in r.getMessage()]
        assert len(lines) == 2, lines
        assert "waiting: " in lines[0] and why in lines[0] and "waited" in lines[1], lines


def test_symbolic_links_are_filed_as_links_to_failed_and_their_targets_left_alone(service, tmp_path):
    """A link named like a sidecar, a dangling one and one to a folder never stay in the inbox:
    each is moved, as itself, to failed/ with one record saying what it is; nothing it points to
    is read, moved or changed."""
    svc = service(settle=0.2)
    outside = tmp_path / "elsewhere"
    (outside / "folder").mkdir(parents=True)
    (outside / "photo.jpg.xmp").write_bytes(XMP)
    inbox = svc.config.paths.inbox
    links = {"photo.jpg.xmp": outside / "photo.jpg.xmp", "dangling.jpg": outside / "gone.jpg", "folder-link": outside / "folder"}
    for name, target in links.items():
        (inbox / name).symlink_to(target)
    records = expect(lambda: len(settled(svc)) == 3 and settled(svc), timeout=15, what="the three links filed")
    for record in records.values():
        assert record.status is Status.FAILED and "symbolic link" in record.error, record
        filed = svc.config.paths.failed / record.path
        assert filed.is_symlink() and os.readlink(filed) == str(links[record.name])
    assert not any(os.path.lexists(inbox / name) for name in links)
    assert (outside / "photo.jpg.xmp").read_bytes() == XMP and (outside / "folder").is_dir() and not (outside / "gone.jpg").exists()
