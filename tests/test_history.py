"""Location history: every change recorded, revert walks back, bounded, and survives the store."""

from __future__ import annotations

import dataclasses

import pytest

from geolocator.locations import history
from geolocator.locations.history import HistoryError, previous, revert, track
from geolocator.record import ChangeKind, PhotoRecord, Source, Status
from geolocator.record.store import Store


def _record(**changes) -> PhotoRecord:
    base = PhotoRecord(id="abcd", sha256="abcd" * 16, name="IMG_1.JPG", path="2024/05/IMG_1.JPG", status=Status.UNLOCATED, updated_at="2024-05-01T10:00:00Z")
    return dataclasses.replace(base, **changes)


def _place(record: PhotoRecord, source: Source, lat: float, lon: float, *, at: str, by: str, **extra) -> PhotoRecord:
    after = dataclasses.replace(record, status=Status.LOCATED, source=source, lat=lat, lon=lon, error=None, **extra)
    return track(record, after, at=at, by=by)


def test_first_location_of_a_new_record_needs_no_entry():
    placed = _record(status=Status.LOCATED, source=Source.EXIF, lat=1.0, lon=2.0)
    assert track(None, placed, at="t", by="import").history == ()


def test_a_change_records_what_was_before_and_what_it_became():
    ai = _record(status=Status.LOCATED, source=Source.AI, lat=48.85, lon=2.35, place="Paris, France", confidence=0.6, radius_km=25.0)
    fixed = _place(ai, Source.MANUAL, 41.8902, 12.4922, at="2024-06-01T12:00:00Z", by="page", place="Rome, Italy", confidence=None, radius_km=None)

    earlier, change = fixed.history
    assert (earlier.kind, earlier.by, earlier.at) == (ChangeKind.EARLIER, history.EARLIER_BY, "2024-05-01T10:00:00Z")
    assert (earlier.source, earlier.lat, earlier.lon, earlier.confidence, earlier.radius_km) == (Source.AI, 48.85, 2.35, 0.6, 25.0)
    assert (change.kind, change.by, change.at, change.prev) == (ChangeKind.SET, "page", "2024-06-01T12:00:00Z", earlier.n)
    assert (change.source, change.lat, change.lon, change.place) == (Source.MANUAL, 41.8902, 12.4922, "Rome, Italy")


def test_a_new_label_alone_is_not_a_change():
    placed = _record(status=Status.LOCATED, source=Source.MANUAL, lat=1.0, lon=2.0, place="A")
    assert track(placed, dataclasses.replace(placed, place="B"), at="t", by="page").history == ()


def test_revert_restores_the_previous_location_with_its_source_and_uncertainty():
    ai = _record(status=Status.LOCATED, source=Source.AI, lat=48.85, lon=2.35, place="Paris", city="Paris", country_code="FR", confidence=0.6, radius_km=25.0)
    fixed = _place(ai, Source.MANUAL, 41.89, 12.49, at="t1", by="page", place="Rome", city="Rome", country_code="IT", confidence=None, radius_km=None)

    back = revert(fixed, at="t2", by="page")

    for name in history.LOCATION_FIELDS:
        assert getattr(back, name) == getattr(ai, name), name
    assert back.status is Status.LOCATED
    assert back.history[-1].kind is ChangeKind.REVERT
    assert (back.history[-1].source, back.history[-1].at) == (Source.AI, "t2")


def test_reverts_walk_back_through_every_change_then_stop():
    start = _record()
    a = _place(start, Source.AI, 10.0, 20.0, at="t1", by="ai")
    b = _place(a, Source.MANUAL, 11.0, 21.0, at="t2", by="page")
    c = _place(b, Source.MANUAL, 12.0, 22.0, at="t3", by="page")

    back1 = revert(c, at="t4", by="page")
    assert (back1.source, back1.lat, back1.lon) == (Source.MANUAL, 11.0, 21.0)
    back2 = revert(back1, at="t5", by="page")
    assert (back2.source, back2.lat, back2.lon) == (Source.AI, 10.0, 20.0)
    back3 = revert(back2, at="t6", by="page")
    assert (back3.status, back3.source, back3.lat, back3.lon) == (Status.UNLOCATED, None, None, None)
    assert back3.error
    assert previous(back3) is None
    with pytest.raises(HistoryError, match="no earlier location"):
        revert(back3, at="t7", by="page")
    assert [e.kind for e in back3.history] == [ChangeKind.EARLIER] + [ChangeKind.SET] * 3 + [ChangeKind.REVERT] * 3
    assert [e.n for e in back3.history] == list(range(1, 8))


def test_a_change_after_a_revert_can_itself_be_reverted():
    a = _place(_record(), Source.AI, 10.0, 20.0, at="t1", by="ai")
    b = _place(a, Source.MANUAL, 11.0, 21.0, at="t2", by="page")
    back = revert(b, at="t3", by="page")
    c = _place(back, Source.MANUAL, 30.0, 40.0, at="t4", by="page")
    again = revert(c, at="t5", by="page")
    assert (again.source, again.lat, again.lon) == (Source.AI, 10.0, 20.0)


def test_nothing_to_revert_without_history_and_not_for_failed_files():
    with pytest.raises(HistoryError, match="no earlier location"):
        revert(_record(status=Status.LOCATED, source=Source.EXIF, lat=1.0, lon=2.0), at="t", by="page")
    failed = dataclasses.replace(_place(_record(), Source.MANUAL, 1.0, 2.0, at="t", by="page"), status=Status.FAILED)
    with pytest.raises(HistoryError, match="failed"):
        revert(failed, at="t", by="page")


def test_revert_of_a_photo_waiting_for_the_ai_clears_its_retry():
    manual = _place(_record(), Source.MANUAL, 5.0, 6.0, at="t1", by="page")
    requeued = track(manual, dataclasses.replace(manual, status=Status.PENDING, source=None, lat=None, lon=None, retry_at="t9"), at="t2", by="page")
    back = revert(requeued, at="t3", by="page")
    assert (back.status, back.source, back.lat, back.retry_at) == (Status.LOCATED, Source.MANUAL, 5.0, None)


def test_history_is_bounded_and_says_when_the_previous_one_was_dropped():
    record = _record()
    for i in range(history.MAX_HISTORY * 3):
        record = _place(record, Source.MANUAL, float(i % 80), float(i), at=f"t{i}", by="page")
    assert len(record.history) == history.MAX_HISTORY
    assert record.history[-1].n == history.MAX_HISTORY * 3 + 1
    # Reverts are changes too, so they push the oldest entries out: about half the kept
    # entries can be walked back, each one step, until the next is no longer kept.
    steps = 0
    with pytest.raises(HistoryError, match="older than"):
        while True:
            expected = previous(record)
            record = revert(record, at="r", by="page")
            assert expected is not None and (record.lat, record.lon) == (expected.lat, expected.lon)
            assert record.lon == history.MAX_HISTORY * 3 - 2 - steps
            assert len(record.history) == history.MAX_HISTORY
            steps += 1
    assert steps >= history.MAX_HISTORY // 2 - 1


def test_history_survives_the_store(tmp_path):
    placed = _place(_record(status=Status.LOCATED, source=Source.AI, lat=1.5, lon=2.5, confidence=0.4, radius_km=80.0), Source.MANUAL, 3.5, 4.5, at="t1", by="page")
    with Store(tmp_path / "db.json") as store:
        store.put(placed)
    with Store(tmp_path / "db.json") as store:
        loaded = store.get(placed.id)
    assert loaded is not None
    assert loaded.history == placed.history
    assert (revert(loaded, at="t2", by="page").source, revert(loaded, at="t2", by="page").radius_km) == (Source.AI, 80.0)


def test_records_stored_without_history_load_with_an_empty_one():
    data = _record().to_dict()
    del data["history"]
    assert PhotoRecord.from_dict(data).history == ()
    entry = _place(_record(), Source.MANUAL, 1.0, 2.0, at="t", by="page").history[-1]
    assert "confidence" not in entry.to_dict()  # None values are not stored
    assert type(entry).from_dict(entry.to_dict()) == entry
