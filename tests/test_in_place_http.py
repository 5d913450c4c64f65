"""The map page over real HTTP on an archive indexed in place (`[library] move = false`): the API
names each photo by its path in the archive (never the machine's folders), thumbnails, previews
and /image serve the files where they are, and a photo whose file went missing keeps its record
(has_file false, its file no longer served, counted as missing)."""

from __future__ import annotations

import gzip
import http.client
import io
import json
import shutil
from urllib.parse import urlsplit

import pytest
from corpus import CORPUS
from expect import wait_until
from photos import Exif, exiftool_photos, noise_jpeg, raw_tiff
from PIL import Image

from geolocator.record import Status

pytestmark = [pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool"), pytest.mark.timeout(120)]

HEIC = CORPUS / "exif-samples" / "heic" / "IMG_5195.HEIC"
IN_PLACE = {"library": {"move": False}, "paths": {"inbox": "archive"}, "viewer": {"enabled": True, "port": 0}}


def get(url: str, path: str) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        if response.getheader("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return response.status, dict(response.getheaders()), body
    finally:
        conn.close()


def test_the_page_the_api_thumbnails_and_the_viewer_serve_an_archive_in_place(service, tmp_path):
    archive = tmp_path / "archive"
    made = exiftool_photos({
        archive / "2019" / "paris" / "eiffel.jpg": (noise_jpeg(1), Exif(48.8584, 2.2945, "2019:05:01 10:00:00")),
        archive / "2020" / "raw" / "bled.rw2": (raw_tiff(2), Exif(46.3683, 14.1146, "2020:06:02 11:30:00")),
    })
    (archive / "2021").mkdir()
    shutil.copyfile(HEIC, archive / "2021" / "phone.heic")  # a phone's photo: previewed as a JPEG
    svc = service(settle=0.2, **IN_PLACE)
    wait_until(lambda: len([r for r in svc.store.all() if not r.moving_from]) == 3 and svc.idle(), 20, "the archive recorded")
    url = svc.map_url
    ids = {r.path: r.id for r in svc.store.all()}
    eiffel, raw, heic = ids["2019/paris/eiffel.jpg"], ids["2020/raw/bled.rw2"], ids["2021/phone.heic"]

    status, _, page = get(url, "/")
    assert status == 200 and b'data-count="missing"' in page  # the count of files gone, shown in this mode
    status, _, body = get(url, f"/api/images/{eiffel}")
    shown = json.loads(body)
    assert status == 200 and shown["path"] == "2019/paris/eiffel.jpg" and shown["has_file"] is True and shown["status"] == "located"
    assert str(tmp_path).encode() not in body and "file_stat" not in shown  # no folder of this machine, no inode

    status, headers, thumb = get(url, f"/thumb/{eiffel}")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and Image.open(io.BytesIO(thumb)).size[0] <= 400
    status, _, image = get(url, f"/image/{eiffel}")
    assert status == 200 and image == made[archive / "2019" / "paris" / "eiffel.jpg"]
    status, headers, preview = get(url, f"/preview/{heic}")  # a JPEG made on the server from the file where it is
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and Image.open(io.BytesIO(preview)).format == "JPEG"
    assert not (tmp_path / "library").exists()

    (archive / "2019" / "paris" / "eiffel.jpg").unlink()
    wait_until(lambda: svc.store.get(eiffel).missing_since, 10, "the deleted photo marked missing")
    status, _, body = get(url, f"/api/images/{eiffel}")
    gone = json.loads(body)
    assert gone["has_file"] is False and gone["missing_since"] and gone["status"] == "located" and gone["lat"] == pytest.approx(48.8584)
    assert get(url, f"/image/{eiffel}")[0] == 404 and get(url, f"/thumb/{heic}")[0] == 200
    counts = json.loads(get(url, "/api/map")[2])["counts"]
    assert counts["missing"] == 1 and counts["located"] == 3
    assert svc.store.get(raw).status is Status.LOCATED
