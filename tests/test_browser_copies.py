"""Copies on the page, in a real browser (Debian's chromium through Playwright) against a library
filed by the real pipeline: the Duplicates tab lists a copy beside the exact duplicates, its popup
says whose copy it is and links to the original (selecting it), and "File as duplicate" moves it
into duplicates/; keeping both is the default."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from copies_made import ORIGINALS, RECIPES, SAMPLES, upright
from expect import click_at_rest, wait_until, wait_until_js

from geolocator.config import build_config
from geolocator.core import Core
from geolocator.pipeline import Pipeline
from geolocator.record import Source, Status
from geolocator.record.store import Store
from tests import test_browser as shared
from viewer import ViewerServer, create_app

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = shared.browser_marks(150)



page = shared.desktop  # a 1280x800 page gathering its script errors (a fixture)


@pytest.fixture
def library(tmp_path, corpus):
    """The original (GPS), a copy of it as Telegram sends it, and an exact duplicate of the
    original, filed by the pipeline; the page served over the same Core."""
    config = build_config({"ollama": {"enabled": False}, "viewer": {"tile_url": ""}}, tmp_path, None)
    store = Store(config.paths.database)
    core = Core.build(config, store)
    pipeline = Pipeline(core)
    inbox = config.paths.inbox
    inbox.mkdir(parents=True)
    shutil.copyfile(SAMPLES / ORIGINALS[0], inbox / "DSCN0010.jpg")
    (inbox / "telegram.jpg").write_bytes(RECIPES["telegram"](upright(ORIGINALS[0])))
    shutil.copyfile(SAMPLES / ORIGINALS[0], inbox / "DSCN0010 (1).jpg")
    filed = {}
    for name in ("DSCN0010.jpg", "telegram.jpg", "DSCN0010 (1).jpg"):
        old = time.time() - 3600
        os.utime(inbox / name, (old, old))
        record = pipeline.process(inbox / name)
        assert record is not None
        filed[name] = record
    pipeline.flush()
    assert store.get(filed["telegram.jpg"].id).source is Source.COPY  # type: ignore[union-attr]
    server = ViewerServer(create_app(core), "127.0.0.1", 0).start()
    yield server.url, store, config, filed
    server.stop()
    store.close()


def test_a_copy_in_the_duplicates_tab_links_to_its_original_and_can_be_filed_as_a_duplicate(page, library):
    url, store, config, filed = library
    original, copy = filed["DSCN0010.jpg"], filed["telegram.jpg"]
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=20000)
    assert page.locator('#counts [data-count="located_copy"]').inner_text() == "1"

    page.click('#tabs [data-tab="duplicates"]')
    copy_row = page.locator("#list .vrow", has_text="telegram.jpg")
    wait_until(lambda: "copy of DSCN0010.jpg" in copy_row.inner_text(), timeout=20, message="the copy's row saying whose copy it is")
    exact = page.locator("#list .vrow", has_text="DSCN0010 (1).jpg")  # beside an exact duplicate
    wait_until(lambda: "duplicate of DSCN0010.jpg" in exact.inner_text(), timeout=20, message="the exact duplicate's row")

    copy_row.click()
    page.wait_for_selector(".leaflet-popup .popup-name")
    popup = page.locator(".leaflet-popup")
    assert popup.locator(".popup-name").inner_text() == "telegram.jpg"
    assert popup.locator('dd[data-field="source"]').inner_text() == "copy of a located photo"
    assert popup.locator('dd[data-field="time from"]').inner_text() == "its original DSCN0010.jpg"
    assert popup.locator("button.keep-both").get_attribute("aria-pressed") == "true"  # the default: nothing to do

    click_at_rest(page, '.leaflet-popup dd[data-field="copy of"] a.original')  # the original, selected
    wait_until_js(page, "(id) => geolocator.state.selected === id && document.querySelector('.leaflet-popup .popup-name')?.textContent === 'DSCN0010.jpg'", original.id)

    page.locator("#list .vrow", has_text="telegram.jpg").click()
    wait_until_js(page, "() => document.querySelector('.leaflet-popup .popup-name')?.textContent === 'telegram.jpg'")
    click_at_rest(page, ".leaflet-popup button.file-duplicate")
    wait_until(lambda: (r := store.get(copy.id)) is not None and r.status is Status.DUPLICATE and not r.moving_from, timeout=20, message="the copy filed as a duplicate")
    moved = store.get(copy.id)
    assert moved is not None and moved.duplicate_of == original.id and (config.paths.duplicates / (moved.path or "")).is_file()
    assert not (config.paths.library / (copy.path or "")).exists()
    row = page.locator("#list .vrow", has_text="telegram.jpg")
    wait_until(lambda: "duplicate of DSCN0010.jpg" in row.inner_text(), timeout=20, message="the row now a duplicate's")
    # said once the list has the new rows: the row can read "duplicate" a moment before
    wait_until(lambda: page.locator("#notice").inner_text() == "telegram.jpg is filed as a duplicate of DSCN0010.jpg.", timeout=20, message="the notice")
    wait_until(lambda: page.locator('#counts [data-count="located_copy"]').inner_text() == "0", timeout=20, message="the counts without the copy")
    assert page.errors == []
