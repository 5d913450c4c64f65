"""A record factory: numbered, valid PhotoRecords for tests that need a store's contents; and
the record a file that arrived under a name ended with."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from expect import wait_until

from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import Store

if TYPE_CHECKING:
    from geolocator.service import Service


def rid(n: int) -> str:
    """Record n's id: 16 hex digits, as record_id gives for its sha256. n is in the first 15, as
    in real ids (TinyDB's document id is made of those: store.doc_id), in the same order as n."""
    return f"{n:015x}0"


def record(n: int = 1, **changes: object) -> PhotoRecord:
    """Record n: 'n.jpg' filed at 2024/01/n.jpg, located from its EXIF at (1.0, 2.0); `changes`
    replace any field (status, source, lat, path, ...)."""
    base = PhotoRecord(id=rid(n), sha256=rid(n) * 4, name=f"{n}.jpg", path=f"2024/01/{n}.jpg", status=Status.LOCATED, source=Source.EXIF, lat=1.0, lon=2.0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def record_of(store: Store, name: str) -> PhotoRecord | None:
    """The settled record of the file that arrived as `name`: None until there is one, and while
    its move is in flight."""
    return next((r for r in store.all() if r.name == name and not r.moving_from), None)


def stored(svc: Service, name: str, check: Callable[[PhotoRecord], bool] = lambda r: True, what: str = "") -> PhotoRecord:
    """The running service's settled record of `name`, once `check` holds for it."""
    assert svc.store is not None
    store = svc.store
    return wait_until(lambda: r if (r := record_of(store, name)) is not None and check(r) else None, timeout=60, message=what or name)


def now(svc: Service, name: str) -> PhotoRecord:
    """The running service's settled record of `name` as it is now (there must be one)."""
    assert svc.store is not None
    found = record_of(svc.store, name)
    assert found is not None
    return found
