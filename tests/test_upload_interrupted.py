"""Uploads cut off half-way never leave a hidden `.upload-*.part` in the inbox for ever.

- A client that disconnects mid-body (a plain close, or a reset) or stops sending (the server's
  read timeout): the temporary file, which existed while the body came in, is removed (it never
  became an inbox file; the photo is still on the client's side), nothing is recorded, and the
  service takes the next upload.
- A crash mid-upload (simulated by the files it leaves: a temporary file cut short, one whole, one
  that already got its name): when the service starts, each is filed with one record, nothing of a
  photo is deleted, and a hidden file that only looks similar is left alone.

Real service (watcher, workers, store, cheroot) and raw sockets.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from configs import make_config
from expect import wait_until
from photos import CORPUS_JPG, GPS_JPEGS
from records import record_of
from trees import files_under

from geolocator.core import Core
from geolocator.locate.metadata.formats import Kind
from geolocator.record import Status
from geolocator.record.store import Store
from viewer import ViewerServer, create_app
from viewer.incoming import INTERRUPTED, SUFFIXES, TEMP_PREFIX, TEMP_SUFFIX

pytestmark = pytest.mark.timeout(90)

MAP = {"enabled": True, "port": 0, "tile_url": ""}


def temps(inbox: Path) -> list[Path]:
    return [p for p in files_under(inbox) if p.name.startswith(TEMP_PREFIX) and p.name.endswith(TEMP_SUFFIX)]


def upload_head(port: int, token: str, length: int, boundary: str) -> bytes:
    return (
        f"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\nX-Geolocator-Token: {token}\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("close", ["close", "reset"])
def test_a_client_gone_mid_upload_leaves_no_temporary_file(service, tmp_path, close, caplog):
    caplog.set_level(logging.INFO)
    svc = service(settle=0.3, viewer=MAP)
    port, token = urlsplit(svc.map_url).port, svc.viewer.app.config["geolocator.token"]
    inbox = tmp_path / "inbox"
    boundary = uuid.uuid4().hex
    photo = (CORPUS_JPG / GPS_JPEGS[0]).read_bytes()
    part = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n').encode() + photo * 40
    body = part + f"\r\n--{boundary}--\r\n".encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(upload_head(port, token, len(body), boundary) + body[: len(part) // 2])
        temp = wait_until(lambda: next((p for p in temps(inbox) if p.stat().st_size > 0), None), 10, "the upload's temporary file written")
        if close == "reset":  # an RST instead of a FIN: the server's read fails instead of ending
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()
    wait_until(lambda: not temp.exists() and temps(inbox) == [], 10, "the temporary file of the cut-off upload removed")
    assert files_under(inbox) == [] and len(svc.store) == 0
    said = wait_until(lambda: [r for r in caplog.records if "upload not taken" in r.getMessage()], 10, "the cut-off upload said in the log")
    assert len(said) == 1 and "short of its Content-Length" in said[0].getMessage() and not any(r.exc_info for r in caplog.records)  # one line, no traceback

    # the page still uploads: the next photo is filed
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    with sock:
        whole = part.replace(photo * 40, photo) + f"\r\n--{boundary}--\r\n".encode()
        sock.sendall(upload_head(port, token, len(whole), boundary) + whole)
        assert sock.recv(65536).split(b" ", 2)[1] == b"200"
    wait_until(lambda: any(r.name == "big.jpg" and r.status is Status.LOCATED and not r.moving_from for r in svc.store.all()), 15, "the next upload filed")


def test_a_client_that_stops_sending_mid_upload_is_cut_off_and_leaves_no_temporary_file(tmp_path):
    config = make_config(tmp_path, viewer=MAP)
    config.paths.inbox.mkdir()
    with Store(config.paths.database) as store:
        app = create_app(Core.build(config, store))
        server = ViewerServer(app, "127.0.0.1", 0, timeout=1.0).start()  # the server's read timeout, shortened
        try:
            port = urlsplit(server.url).port
            boundary = uuid.uuid4().hex
            part = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.jpg"\r\n\r\n').encode() + b"\xff" * 500_000
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(upload_head(port, app.config["geolocator.token"], len(part) * 2, boundary) + part)
                wait_until(lambda: temps(config.paths.inbox), 10, "the upload's temporary file written")
                # nothing more is sent, the socket stays open: the server gives up on its own
                wait_until(lambda: files_under(config.paths.inbox) == [], 10, "the stalled upload's temporary file removed")
        finally:
            server.stop()


def test_uploads_a_crash_cut_off_are_filed_when_the_service_starts(service, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    whole, cut = (CORPUS_JPG / GPS_JPEGS[0]).read_bytes(), (CORPUS_JPG / GPS_JPEGS[1]).read_bytes()
    placed = (CORPUS_JPG / GPS_JPEGS[2]).read_bytes()
    ids = [uuid.uuid4().hex for _ in range(3)]
    (inbox / f"{TEMP_PREFIX}{ids[0]}{TEMP_SUFFIX}").write_bytes(whole)  # fsynced, not yet named
    (inbox / f"{TEMP_PREFIX}{ids[1]}{TEMP_SUFFIX}").write_bytes(cut[: len(cut) // 2])  # mid-body
    (inbox / "placed.jpg").write_bytes(placed)  # named, the temporary name not yet unlinked
    os.link(inbox / "placed.jpg", inbox / f"{TEMP_PREFIX}{ids[2]}{TEMP_SUFFIX}")
    (inbox / ".upload-notours.part").write_bytes(b"someone else's")  # not a name we make
    old = time.time() - 3600  # the crash was an hour ago
    for path in files_under(inbox):
        os.utime(path, (old, old))

    svc = service(settle=0.3, viewer=MAP)

    whole_record = wait_until(lambda: record_of(svc.store, f"{INTERRUPTED}-{ids[0][:8]}.jpg"), 15, "the whole leftover filed")
    cut_record = wait_until(lambda: record_of(svc.store, f"{INTERRUPTED}-{ids[1][:8]}.jpg"), 15, "the cut-short leftover filed")
    placed_record = wait_until(lambda: record_of(svc.store, "placed.jpg"), 15, "the placed upload filed")
    wait_until(svc.idle, 10, "the service idle")
    assert whole_record.status is Status.LOCATED and (tmp_path / "library" / whole_record.path).read_bytes() == whole
    assert cut_record.status is Status.LOCATED and cut_record.warning.startswith("truncated: JPEG without its end marker")  # its EXIF is whole
    assert (tmp_path / "library" / cut_record.path).read_bytes() == cut[: len(cut) // 2]
    assert placed_record.status is Status.LOCATED and (tmp_path / "library" / placed_record.path).read_bytes() == placed
    assert len(svc.store) == 3  # one record each
    assert [p.name for p in files_under(inbox)] == [".upload-notours.part"]
    assert f"handed to the inbox as {INTERRUPTED}-{ids[0][:8]}.jpg" in caplog.text
    assert f"removed {TEMP_PREFIX}{ids[2]}{TEMP_SUFFIX}, a second name of an upload placed before a crash" in caplog.text


def test_every_format_we_read_has_a_suffix_for_a_leftover():
    assert set(SUFFIXES) == set(Kind)
