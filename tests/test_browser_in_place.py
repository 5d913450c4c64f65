"""The map page in a real browser on an archive indexed in place: a photo recorded from a file cut
short shows its "truncated" warning in its popup, a photo whose file went missing says where it
was, and the counts show how many are missing (issue 20)."""

from __future__ import annotations

import shutil

import pytest
from records import rid
from test_browser import CHROMIUM, Viewer, click_row, open_map, page  # noqa: F401 (the page fixture)

from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import Store

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (scripts/install-system-deps.sh)"),
]

WARNING = "truncated: JPEG without its end marker (unchanged for 131 s)"


@pytest.fixture
def viewer(tmp_path, corpus):
    v = Viewer(tmp_path)
    v.config = v.config.replace("library", move=False)
    archive = v.config.paths.inbox
    (archive / "2019").mkdir(parents=True)
    gps = sorted((corpus / "exif-samples" / "jpg" / "gps").glob("*.jpg"))
    shutil.copy(gps[0], archive / "2019" / "cut.jpg")
    with Store(v.config.paths.database) as store:
        store.put_many([
            PhotoRecord(id=rid(1), sha256=rid(1) * 4, name="cut.jpg", path="2019/cut.jpg", status=Status.LOCATED, source=Source.EXIF,
                        lat=43.46, lon=11.88, place="Arezzo, Tuscany, Italy", warning=WARNING, file_stat=(1, 2, 3)),
            PhotoRecord(id=rid(2), sha256=rid(2) * 4, name="gone.jpg", path="2018/summer/gone.jpg", status=Status.LOCATED, source=Source.MANUAL,
                        lat=45.0, lon=7.0, place="Turin", missing_since="2026-12-01T10:00:00.000+00:00", file_stat=(4, 5, 6)),
        ])
    v.start()
    yield v
    v.stop()


def test_the_popup_shows_a_truncated_photos_warning_and_where_a_missing_one_was(page, viewer):  # noqa: F811 (fixtures)
    open_map(page, viewer)
    assert page.locator('#counts dd[data-count="missing"]').text_content() == "1"
    click_row(page, "cut.jpg")
    assert page.locator('.leaflet-popup dd[data-field="warning"]').text_content() == WARNING
    page.wait_for_selector(".leaflet-popup img.thumb")  # its file is there: shown where it is
    click_row(page, "gone.jpg")
    missing = page.locator('.leaflet-popup dd[data-field="missing"]').text_content()
    assert missing == "its file is no longer at 2018/summer/gone.jpg (noticed 2026-12-01); its record stays"
    gone = f'.leaflet-popup:has(.popup[data-id="{rid(2)}"])'  # not cut.jpg's popup, which may still be fading out
    assert page.locator(f"{gone} img.thumb").count() == 0 and page.locator(f"{gone} a.full").count() == 0
