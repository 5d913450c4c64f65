"""What the AI is doing, as the map page asks it (GET /api/ai), from the real service's AI worker and
a fake Ollama that goes down, loses its model and comes back; and "Retry all now" (POST
/api/ai/retry), which makes every photo waiting for Ollama due and ends every server's pause."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime

import pytest
from configs import make_config
from expect import wait_until
from photos import write_jpeg
from records import record

from geolocator.config import build_config
from geolocator.core import Core
from geolocator.locations.ai_queue import Backoff
from geolocator.record import Source, Status
from geolocator.record.store import Store
from geolocator.service import Service
from viewer import ViewerServer, create_app

FIX_DOWN = "start Ollama: systemctl start ollama"
WITHOUT_AI = "or set [ollama] enabled = false"


def ask(url: str, path: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url.rstrip("/") + path, method="POST" if token else "GET",
                                     headers={"X-Geolocator-Token": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def server_state(url: str) -> dict:
    status, data = ask(url, "/api/ai")
    assert status == 200 and data["enabled"] and data["running"], data
    return data["servers"][0]


@pytest.fixture
def patient_service(tmp_path, fake_ollama) -> Iterator[Service]:
    """The service with a backoff of ten minutes: only "Retry all now" (or a probe, 30 s later) asks again."""
    svc = Service(make_config(tmp_path, ai=fake_ollama.url, viewer={"enabled": True, "port": 0}), backoff=Backoff(base=600, cap=600))
    fake_ollama.down()
    svc.start()
    yield svc
    svc.stop()


def test_down_since_when_with_the_fix_then_retry_all_now_asks_at_once(patient_service, fake_ollama):
    svc = patient_service
    url, token = svc.map_url, svc.viewer.app.config["geolocator.token"]
    assert server_state(url)["state"] == "unknown"  # nothing asked yet
    for n in range(3):
        write_jpeg(svc.config.paths.inbox / f"nogps{n}.jpg", n)
    down = wait_until(lambda: (s := server_state(url))["state"] == "down" and s, 60, "the server seen down")
    assert FIX_DOWN in down["fix"] and WITHOUT_AI in down["fix"], down
    assert "cannot connect to Ollama" in down["reason"] and fake_ollama.url.split("//")[1] in down["reason"]
    assert datetime.fromisoformat(down["since"]) <= datetime.now().astimezone() and 0 < down["paused_for"] <= 600
    wait_until(lambda: len(svc.store.with_status(Status.PENDING)) == 3, 60, "the three photos filed, waiting")
    assert ask(url, "/api/ai/retry")[0] == 405  # a write: POST only
    fake_ollama.up()
    status, answer = ask(url, "/api/ai/retry", token)
    assert status == 200 and answer["resumed"] >= 1 and answer["counts"]["pending"] == 3
    assert all(row[1] == "pending" for row in answer["rows"])
    wait_until(lambda: svc.store.counts()["located"] == 3, 60, "all three placed by the AI once asked again")  # not after the 10 min pause
    assert all(r.source is Source.AI for r in svc.store.all())
    # the last answer is stored before the worker says it is done asking
    ready = wait_until(lambda: (s := server_state(url))["state"] == "ready" and s, 60, "the server ready once the queue is empty")
    assert ready["reason"] is None


def test_a_missing_model_says_to_pull_it(service, fake_ollama):
    fake_ollama.remove("qwen2.5vl")
    svc = service(ai=fake_ollama.url, viewer={"enabled": True, "port": 0})
    write_jpeg(svc.config.paths.inbox / "nogps.jpg", 1)
    missing = wait_until(lambda: (s := server_state(svc.map_url))["state"] == "model missing" and s, 60, "the model missing")
    assert "ollama pull qwen2.5vl" in missing["fix"] and WITHOUT_AI in missing["fix"]
    fake_ollama.install("qwen2.5vl")
    status, _ = ask(svc.map_url, "/api/ai/retry", svc.viewer.app.config["geolocator.token"])
    assert status == 200
    wait_until(lambda: svc.store.counts()["located"] == 1, 60, "placed once the model is there")
    # The answer is stored before the worker says it is done asking: "ready" follows.
    wait_until(lambda: server_state(svc.map_url)["state"] == "ready", 60, "the AI ready again")


def test_a_busy_server_is_told_apart_from_one_that_is_down(service, fake_ollama):
    fake_ollama.fail(503, path="/api/chat")
    svc = service(ai=fake_ollama.url, viewer={"enabled": True, "port": 0})
    write_jpeg(svc.config.paths.inbox / "nogps.jpg", 1)
    busy = wait_until(lambda: (s := server_state(svc.map_url))["state"] == "busy or failing" and s, 60, "the server busy")
    assert "busy (HTTP 503" in busy["reason"] and WITHOUT_AI in busy["fix"]


def test_without_the_ai_or_without_a_worker(tmp_path):
    off = build_config({"ollama": {"enabled": False}}, tmp_path / "off", None)
    alone = build_config({}, tmp_path / "alone", None)  # the map alone: the service's worker asks, not this one
    for config, expected in ((off, {"enabled": False, "running": False}), (alone, {"enabled": True, "running": False})):
        with Store(config.paths.database) as store:
            store.put(record(1, status=Status.PENDING, source=None, lat=None, lon=None, retry_at="2999-01-01T00:00:00.000+00:00",
                             error="AI unavailable, will retry: cannot connect to Ollama"))
            app = create_app(Core.build(config, store))
            server = ViewerServer(app, "127.0.0.1", 0).start()
            try:
                status, data = ask(server.url, "/api/ai")
                assert status == 200 and {k: data[k] for k in expected} == expected and data["servers"] == []
                status, answer = ask(server.url, "/api/ai/retry", app.config["geolocator.token"])
                if config is off:
                    assert status == 409 and "turned off" in answer["error"]
                else:  # due now, for the service's worker once it runs
                    assert status == 200 and answer["resumed"] == 1 and store.get(record(1).id).retry_at is None
            finally:
                server.stop()
