"""Photos per minute with 1, 2 and 4 Ollama servers that each answer in a fixed time.

    .venv/bin/python bench/ai_hosts.py [--photos 40] [--answer-seconds 0.5] [--servers 1,2,4] [--per-host 1]

For each count, that many HTTP servers speaking Ollama's API (tests/fake_ollama.py, every chat
answer held --answer-seconds, as a model's fixed time) serve the real AI worker, as the service
runs it ([ollama] host = the list, per_host), through the real `ollama` client: --photos real
JPEGs (640x480, each different), recorded pending in a real TinyDB store, are each prepared, sent
and answered, and the time from start until the last answer is stored is measured (the worker
tells each stored answer through `on_stored`: no polling). Prints photos per minute, the ideal
(servers x per_host x 60 / answer-seconds) and the speed-up over the first count.
Target: every speed-up at least 0.85 x the ideal ratio (close to linear). Exit 1 when missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

EFFICIENCY = 0.85  # of linear, at least


def run(servers: int, per_host: int, photos: int, answer_seconds: float) -> float:
    """Seconds for the real worker to place `photos` photos with `servers` fake servers."""
    from fake_ollama import FakeOllama
    from PIL import Image

    from geolocator.config import OllamaConfig, build_config
    from geolocator.core import Core
    from geolocator.locations.ai_queue import AIWorker, Backoff, servers_for
    from geolocator.record import PhotoRecord, Status
    from geolocator.record.events import Event, Sent
    from geolocator.record.store import Store

    with ExitStack() as stack:
        fakes = [stack.enter_context(FakeOllama()) for _ in range(servers)]
        for fake in fakes:
            fake.hang(answer_seconds, path="/api/chat")
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ai-hosts-")))
        records = []
        for n in range(photos):
            Image.new("RGB", (640, 480), (n * 5 % 256, 120, 200)).save(folder / f"{n}.jpg")
            records.append(PhotoRecord(id=f"{n:016x}", sha256=f"{n:064x}", name=f"{n}.jpg", path=f"{n}.jpg", status=Status.PENDING, added_at=f"2024-01-01T00:{n // 60:02d}:{n % 60:02d}"))
        store = stack.enter_context(Store(folder / "db.json"))
        store.put_many(records)
        config = OllamaConfig(enabled=True, host=tuple(f.url for f in fakes), model="qwen2.5vl", timeout=30.0, max_image_px=1344, per_host=per_host)
        stored = 0
        done = threading.Event()
        lock = threading.Lock()

        def on_stored(sent: Sent) -> None:
            nonlocal stored
            with lock:
                stored += len(sent.records)
                if stored == photos:
                    done.set()

        core = Core.build(build_config({"library": {"sidecars": False}}, folder, None), store)
        core.events.subscribe(Event.LOCATION_CHANGED, "counting answers", on_stored)
        worker = AIWorker(core.locations, servers_for(config), lambda r: folder / r.path, Backoff(), per_host=per_host)
        started = time.monotonic()
        worker.start()
        try:
            if not done.wait(photos * answer_seconds + 120):
                raise SystemExit(f"{servers} servers: only {stored} of {photos} photos placed in time")
            seconds = time.monotonic() - started
        finally:
            worker.stop()
        if sum(len(f.chat_requests) for f in fakes) != photos or any(r.status is not Status.LOCATED for r in store.all()):
            raise SystemExit(f"{servers} servers: a photo was asked twice or not placed")
        return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--answer-seconds", type=float, default=0.5, help="each server's time per answer")
    parser.add_argument("--servers", default="1,2,4", help="server counts, comma-separated")
    parser.add_argument("--per-host", type=int, default=1, help="[ollama] per_host")
    args = parser.parse_args()
    counts = [int(c) for c in args.servers.split(",")]
    from geolocator.locate.places import gazetteer

    # Open the place names first, as a running service has them: on a new machine the first use
    # builds their index (seconds), which the first count alone would otherwise pay for.
    gazetteer()

    ok = True
    base: tuple[int, float] | None = None
    print(f"{args.photos} photos, each server answering in {args.answer_seconds:g} s, per_host = {args.per_host}")
    print(f"{'servers':>7} {'seconds':>8} {'photos/min':>11} {'ideal':>7} {'speed-up':>9}")
    for servers in counts:
        seconds = run(servers, args.per_host, args.photos, args.answer_seconds)
        rate = args.photos / seconds * 60
        ideal = servers * args.per_host * 60 / args.answer_seconds
        base = base or (servers, rate)
        speedup = rate / base[1]
        linear = servers / base[0]
        ok = ok and speedup >= EFFICIENCY * linear
        print(f"{servers:>7} {seconds:>8.2f} {rate:>11.1f} {ideal:>7.0f} {speedup:>8.2f}x")
    print(f"target (speed-up at least {EFFICIENCY:g} x linear): {'MET' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
