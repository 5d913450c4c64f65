"""The AI retry queue's pure rules: what an answer or an outage does to a record."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from geolocator.aiworker import Backoff, apply_estimate, apply_unavailable, apply_unreadable, due
from geolocator.record import AIEstimate, PhotoRecord, Source, Status


def pending(n: int = 1, **changes) -> PhotoRecord:
    record = PhotoRecord(id=f"{n:016x}", sha256=f"{n:064x}", name=f"{n}.jpg", path=f"2024/01/{n}.jpg", status=Status.PENDING, error="waiting for the AI", added_at=f"2024-01-01T00:00:0{n}")
    return dataclasses.replace(record, **changes)


def estimate(lat: float | None = 48.85, lon: float | None = 2.29) -> AIEstimate:
    return AIEstimate(lat=lat, lon=lon, confidence=0.8, radius_km=5.0, description="a tower", place="Paris, France", model="m", prompt_version="1", raw_answer="{}", decisions=("city",))


def test_an_answer_places_a_pending_record():
    placed = apply_estimate(pending(), estimate())
    assert (placed.status, placed.source, placed.place, placed.error, placed.attempts) == (Status.LOCATED, Source.AI, "Paris, France", None, 1)
    unplaced = apply_estimate(pending(), estimate(None, None))
    assert unplaced.status is Status.UNLOCATED and unplaced.source is None and unplaced.error


def test_a_manual_or_no_longer_pending_record_is_never_overwritten():
    manual = pending(status=Status.LOCATED, source=Source.MANUAL, lat=1.0, lon=2.0)
    for current in (manual, pending(source=Source.MANUAL), pending(status=Status.UNLOCATED), None):
        assert apply_estimate(current, estimate()) is None
        assert apply_unavailable(current, "down", Backoff()) is None
        assert apply_unreadable(current, "bad") is None


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
    import threading
    from pathlib import Path

    from geolocator.aiworker import AIWorker
    from geolocator.store import Store

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
        worker = AIWorker(store, locate, lambda r: tmp_path / r.name, Backoff(base=60))
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
