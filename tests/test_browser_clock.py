"""Fixing a camera's clock in a real browser (Debian's chromium through Playwright) against the real
service: a GPX walk and a compact's photos (written by exiftool) dropped into its inbox; in a
photo's popup "Fix this camera's clock", a click on the track line where the photo was taken,
the preview of what moves, Apply; then a time typed for another photo. The store is read back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from expect import MAP_AT_REST, click_at_rest, wait_until, wait_until_js
from test_camera_clocks_service import MUNICH, STEP, Camera, at_minute, walk_gpx

from geolocator.config import build_config
from geolocator.record import Source, Status
from geolocator.service import Service
from tests import test_browser as shared

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = shared.browser_marks(180)



page = shared.desktop  # a 1280x800 page gathering its script errors (a fixture)


def record(svc: Service, name: str):
    assert svc.store is not None
    return next((r for r in svc.store.all() if r.name == name and not r.moving_from), None)


def click_on_map(page, lat: float, lon: float) -> None:
    """A click where the map shows (lat, lon), as a person's."""
    x, y = page.evaluate("([lat, lon]) => { const p = geolocator.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }", [lat, lon])
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_a_click_on_the_track_line_fixes_the_cameras_clock(page, tmp_path):
    camera = Camera(tmp_path)
    camera.text("walk.gpx", walk_gpx(datetime(2024, 6, 1, 10, tzinfo=UTC), 60))
    config = build_config({"watch": {"settle_seconds": 0.3}, "ollama": {"enabled": False}, "viewer": {"port": 0}}, tmp_path, None)
    with Service(config) as svc:
        wait_until(lambda: (r := record(svc, "walk.gpx")) is not None and r.status is Status.TRACK, timeout=30, message="the track filed")
        # Munich in summer (UTC+02:00), the compact's clock 3 min slow: taken at 10:10Z, 10:20Z, 10:30Z.
        for name, wall in (("a.jpg", "12:07:00"), ("b.jpg", "12:17:00"), ("c.jpg", "12:27:00")):
            camera.shoot(name, f"2024:06:01 {wall}", serial="111")
        camera.shoot("typed.jpg", "2024:06:03 09:00:00", serial="111")  # a day without a track: no UTC time
        for name in ("a.jpg", "b.jpg", "c.jpg"):
            wait_until(lambda n=name: (r := record(svc, n)) is not None and r.source is Source.TRACK, timeout=30, message=f"{name} on the track")
        wait_until(lambda: record(svc, "typed.jpg") is not None, timeout=30, message="typed.jpg filed")
        wait_until(svc.idle, timeout=20, message="the service idle")
        b = record(svc, "b.jpg")
        assert b is not None and at_minute(b, 17) and svc.map_url is not None

        page.goto(svc.map_url)
        page.wait_for_selector("body[data-ready=true]", state="attached", timeout=20000)
        page.evaluate("(id) => geolocator.select(id, true)", b.id)
        click_at_rest(page, ".leaflet-popup button.clock")
        bar = page.locator(".clock-bar")
        bar.wait_for()
        page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive", state="attached", timeout=20000)  # the day's track, drawn (a flat line: no height)
        wait_until_js(page, MAP_AT_REST)  # framed on the track: the spot is where the map shows it now
        assert "Click where the photo was taken on the track" in (bar.locator(".place-message").text_content() or "")
        click_on_map(page, MUNICH[0], MUNICH[1] + 20 * STEP)  # where b.jpg was taken: the walk at 10:20Z
        page.wait_for_selector(".clock-bar .clock-apply:not([disabled])", timeout=20000)
        said = bar.locator(".place-message").text_content() or ""
        assert "Track point at 10:20:00 UTC" in said and "3 photo(s) of Canon PowerShot S95 #111 on 2024-06-01 move by +3 min." in said, said
        assert record(svc, "b.jpg").taken_utc == "2024-06-01T10:17:00+00:00"  # type: ignore[union-attr]  # a preview changes nothing

        page.click(".clock-bar .clock-apply")
        page.wait_for_selector(".clock-bar", state="detached")
        page.wait_for_selector("#notice:has-text('Clock fixed: 3 photo(s)')")  # said once the map has the moved rows
        for name, minute in (("a.jpg", 10), ("b.jpg", 20), ("c.jpg", 30)):
            moved = record(svc, name)
            assert moved is not None and at_minute(moved, minute) and moved.time_basis == "clock_fix", name
        page.wait_for_selector('.leaflet-popup dd[data-field="clock"]', timeout=20000)
        assert (page.locator('.leaflet-popup dd[data-field="clock"]').text_content() or "").startswith("clock corrected by +3 min from b.jpg's sync")

        # A photo of a day without a track: its true time typed, with its zone.
        typed = record(svc, "typed.jpg")
        assert typed is not None and typed.taken_utc is None
        page.evaluate("(id) => geolocator.select(id, true)", typed.id)
        # its own popup's button: b.jpg's popup stays open until the new one opens (and fades out after)
        click_at_rest(page, f'.leaflet-popup .popup[data-id="{typed.id}"] button.clock')
        field = page.locator('.clock-bar input[name="true-time"]')
        assert field.input_value() == "2024-06-03 09:00:00"  # no UTC offset known: the person adds it
        wait_until_js(page, "() => /type the true time/.test(document.querySelector('.clock-bar .place-message').textContent)")
        field.fill("2024-06-03 09:01:30 +02:00")
        page.click(".clock-bar .place-find button")
        page.wait_for_selector(".clock-bar .clock-apply:not([disabled])", timeout=20000)
        assert "1 without a time in UTC get one" in (bar.locator(".place-message").text_content() or "")
        page.click(".clock-bar .clock-apply")
        page.wait_for_selector(".clock-bar", state="detached")
        fixed = record(svc, "typed.jpg")
        assert fixed is not None and (fixed.taken_utc, fixed.time_basis) == ("2024-06-03T07:01:30+00:00", "clock_fix")
        assert page.errors == []
