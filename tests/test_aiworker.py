"""The AI retry queue: its pure rules (what an answer or an outage does to a record), then the worker
with a real store, the real client and the fake Ollama."""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from configs import core_on
from expect import wait_until
from fake_ollama import FakeOllama
from photos import heic_claiming
from PIL import Image
from records import record as numbered

from geolocator.config import OllamaConfig
from geolocator.locate.ai import AILocator
from geolocator.locations.ai_queue import AIWorker, Backoff, Server, apply_resume, apply_unavailable, due, waits_for_ollama
from geolocator.record import AIEstimate, PhotoRecord, Source, Status
from geolocator.record.store import Store


def pending(n: int = 1, **changes) -> PhotoRecord:
    """Record n (the shared factory's) waiting for the AI."""
    waiting = {"status": Status.PENDING, "source": None, "lat": None, "lon": None, "error": "waiting for the AI", "added_at": f"2024-01-01T00:00:0{n}"}
    return numbered(n, **waiting | changes)


def estimate(lat: float | None = 48.85, lon: float | None = 2.29) -> AIEstimate:
    return AIEstimate(lat=lat, lon=lon, confidence=0.8, radius_km=5.0, description="a tower", place="Paris, France", model="m", prompt_version="1", raw_answer="{}", decisions=("city",))


def test_an_answer_places_a_pending_record(tmp_path):
    with Store(tmp_path / "db.json") as store:
        locations = core_on(store, tmp_path, ai=True).locations
        store.put_many([pending(1), pending(2)])
        placed = locations.estimated(pending(1), estimate())
        assert (placed.status, placed.source, placed.place, placed.error, placed.attempts) == (Status.LOCATED, Source.AI, "Paris, France", None, 1)
        assert placed.history[-1].by == "ai" and store.get(placed.id) == placed
        unplaced = locations.estimated(pending(2), estimate(None, None))
        assert unplaced.status is Status.UNLOCATED and unplaced.source is None and unplaced.error


def test_a_manual_or_no_longer_pending_record_is_never_overwritten(tmp_path):
    manual = pending(1, status=Status.LOCATED, source=Source.MANUAL, lat=1.0, lon=2.0)
    with Store(tmp_path / "db.json") as store:
        locations = core_on(store, tmp_path, ai=True).locations
        manual = store.put_many([manual, pending(2, status=Status.UNLOCATED)])[0]
        for n in (1, 2, 3):  # asked while pending; placed by hand, unlocated, or gone since
            assert locations.estimated(pending(n), estimate()) is None
            assert locations.unreadable(pending(n), "bad") is None
        assert store.get(manual.id) == manual
    for current in (manual, pending(status=Status.UNLOCATED), None):
        assert apply_unavailable(current, "down", Backoff()) is None


def test_an_outage_backs_off_exponentially_up_to_the_cap():
    backoff = Backoff(base=30, cap=1800)
    assert [backoff.delay(n) for n in (1, 2, 3, 7, 20)] == [30, 60, 120, 1800, 1800]
    record = pending()
    for attempt in range(1, 4):
        before = datetime.now(UTC)
        record = apply_unavailable(record, "connection refused", backoff)
        retry_at = datetime.fromisoformat(record.retry_at)
        assert record.attempts == attempt and record.status is Status.PENDING and "connection refused" in record.error
        assert timedelta(seconds=backoff.delay(attempt) - 1) <= retry_at - before <= timedelta(seconds=backoff.delay(attempt) + 1)


def test_due_takes_the_oldest_ready_records_and_skips_moves_in_progress():
    now = "2024-06-01T00:00:00.000+00:00"
    records = [
        pending(1, retry_at="2024-06-01T01:00:00.000+00:00"),  # not yet
        pending(2),
        pending(3, moving_from="/inbox/3.jpg"),  # its file is not in place yet
        pending(4, retry_at="2024-05-31T23:00:00.000+00:00"),
        pending(5, status=Status.LOCATED),
    ]
    assert [r.name for r in due(records, now)] == ["2.jpg", "4.jpg"]


def test_a_photo_whose_estimate_fails_unexpectedly_does_not_hold_up_the_others(tmp_path):
    # The worker with a real store; the model call is the test's own function, one that breaks
    # on one photo the way a bug would (an exception nobody planned for).
    asked: list[str] = []
    done = threading.Event()

    def locate(path: Path) -> AIEstimate:
        asked.append(path.name)
        if path.name == "1.jpg":
            raise RecursionError("maximum recursion depth exceeded")
        done.set()
        return estimate()

    with Store(tmp_path / "db.json") as store:
        store.put_many([pending(1), pending(2)])
        worker = AIWorker(core_on(store, tmp_path, ai=True).locations, [Server(locate)], lambda r: tmp_path / r.name, Backoff(base=60))
        worker.start()
        try:
            assert done.wait(10), asked
        finally:
            worker.stop()
        first, second = store.get(pending(1).id), store.get(pending(2).id)
        assert asked == ["1.jpg", "2.jpg"]  # asked once, then backed off, not retried at once
        assert first.status is Status.PENDING and first.attempts == 1 and first.retry_at
        assert "internal error" in first.error and "RecursionError" in first.error
        assert second.status is Status.LOCATED


# -- the worker with a real store, the real client and the fake Ollama -------------------------------


def locator_for(url: str) -> AILocator:
    return AILocator(OllamaConfig(enabled=True, host=url, model="qwen2.5vl", timeout=2.0, max_image_px=1344))


def test_only_records_waiting_for_ollama_resume() -> None:
    waiting = apply_unavailable(pending(1), "cannot connect", Backoff())
    retrying = dataclasses.replace(pending(2), attempts=1, retry_at="2999-01-01T00:00:00.000+00:00", error="internal error, will retry: KeyError")
    assert waits_for_ollama(waiting) and not waits_for_ollama(retrying) and not waits_for_ollama(pending(3))
    resumed = apply_resume(waiting)
    assert resumed is not None and resumed.retry_at is None and resumed.attempts == 1 and resumed.error == waiting.error
    assert due([resumed], "2024-01-01T00:00:00.000+00:00") == [resumed]
    for record in (retrying, pending(3), None):
        assert apply_resume(record) is None


def test_photos_waiting_for_ollama_resume_within_the_probe_interval_when_it_comes_back(fake_ollama: FakeOllama, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="geolocator.locations.ai_queue")
    for n in (1, 2, 3):
        Image.new("RGB", (200, 150), (n, 100, 200)).save(tmp_path / f"{n}.jpg")
    locator = locator_for(fake_ollama.url)
    fake_ollama.down()
    with Store(tmp_path / "db.json") as store:
        store.put_many([pending(1), pending(2), pending(3)])
        worker = AIWorker(core_on(store, tmp_path, ai=True).locations, [Server(locator.estimate, locator.probe)], lambda r: tmp_path / r.name, Backoff(base=600, cap=1800), probe_seconds=0.3)
        worker.start()
        try:
            wait_until(lambda: any("Ollama probe: cannot connect" in r.getMessage() for r in caplog.records))
            waiting = store.get(pending(1).id)
            assert waiting is not None and waiting.status is Status.PENDING and "cannot connect to Ollama" in (waiting.error or "")
            assert datetime.fromisoformat(waiting.retry_at or "") - datetime.now(UTC) > timedelta(seconds=500)  # 10 min backoff
            fake_ollama.up()
            # within the probe interval (0.3 s), not after the 10-minute backoff
            wait_until(lambda: all(r.status is Status.LOCATED for r in store.all()), 120, "every photo placed once Ollama is up")
        finally:
            worker.stop()
    paths = [r.path for r in fake_ollama.requests]
    assert paths[0] == "/api/version" and paths.count("/api/chat") == 3  # probed, then asked


def test_a_server_that_answers_the_probe_but_fails_requests_keeps_its_backoff(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    Image.new("RGB", (200, 150), (1, 100, 200)).save(tmp_path / "1.jpg")
    locator = locator_for(fake_ollama.url)
    fake_ollama.fail(503, path="/api/chat")
    with Store(tmp_path / "db.json") as store:
        store.put_many([pending(1)])
        worker = AIWorker(core_on(store, tmp_path, ai=True).locations, [Server(locator.estimate, locator.probe)], lambda r: tmp_path / r.name, Backoff(base=600, cap=1800), probe_seconds=0.1)
        worker.start()
        try:
            wait_until(lambda: [r.path for r in fake_ollama.requests].count("/api/version") >= 5)  # four probes after the check
        finally:
            worker.stop()
        record = store.get(pending(1).id)
    assert len(fake_ollama.chat_requests) == 1  # probes answered, yet the busy server was not asked again
    assert record is not None and record.status is Status.PENDING and "busy" in (record.error or "")


def test_a_heic_whose_header_claims_60000_px_is_unreadable_with_the_reason_not_retried(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    heic_claiming(tmp_path / "1.jpg", 60000, 60000)  # the name is the record's; the content a HEIC
    asked = threading.Event()
    locator = locator_for(fake_ollama.url)

    def locate(path: Path) -> AIEstimate:
        asked.set()
        return locator.estimate(path)

    with Store(tmp_path / "db.json") as store:
        store.put_many([pending(1)])
        worker = AIWorker(core_on(store, tmp_path, ai=True).locations, [Server(locate)], lambda r: tmp_path / r.name, Backoff(base=0.05, cap=0.1))
        worker.start()
        try:
            wait_until(lambda: store.get(pending(1).id).status is Status.UNLOCATED)  # type: ignore[union-attr]
        finally:
            worker.stop()
        record = store.get(pending(1).id)
    assert record is not None and record.attempts == 1 and record.retry_at is None
    assert "could not read the image" in (record.error or "") and "60000x60000" in (record.error or "")
    assert fake_ollama.chat_requests == []
