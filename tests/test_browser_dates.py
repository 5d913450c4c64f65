"""Capture dates in a real browser (Debian's chromium through Playwright) against a real server: photos
whose file holds no capture time are "undated" everywhere (the list, the popup, the timeline's
label, an "undated only" filter), never placed at another day; a day a camera clock got wrong
(after tomorrow, before 1990) is flagged "camera clock?", listed after the plausible days and
kept out of the timeline's range. On a desktop and on a 390 px phone."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from expect import wait_until_js
from records import rid

from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import Store
from tests.test_browser import CHROMIUM, Viewer
from tests.test_browser_browse import PHONE_EN_GB, open_map

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (scripts/install-system-deps.sh)"),
]

DATED = [f"20{15 + n}-0{1 + n}-1{n}T10:00:00" for n in range(6)]  # 2015-01 .. 2020-06
AHEAD = (date.today() + timedelta(days=400)).isoformat() + "T10:00:00"


def located(n: int, name: str, taken_at: str | None) -> PhotoRecord:
    return PhotoRecord(id=rid(n), sha256=rid(n) * 4, name=name, path=None, status=Status.LOCATED, source=Source.EXIF,
                       lat=38.71 + n * 0.001, lon=-9.14, place="Lisbon, Portugal", taken_at=taken_at)


@pytest.fixture
def viewer(tmp_path):
    v = Viewer(tmp_path)
    records = [located(n + 1, f"dated{n}.jpg", taken) for n, taken in enumerate(DATED)]
    records += [located(20, "clock-2038.jpg", "2038-01-19T03:14:07"), located(21, "clock-ahead.jpg", AHEAD),
                located(22, "clock-1980.jpg", "1980-01-01T00:00:00")]
    records += [located(30 + n, f"undated{n}.jpg", None) for n in range(3)]
    records.append(PhotoRecord(id=rid(40), sha256=rid(40) * 4, name="undated-pending.jpg", path=None, status=Status.UNLOCATED,
                               error="no clue"))
    records.append(PhotoRecord(id=rid(41), sha256=rid(41) * 4, name="dated-pending.jpg", path=None, status=Status.UNLOCATED,
                               error="no clue", taken_at="2019-01-01T10:00:00"))
    store = Store(v.config.paths.database)
    store.put_many(records)
    store.close()
    v.start()
    yield v
    v.stop()


def list_names(page) -> list[str]:
    return page.evaluate("[...document.querySelectorAll('#list .vrow')].sort((a, b) => new DOMMatrix(getComputedStyle(a).transform).f"
                         " - new DOMMatrix(getComputedStyle(b).transform).f).map(r => r.querySelector('.vrow-name').textContent)")


def detail(page, name: str) -> str:
    return page.text_content(f"#list .vrow:has(.vrow-name:text-is('{name}')) .vrow-detail")


def total(page) -> int:
    return int(page.get_attribute("#list", "data-total"))


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_undated_photos_are_undated_and_a_wrong_camera_clock_is_flagged_and_kept_out_of_the_timeline(tabs, viewer, tmp_path, device):
    with tabs(**(PHONE_EN_GB if device == "phone" else {"locale": "en-GB"})) as page:
        press = page.click if device == "desktop" else page.tap
        open_map(page, viewer)
        if device == "phone":  # the filters and the timeline are in the sheet pulled up full
            page.tap("#sheet-handle")
            wait_until_js(page, "document.body.dataset.sheet === 'half'")
            page.tap("#sheet-handle")
            wait_until_js(page, "document.body.dataset.sheet === 'full'")
        page.evaluate("void geolocator.map.setView([38.72, -9.14], 12, {animate: false})")
        wait_until_js(page, "document.querySelector('#list').dataset.total === '12'")
        # Newest first: the plausible days, then the clocks gone wrong, then the undated; never 2038 on top.
        names = list_names(page)
        assert names[:6] == [f"dated{n}.jpg" for n in reversed(range(6))], names
        assert names[6:9] == ["clock-2038.jpg", "clock-ahead.jpg", "clock-1980.jpg"] and names[9:] == [f"undated{n}.jpg" for n in range(3)]
        assert detail(page, "clock-2038.jpg").startswith("19 Jan 2038 (camera clock?)")
        assert "(camera clock?)" in detail(page, "clock-1980.jpg") and "camera clock?" not in detail(page, "dated5.jpg")
        assert detail(page, "undated0.jpg").startswith("undated ·")
        # The timeline spans the plausible days only, and says what it leaves out.
        assert page.text_content("#time-range") == "Jan 2015 – Jun 2020 · 3 undated · 3 camera clock?"
        # Their popups say so too.
        press("#list .vrow:has-text('clock-2038.jpg')")
        page.wait_for_selector('.leaflet-popup:has(.popup-name:text-is("clock-2038.jpg")) dd[data-field="taken"]')
        assert page.text_content('.leaflet-popup:has(.popup-name:text-is("clock-2038.jpg")) dd[data-field="taken"]').endswith("(camera clock?)")
        page.evaluate("void geolocator.map.closePopup()")
        page.evaluate("void geolocator.map.setView([38.72, -9.14], 12, {animate: false})")
        press("#list .vrow:has-text('undated1.jpg')")
        page.wait_for_selector('.leaflet-popup:has(.popup-name:text-is("undated1.jpg")) dd[data-field="taken"]')
        assert page.text_content('.leaflet-popup:has(.popup-name:text-is("undated1.jpg")) dd[data-field="taken"]') == "undated"
        page.evaluate("void geolocator.map.closePopup()")
        page.evaluate("void geolocator.map.setView([38.72, -9.14], 12, {animate: false})")
        # "undated only": the map and the list hold the undated photos alone, the Unlocated tab too.
        page.check('#filters input[name="undated"]')
        wait_until_js(page, "document.querySelector('#list').dataset.total === '3'")
        assert sorted(list_names(page)) == [f"undated{n}.jpg" for n in range(3)]
        assert page.text_content("#shown") == "3 shown on the map"
        assert page.text_content("#time-range") == "Undated photos only (3)"
        press('#tabs [data-tab="unlocated"]')
        wait_until_js(page, "document.querySelector('#list').dataset.total === '1'")
        assert list_names(page) == ["undated-pending.jpg"]
        press('#tabs [data-tab="photos"]')
        press("#time-clear")  # "All dates": every photo again
        wait_until_js(page, "document.querySelector('#list').dataset.total === '12'")
        assert not page.is_checked('#filters input[name="undated"]')
        assert not page.errors, page.errors
