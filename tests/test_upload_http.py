"""Uploads and locate-without-keeping over real HTTP: a real service (watcher, workers, store,
cheroot) or a bare viewer over an unwatched inbox, multipart bodies sent by http.client."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from configs import make_config
from expect import wait_until
from photos import CORPUS_JPG, GPS_JPEGS, jpeg_bytes
from processes import run_daemon
from trees import files_under

from geolocator.core import Core
from geolocator.record import Status
from geolocator.record.store import Store
from viewer import ViewerServer, create_app

pytestmark = pytest.mark.timeout(90)


def multipart_body(files: list[tuple[str, bytes]], field: str = "file") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for name, data in files:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{quoted}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


class Page:
    """What the page does: POSTs with its token, from its own origin."""

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.token = parts.hostname, parts.port, token
        self.origin = f"http://{self.host}:{self.port}"

    def post(self, path: str, files: list[tuple[str, bytes]], *, token: str | None = "page", origin: str | None = "page"):
        body, content_type = multipart_body(files)
        headers = {"Content-Type": content_type}
        if token:
            headers["X-Geolocator-Token"] = self.token if token == "page" else token
        if origin:
            headers["Origin"] = self.origin if origin == "page" else origin
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def upload(self, files, **kw):
        status, data = self.post("/api/upload", files, **kw)
        assert status == 200, data
        return json.loads(data)["files"]


MAP = {"enabled": True, "port": 0, "tile_url": ""}  # the map on a free port, no tiles


@pytest.fixture
def served(service):
    """The real service (conftest's) with its map, and the page that uploads to it."""
    svc = service(settle=0.3, viewer=MAP)
    return svc, Page(svc.map_url, svc.viewer.app.config["geolocator.token"])


@pytest.fixture
def bare(tmp_path):
    """The viewer alone: the inbox is not watched, so whatever an upload leaves there stays to be looked at."""
    config = make_config(tmp_path, settle=0.3, viewer=MAP | {"max_upload_mb": 1})
    config.paths.inbox.mkdir()
    store = Store(config.paths.database)
    app = create_app(Core.build(config, store))
    server = ViewerServer(app, "127.0.0.1", 0).start()
    yield config, Page(server.url, app.config["geolocator.token"])
    server.stop()
    store.close()


def gps_photo(n: int) -> bytes:
    return (CORPUS_JPG / GPS_JPEGS[n]).read_bytes()


def test_without_the_token_nothing_is_written(bare):
    config, page = bare
    for kw in ({"token": None}, {"token": "wrong"}, {"origin": "http://evil.example"}):
        status, data = page.post("/api/upload", [("a.jpg", jpeg_bytes(1))], **kw)
        assert status == 403, (kw, data)
    assert files_under(config.paths.inbox) == []


def test_an_upload_is_filed_like_an_inbox_drop(served, tmp_path):
    svc, page = served
    photo = gps_photo(0)
    [sent] = page.upload([("DSCN0010.jpg", photo)])
    assert sent["saved_as"] == "DSCN0010.jpg" and sent["error"] is None and sent["known"] is False
    assert sent["id"] == hashlib.sha256(photo).hexdigest()[:16] and sent["size"] == len(photo)
    record = wait_until(lambda: (r := svc.store.get(sent["id"])) and not r.moving_from and r, 15, "the upload filed")
    assert record.status is Status.LOCATED and record.name == "DSCN0010.jpg"
    assert (tmp_path / "library" / record.path).read_bytes() == photo
    wait_until(svc.idle, 5)
    assert files_under(tmp_path / "inbox") == []  # no temporary file left behind
    # The same photo again is known (the page flies to the recorded one) and filed as a duplicate.
    [again] = page.upload([("again.jpg", photo)])
    assert again["id"] == sent["id"] and again["known"] is True
    wait_until(lambda: any(r.name == "again.jpg" and r.status is Status.DUPLICATE for r in svc.store.all()), 15)


def test_hostile_names_stay_inside_the_inbox(bare, tmp_path):
    config, page = bare
    names = ["../../x.jpg", "..\\..\\win.jpg", "/etc/abs.jpg", ".hidden.jpg", "a\x07b\x1b[31m\tc\u202e.jpg", "..", "", "x" * 400 + ".jpg"]
    files = page.upload([(name, jpeg_bytes(i)) for i, name in enumerate(names)])
    saved = [f["saved_as"] for f in files]
    assert saved[:5] == ["x.jpg", "win.jpg", "abs.jpg", "hidden.jpg", "ab[31mc.jpg"]
    assert saved[5] == "upload" and saved[6] == "upload-2"
    assert saved[7].endswith(".jpg") and len(saved[7].encode()) <= 255
    assert sorted(p.name for p in files_under(config.paths.inbox)) == sorted(saved)
    assert all(p.parent == config.paths.inbox for p in files_under(config.paths.inbox))
    assert not (tmp_path.parent / "x.jpg").exists() and not Path("/etc/abs.jpg").exists()
    # A name the watcher would ignore forever is refused, not left in the inbox.
    [part] = page.upload([("photo.jpg.part", jpeg_bytes(99))])
    assert part["saved_as"] is None and "ignored" in part["error"]
    assert len(files_under(config.paths.inbox)) == len(names)


def raw_post(url: str, head: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_over_the_limit_is_refused_from_the_headers(bare):
    config, page = bare
    url = f"http://127.0.0.1:{page.port}/"
    head = ("POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            "Content-Length: {length}\r\n{token}\r\n")
    # 900 MB announced and never sent: answered at once from the headers.
    status, data = raw_post(url, head.format(port=page.port, length=900 << 20, token=f"X-Geolocator-Token: {page.token}\r\n"))
    assert status == 413 and b"larger than" in data
    status, _ = raw_post(url, head.format(port=page.port, length=900 << 20, token=""))
    assert status == 403
    # A real body just over the 1 MB limit: the server answers and closes without reading it.
    body, content_type = multipart_body([("big.jpg", b"\xff" * (1 << 20))])
    with socket.create_connection(("127.0.0.1", page.port), timeout=10) as sock:
        sock.sendall((f"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1:{page.port}\r\nContent-Type: {content_type}\r\n"
                      f"Content-Length: {len(body)}\r\nX-Geolocator-Token: {page.token}\r\n\r\n").encode())
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(body)
        assert sock.recv(65536).split(b" ", 2)[1] == b"413"
    assert files_under(config.paths.inbox) == []


def test_a_body_cut_short_leaves_nothing(bare):
    config, page = bare
    body, content_type = multipart_body([("cut.jpg", jpeg_bytes(3) * 50)])
    parts = urlsplit(f"http://127.0.0.1:{page.port}/")
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall((f"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1:{page.port}\r\nContent-Type: {content_type}\r\n"
                      f"Content-Length: {len(body)}\r\nX-Geolocator-Token: {page.token}\r\n\r\n").encode() + body[: len(body) // 2])
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.split(b" ", 2)[1] in (b"400", b"500") or data == b""
    wait_until(lambda: files_under(config.paths.inbox) == [], 5, "the partial temporary file removed")


def test_concurrent_uploads_with_clashing_names_never_overwrite(bare):
    config, page = bare
    photos = [jpeg_bytes(100 + i) for i in range(12)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda p: page.upload([("same.jpg", p)])[0], photos))
    saved = [a["saved_as"] for a in answers]
    assert len(set(saved)) == len(photos) and "same.jpg" in saved
    on_disk = {p.name: p.read_bytes() for p in files_under(config.paths.inbox)}
    assert sorted(on_disk) == sorted(saved)
    for answer, photo in zip(answers, photos, strict=True):
        assert on_disk[answer["saved_as"]] == photo


def test_concurrent_uploads_are_all_filed(served, tmp_path):
    svc, page = served
    photos = [jpeg_bytes(200 + i) for i in range(8)] + [gps_photo(i) for i in range(1, 4)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda p: page.upload([("same.jpg", p)])[0], photos))
    ids = {a["id"] for a in answers}
    assert len(ids) == len(photos)
    wait_until(lambda: all((r := svc.store.get(i)) and not r.moving_from for i in ids), 30, "every upload filed")
    filed = {svc.store.get(i).path for i in ids}
    assert len(filed) == len(photos)
    wait_until(svc.idle, 5)
    assert files_under(tmp_path / "inbox") == []


def test_locate_answers_what_the_command_prints_and_keeps_nothing(bare, tmp_path, tmp_path_factory, monkeypatch):
    _, page = bare
    import tempfile

    # A temporary folder of this test's own, for the server here and the command: what another
    # test running beside this one leaves for a moment in /tmp is not counted.
    temp = tmp_path_factory.mktemp("temp")
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("TMPDIR", str(temp))

    def leftovers():
        return sorted(temp.glob("geolocator-locate-*"))

    before, temps = files_under(tmp_path), leftovers()
    names = ("DSCN0010.jpg", "Canon_40D.jpg")
    photos = [(names[0], gps_photo(0)), (names[1], (CORPUS_JPG / "Canon_40D.jpg").read_bytes()), ("broken.jpg", b"not a photo")]
    status, data = page.post("/api/locate", photos)
    assert status == 200
    answered = [json.loads(line) for line in data.decode().splitlines()]
    assert answered[0]["source"] == "exif" and answered[1]["lat"] is None and answered[2]["error"]
    # The command on the same files, under the same names.
    folder = tmp_path / "cli"
    folder.mkdir()
    for name, content in photos:
        (folder / name).write_bytes(content)
    cli = run_daemon("locate", "--no-ai", *[n for n, _ in photos], cwd=folder, timeout=60)
    assert data.decode() == cli.stdout
    for name, _ in photos:
        (folder / name).unlink()
    folder.rmdir()
    assert files_under(tmp_path) == before
    assert leftovers() == temps


# -- refusals reach ordinary clients (issue 16 item 13) -------------------------------------------

def urllib_post(page: Page, body: bytes, content_type: str, *, token: bool) -> tuple[int, bytes]:
    """POST the way most scripts do (urllib, like requests): the whole body is sent before the answer is read."""
    import urllib.error
    import urllib.request

    headers = {"Content-Type": content_type} | ({"X-Geolocator-Token": page.token} if token else {})
    req = urllib.request.Request(f"http://127.0.0.1:{page.port}/api/upload", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def test_a_refusal_from_the_headers_reaches_urllib_as_its_status(tmp_path):
    """Before: the server closed with the body unread, the kernel reset the connection, and urllib
    saw `[Errno 32] Broken pipe` instead of 403 or 413. Here every refusal may linger, and far
    longer than sending its body takes on a loaded machine (a refusal's linger can outlast the
    answer: the body is still in the sockets' buffers): shown is the answer, not the lingering's
    bounds (tested below)."""
    config = make_config(tmp_path, settle=0.3, viewer=MAP | {"max_upload_mb": 1})
    with page_server(config, linger_seconds=60.0, lingering=6) as page:
        for _ in range(3):  # again and again: each time the answer, never a broken pipe
            body, content_type = multipart_body([("photo.jpg", jpeg_bytes(7) + b"\0" * (2 << 20))])
            status, data = urllib_post(page, body, content_type, token=False)
            assert status == 403 and b"token" in data
            body, content_type = multipart_body([("big.jpg", b"\xff" * (3 << 20))])  # over the 1 MB limit
            status, data = urllib_post(page, body, content_type, token=True)
            assert status == 413 and b"larger than" in data
    assert files_under(config.paths.inbox) == []


def send_until_refused(port: int, head: bytes, total: int) -> int:
    """Send `head` and then up to `total` zero bytes, until the server stops taking them; how many it took."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        chunk = b"\0" * 65536
        try:
            while sent < total:
                sent += sock.send(chunk)
        except OSError:  # reset, broken pipe, or the server's buffers full and nobody reading (timeout)
            pass
    return sent


def test_a_huge_unauthenticated_body_is_not_read(bare):
    from viewer.server import LINGER_BYTES

    config, page = bare
    head = (f"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1:{page.port}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {900 << 20}\r\n\r\n").encode()
    sent = send_until_refused(page.port, head, 900 << 20)
    # What the kernels' socket buffers hold, at most: the server closed at once, reading none of it.
    assert sent < LINGER_BYTES + (16 << 20), sent
    assert files_under(config.paths.inbox) == []
    assert page.post("/api/upload", [("a.jpg", jpeg_bytes(1))])[0] == 200  # the server still answers


def stalled_refusal(port: int) -> socket.socket:
    """A write without the token that announces 1 MB, sends 1 byte of it and stalls."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall((f"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                  f"Content-Length: {1 << 20}\r\n\r\n-").encode())
    return sock


@contextlib.contextmanager
def page_server(config, **server: float | int):
    """A server as `bare`'s, with its own timeouts."""
    config.paths.inbox.mkdir()
    with Store(config.paths.database) as store:
        app = create_app(Core.build(config, store))
        viewer = ViewerServer(app, "127.0.0.1", 0, **server).start()
        try:
            yield Page(viewer.url, app.config["geolocator.token"])
        finally:
            viewer.stop()


def test_a_stalled_refused_body_holds_a_thread_a_few_seconds_at_most(tmp_path):
    """A linger of 1 s against a read timeout of 60 s: the refused body is dropped after its own bound."""
    import time

    config = make_config(tmp_path, settle=0.3, viewer=MAP | {"max_upload_mb": 1})
    with page_server(config, linger_seconds=1.0, timeout=60.0) as page, stalled_refusal(page.port) as sock:
        started = time.monotonic()
        answer = sock.recv(65536)
        assert answer.split(b" ", 2)[1] == b"403"

        def closed() -> bool:
            try:
                sock.sendall(b"-")  # the server drops what it reads while it lingers; once closed: reset
            except OSError:
                return True
            return False

        wait_until(closed, 60, "the server to stop reading the refused body")
        assert time.monotonic() - started < 30  # its own bound, not the read timeout


def test_stalled_refusals_do_not_lock_the_page(tmp_path):
    """Refused bodies linger 120 s here: were more than LINGERING threads held, the page would wait that long."""
    import time

    config = make_config(tmp_path, settle=0.3, viewer=MAP | {"max_upload_mb": 1})
    with page_server(config, linger_seconds=120.0, timeout=120.0) as page, contextlib.ExitStack() as stack:
        for _ in range(12):  # more than the server's 8 threads
            stack.enter_context(stalled_refusal(page.port))
        started = time.monotonic()
        status, _ = page.post("/api/upload", [("a.jpg", jpeg_bytes(2))])
        assert status == 200 and time.monotonic() - started < 60  # at most 2 threads linger (LINGERING)


# -- a full disk (issue 16 item 5) -----------------------------------------------------------------

@pytest.fixture
def small_inbox(tmp_path):
    """The viewer alone, its inbox a real 8 MB tmpfs with few inodes (tests/smallfs.py)."""
    from smallfs import small_fs

    config = make_config(tmp_path, settle=0.3, viewer=MAP | {"max_upload_mb": 100})
    with small_fs(config.paths.inbox, size="8m", inodes=32) as inbox:
        store = Store(config.paths.database)
        app = create_app(Core.build(config, store))
        server = ViewerServer(app, "127.0.0.1", 0).start()
        yield inbox, Page(server.url, app.config["geolocator.token"])
        server.stop()
        store.close()


def test_an_upload_larger_than_the_free_space_gets_507_and_leaves_nothing(small_inbox):
    """Before: the write failed with ENOSPC, the clean-up's close flushed and failed again before
    it removed the temporary file: a `.upload-*.part` as big as the disk stayed, the client got a
    broken pipe."""
    inbox, page = small_inbox
    photo = jpeg_bytes(5) + b"\0" * (9 << 20)  # 9 MB on an 8 MB disk
    body, content_type = multipart_body([("too big.jpg", photo)])
    status, data = urllib_post(page, body, content_type, token=True)
    assert status == 507, data
    message = json.loads(data)["error"]
    assert "no space left" in message and "too big.jpg was not saved" in message and str(inbox) not in message
    assert files_under(inbox) == []  # no .upload-*.part: the disk is free again
    assert os.statvfs(inbox).f_bfree * os.statvfs(inbox).f_frsize > 7 << 20
    [sent] = page.upload([("small.jpg", jpeg_bytes(6))])  # and the next upload is filed
    assert sent["saved_as"] == "small.jpg" and (inbox / "small.jpg").read_bytes() == jpeg_bytes(6)


def test_an_upload_to_a_disk_out_of_space_or_inodes_gets_507(small_inbox):
    from smallfs import fill_inodes, fill_space

    inbox, page = small_inbox
    filler = fill_space(inbox)
    for _ in range(2):
        status, data = page.post("/api/upload", [("a.jpg", jpeg_bytes(8))])
        assert status == 507 and b"no space left" in data
        assert [p.name for p in files_under(inbox)] == ["filler"]
    filler.unlink()
    made = fill_inodes(inbox)
    status, data = page.post("/api/upload", [("b.jpg", jpeg_bytes(9))])
    assert status == 507 and b"no space left" in data
    assert len(files_under(inbox)) == len(made)
