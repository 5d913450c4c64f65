"""Faults found by attacking the ingest (issue 8), each injected for real into a running service:
real watchdog observers, a real store, real files, real FIFOs, the daemon as a subprocess."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from expect import expect
from photos import GPS_JPEGS

from geolocator.aiworker import Backoff
from geolocator.config import build_config
from geolocator.record import Status
from geolocator.service import Service
from geolocator.store import load_records


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def service(tmp_path, corpus):
    running: list[Service] = []

    def start(settle: float = 0.3, incomplete: float = 5.0) -> Service:
        config = build_config(
            {"watch": {"settle_seconds": settle, "incomplete_seconds": incomplete}, "ollama": {"enabled": False}, "viewer": {"enabled": False}},
            tmp_path,
            None,
        )
        svc = Service(config, backoff=Backoff(base=0.2, cap=1.0)).start()
        running.append(svc)
        return svc

    yield start
    for svc in running:
        svc.stop()


def settled(svc: Service) -> dict:
    """The records once the inbox is empty and every intent is cleared."""
    records = {r.id: r for r in svc.store.all()}
    if files_under(svc.config.paths.inbox) or any(r.moving_from for r in records.values()):
        return {}
    return records


def test_a_name_that_is_not_utf8_is_filed_by_the_service(service, corpus):
    svc = service()
    content = (corpus / "exif-samples/jpg" / GPS_JPEGS[0]).read_bytes()
    inbox = os.fsencode(svc.config.paths.inbox)
    for raw in (b"A\xe9t\xe9.jpg", b"\xff\xfe.jpg"):
        with open(os.path.join(inbox, raw), "xb") as fh:
            fh.write(content + raw)  # distinct content: no duplicates
    records = expect(lambda: len(settled(svc)) == 2 and settled(svc), timeout=15, what="both files filed")
    assert sorted(r.name for r in records.values()) == ["Aété.jpg", "ÿþ.jpg"]
    assert all(r.status is Status.LOCATED for r in records.values())
    assert sorted(p.name for p in files_under(svc.config.paths.library)) == ["Aété.jpg", "ÿþ.jpg"]
    assert load_records(svc.config.paths.database).keys() == records.keys()
