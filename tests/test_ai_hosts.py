"""Several Ollama servers: the pool's rules (pure), then the AI worker with a real store, the real
`ollama` client and two or three real fake Ollama servers (tests/fake_ollama.py), the service,
`check` and `locate` with a list of hosts."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from configs import core_on, write_config
from expect import wait_until
from fake_ollama import FakeOllama
from PIL import Image
from processes import run_daemon
from records import record as make_record

from geolocator.config import OllamaConfig
from geolocator.errors import AIUnavailable
from geolocator.locate.ai import AILocator
from geolocator.locate.ai.hosts import HostPool
from geolocator.locations.ai_queue import AIWorker, Backoff, servers_for
from geolocator.record import PhotoRecord, Status
from geolocator.record.store import Store

LONG = Backoff(base=600, cap=1800)  # a paused server is not asked again within a test: only a probe can end its pause


# -- the pool (pure) --------------------------------------------------------------------------


def test_free_servers_take_turns_and_each_takes_at_most_per_host() -> None:
    pool = HostPool(["a", "b", "c"], per_host=2, delay=lambda n: 30.0 * n, probe_seconds=None)
    picked = [pool.pick(0.0) for _ in range(7)]
    assert [h.url if h else None for h in picked] == ["a", "b", "c", "a", "b", "c", None]
    pool.release(picked[1])  # type: ignore[arg-type]
    assert pool.pick(0.0).url == "b"  # type: ignore[union-attr]
    assert pool.in_flight == 6


def test_a_failed_server_is_paused_alone_with_its_own_backoff() -> None:
    pool = HostPool(["a", "b"], per_host=1, delay=lambda n: 30.0 * 2 ** (n - 1), probe_seconds=5.0)
    a = pool.pick(0.0)
    assert a is not None and a.url == "a"
    assert pool.failed(a, 0.0) == 30.0
    pool.release(a)
    assert [pool.pick(1.0).url, pool.pick(1.0)] == ["b", None]  # type: ignore[union-attr]
    assert not pool.all_paused(1.0) and pool.next_change(1.0, waiting=False) == 0.0  # its probe is due at once
    assert pool.pick(31.0).url == "a"  # type: ignore[union-attr]  # after its pause
    assert pool.failed(a, 31.0) == 60.0  # doubling while it keeps failing


def test_a_probe_ends_a_pause_only_when_the_server_was_unreachable() -> None:
    pool = HostPool(["a"], per_host=1, delay=lambda n: 600.0, probe_seconds=5.0)
    host = pool.pick(0.0)
    assert host is not None
    pool.failed(host, 0.0)
    pool.release(host)
    assert pool.probe_due(0.0, waiting=False) is host and pool.probe_due(0.0, waiting=False) is None  # one probe at a time
    assert pool.probed(host, answered=True) is False and pool.all_paused(1.0)  # busy, not down: the pause stands
    assert pool.probe_due(1.0, waiting=False) is None and pool.next_change(1.0, waiting=False) == 4.0
    assert pool.probe_due(5.0, waiting=False) is host
    assert pool.probed(host, answered=False) is False  # unreachable now
    assert pool.probe_due(10.0, waiting=False) is host
    assert pool.probed(host, answered=True) is True and not pool.all_paused(10.0)  # back
    assert pool.probe_due(20.0, waiting=False) is None  # a server in use is not probed...
    assert pool.probe_due(20.0, waiting=True) is host  # ...unless photos wait for Ollama to come back


def test_a_pool_without_probes_never_probes_and_a_bad_pool_is_refused() -> None:
    pool = HostPool(["a"], per_host=1, delay=lambda n: 30.0, probe_seconds=None)
    host = pool.pick(0.0)
    pool.failed(host, 0.0)  # type: ignore[arg-type]
    assert pool.probe_due(0.0, waiting=True) is None and pool.next_change(0.0, waiting=True) == 30.0
    with pytest.raises(ValueError, match="at least one server"):
        HostPool([], per_host=1, delay=lambda n: 30.0, probe_seconds=None)


# -- the worker with real servers -----------------------------------------------------------------


@pytest.fixture
def fakes() -> Iterator[list[FakeOllama]]:
    """Three running fake Ollama servers ('qwen2.5vl' installed); released and stopped after the test."""
    with ExitStack() as stack:
        servers = [stack.enter_context(FakeOllama()) for _ in range(3)]
        stack.callback(lambda: [s.release() for s in servers])
        yield servers


def photos(folder: Path, numbers: range) -> list[PhotoRecord]:
    """Real JPEGs in `folder` and their pending records."""
    records = []
    for n in numbers:
        Image.new("RGB", (160, 120), (n % 256, 90, 200)).save(folder / f"{n}.jpg")
        records.append(make_record(n, name=f"{n}.jpg", path=f"{n}.jpg", status=Status.PENDING, source=None, lat=None, lon=None, error="waiting for the AI", added_at=f"2024-01-01T00:00:{n:02d}"))
    return records


def config_for(*fakes: FakeOllama, per_host: int = 1) -> OllamaConfig:
    return OllamaConfig(enabled=True, host=tuple(f.url for f in fakes), model="qwen2.5vl", timeout=3.0, max_image_px=512, per_host=per_host)


def worker_for(store: Store, folder: Path, config: OllamaConfig, backoff: Backoff = LONG, probe_seconds: float = 0.2) -> AIWorker:
    locations = core_on(store, folder, ai=True, library={"sidecars": False}).locations
    return AIWorker(locations, servers_for(config), lambda r: folder / r.path, backoff, per_host=config.per_host, probe_seconds=probe_seconds)


def located(store: Store) -> bool:
    return all(r.status is Status.LOCATED for r in store.all())


def probe_failed(caplog: pytest.LogCaptureFixture, fake: FakeOllama) -> bool:
    """A probe found `fake` unreachable (so the next that reaches it means it is back, not busy)."""
    return any(f"Ollama probe: cannot connect to Ollama at {fake.url}" in r.getMessage() for r in caplog.records)


def test_photos_are_spread_over_the_servers_each_asked_once(fakes: list[FakeOllama], tmp_path: Path) -> None:
    for fake in fakes:
        fake.hold()
    with Store(tmp_path / "db.json") as store:
        store.put_many(photos(tmp_path, range(1, 10)))
        worker = worker_for(store, tmp_path, config_for(*fakes))
        worker.start()
        try:
            assert all(fake.wait_in_flight(1) for fake in fakes)  # all three servers at work at once
            for fake in fakes:
                fake.release()
            wait_until(lambda: located(store), 20, "every photo placed")
        finally:
            worker.stop()
        records = store.all()
    asked = [len(fake.chat_requests) for fake in fakes]
    assert sum(asked) == 9 and min(asked) >= 1, asked  # each photo asked once, every server used
    assert all(r.attempts == 1 and r.place and "Paris" in r.place for r in records)
    assert max(fake.most_in_flight for fake in fakes) == 1  # per_host = 1


def test_per_host_2_keeps_two_requests_in_flight_on_one_server(fakes: list[FakeOllama], tmp_path: Path) -> None:
    fake = fakes[0]
    fake.hold()
    with Store(tmp_path / "db.json") as store:
        store.put_many(photos(tmp_path, range(1, 6)))
        worker = worker_for(store, tmp_path, config_for(fake, per_host=2))
        worker.start()
        try:
            assert fake.wait_in_flight(2), "two requests at once"
            assert not fake.wait_in_flight(3, timeout=0.5)  # and never a third
            fake.release()
            wait_until(lambda: located(store), 20, "every photo placed")
        finally:
            worker.stop()
    assert fake.most_in_flight == 2 and len(fake.chat_requests) == 5


def test_a_server_that_refuses_connections_is_backed_off_alone_and_resumes_after_its_probe(fakes: list[FakeOllama], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="geolocator.locations.ai_queue")
    down, up = fakes[0], fakes[1]
    down.down()
    with Store(tmp_path / "db.json") as store:
        store.put_many(photos(tmp_path, range(1, 7)))
        worker = worker_for(store, tmp_path, config_for(down, up))
        worker.start()
        try:
            wait_until(lambda: located(store), 20, "every photo placed by the server that is up")
            first = store.all()
            assert all(r.attempts == 1 and r.retry_at is None for r in first)  # none waited for the server that is down
            assert len(up.chat_requests) == 6
            # It comes back: its probe (every 0.2 s) ends the 10-minute pause; new photos go to it
            # while the other is held busy.
            wait_until(lambda: probe_failed(caplog, down), 10, "a probe finding it down")
            down.up()
            wait_until(lambda: any(r.path == "/api/version" for r in down.requests), 10, "a probe of the server that was down")
            up.hold()
            store.put_many(photos(tmp_path, range(7, 10)))
            worker.wake()
            wait_until(lambda: len(down.chat_requests) >= 2, 10, "the server that was down asked again")
            up.release()
            wait_until(lambda: located(store), 20, "the new photos placed")
        finally:
            worker.stop()
    assert len(down.chat_requests) + len(up.chat_requests) == 9  # each photo asked once, on a server that answered


def test_a_busy_server_is_backed_off_alone_its_photo_goes_to_another(fakes: list[FakeOllama], tmp_path: Path) -> None:
    busy, free = fakes[0], fakes[1]
    busy.fail(503, path="/api/chat")
    with Store(tmp_path / "db.json") as store:
        store.put_many(photos(tmp_path, range(1, 6)))
        worker = worker_for(store, tmp_path, config_for(busy, free))
        worker.start()
        try:
            wait_until(lambda: located(store), 20, "every photo placed")
            wait_until(lambda: [r.path for r in busy.requests].count("/api/version") >= 4, 10, "probes of the busy server")
            records = store.all()
        finally:
            worker.stop()
    assert len(busy.chat_requests) == 1  # it answers probes, yet is not asked again: its backoff stands
    assert len(free.chat_requests) == 5  # including the photo the busy one failed
    assert all(r.attempts == 1 and r.error is None for r in records)


def test_when_every_server_is_down_photos_wait_with_the_reason_then_resume_when_one_is_back(fakes: list[FakeOllama], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="geolocator.locations.ai_queue")
    first, second = fakes[0], fakes[1]
    first.down()
    second.down()
    with Store(tmp_path / "db.json") as store:
        store.put_many(photos(tmp_path, range(1, 4)))
        worker = worker_for(store, tmp_path, config_for(first, second))
        worker.start()
        try:
            waiting = wait_until(lambda: [r for r in store.all() if r.retry_at], 10, "a photo waiting for Ollama")
            assert len(waiting) == 1 and "AI unavailable" in (waiting[0].error or "") and "cannot connect" in (waiting[0].error or "")
            wait_until(lambda: probe_failed(caplog, second), 10, "a probe finding it down")
            second.up()
            wait_until(lambda: located(store), 10, "every photo placed once one server is back")
        finally:
            worker.stop()
    assert len(second.chat_requests) == 3 and first.chat_requests == []


def test_drain_for_scan_uses_the_servers_that_answer_and_ends(fakes: list[FakeOllama], tmp_path: Path) -> None:
    down, up = fakes[0], fakes[1]
    down.down()
    settled: list[int] = []
    with Store(tmp_path / "db.json") as store:
        store.put_many(photos(tmp_path, range(1, 6)))
        worker_for(store, tmp_path, config_for(down, up)).drain(lambda: settled.append(1))
        assert located(store) and len(settled) == 5
        up.down()
        store.put_many(photos(tmp_path, range(6, 9)))
        worker_for(store, tmp_path, config_for(down, up)).drain()  # every server down: it ends all the same
        left = [r for r in store.all() if r.status is Status.PENDING]
    assert len(left) == 3 and sum(1 for r in left if "AI unavailable" in (r.error or "")) == 1  # one tried; the others stay for the service


def test_the_service_spreads_its_queue_over_a_list_of_hosts(fakes: list[FakeOllama], service, tmp_path: Path) -> None:
    for fake in fakes[:2]:
        fake.hold()
    svc = service(ai=fakes[0].url, ollama={"host": [fakes[0].url, fakes[1].url], "per_host": 1})
    inbox = tmp_path / "inbox"
    for n in range(4):
        Image.new("RGB", (160, 120), (60 * n, 90, 200)).save(inbox / f"no-gps-{n}.jpg")  # distinct: no duplicates
    assert fakes[0].wait_in_flight(1) and fakes[1].wait_in_flight(1)  # both servers at work at once
    for fake in fakes[:2]:
        fake.release()
    wait_until(lambda: len(svc.store) == 4 and located(svc.store), 20, "four photos placed by the AI")
    assert len(fakes[0].chat_requests) + len(fakes[1].chat_requests) == 4


# -- locate and check with a list -----------------------------------------------------------------


def test_one_locator_for_a_list_asks_the_first_server_that_answers(fakes: list[FakeOllama], tmp_path: Path) -> None:
    down, up = fakes[0], fakes[1]
    down.down()
    (photo,) = photos(tmp_path, range(1, 2))
    locator = AILocator(config_for(down, up))
    estimate = locator.estimate(tmp_path / photo.path)
    assert estimate.place and "Paris" in estimate.place and locator.host == up.url
    up.down()
    with pytest.raises(AIUnavailable) as info:
        locator.estimate(tmp_path / photo.path)
    assert "none of the 2 Ollama servers answered" in str(info.value) and down.url in str(info.value) and up.url in str(info.value)


def test_check_names_the_server_that_is_down_and_locate_uses_one_that_answers(fakes: list[FakeOllama], tmp_path: Path) -> None:
    down, up = fakes[0], fakes[1]
    down.down()
    config = write_config(tmp_path / "config.toml", ai=up.url, ollama={"host": [down.url, up.url]})
    check = run_daemon("check", "--config", str(config), cwd=tmp_path)
    lines = [line for line in check.stdout.splitlines() if "ollama:" in line]
    assert check.returncode == 1 and len(lines) == 2, check.stdout
    assert lines[0].startswith("FAIL ollama: cannot connect to Ollama at " + down.url)
    assert lines[1].startswith("ok   ollama: Ollama 0.12.6 at " + up.url)
    (photo,) = photos(tmp_path, range(1, 2))
    locate = run_daemon("locate", "--config", str(config), str(tmp_path / photo.path), cwd=tmp_path)
    assert locate.returncode == 0 and '"source": "ai"' in locate.stdout and "Paris" in locate.stdout, locate.stdout + locate.stderr
    assert len(up.chat_requests) == 1


def test_a_single_host_config_is_one_server_as_before(tmp_path: Path) -> None:
    config = OllamaConfig(enabled=True, host="http://127.0.0.1:9", model="qwen2.5vl", timeout=1.0, max_image_px=512)
    assert config.hosts == ("http://127.0.0.1:9",) and config.per_host == 1
    assert [s.name for s in servers_for(config)] == ["http://127.0.0.1:9"]
    assert dataclasses.replace(config, host=("a:1", "b:2")).hosts == ("a:1", "b:2")
