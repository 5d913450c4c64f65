"""A hostile or broken Ollama against the real client: peak memory and time of the process asking.

    .venv/bin/python bench/ai_hostile.py [--timeout 5] [--drip-interval 1] [--huge-mb 800]

For each trick of tests/fake_ollama.py (an endless streamed answer, one answer of --huge-mb MB,
a body or headers dripping a byte every --drip-interval s, a redirect) a fresh Python process
checks the server, then asks about one photo: its peak RSS above what it had after the check
(resource.getrusage), its wall time, the error it got, and how much the server managed to send.
Target: every trick ends as AIUnavailable within timeout + 1 s, with the peak below +32 MB.
Exit 1 when one misses it.

`--measure URL` is the child: one estimate against URL, one JSON line on stdout (the tests use it).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

RSS_BUDGET_KB = 32 * 1024


def measure(url: str, timeout: float) -> dict[str, object]:
    """One estimate of a small photo against `url`, measured in this process."""
    from PIL import Image

    from geolocator.config import OllamaConfig
    from geolocator.errors import AIUnavailable
    from geolocator.locate.ai import AILocator

    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo.jpg"
        Image.new("RGB", (640, 480), (90, 140, 200)).save(photo)
        locator = AILocator(OllamaConfig(enabled=True, host=url, model="qwen2.5vl", timeout=timeout, max_image_px=1344))
        locator.check()  # imports and the first request done: what follows is the answer's cost
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        error: str | None = None
        try:
            locator.estimate(photo)
        except AIUnavailable as exc:
            error = f"{type(exc).__name__}: {exc}"
        seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"error": error, "seconds": round(seconds, 3), "baseline_kb": baseline, "peak_kb": peak, "growth_kb": peak - baseline}


def run_child(url: str, timeout: float) -> dict[str, object]:
    """`measure` in a fresh process (so its peak RSS is its own)."""
    done = subprocess.run(
        [sys.executable, __file__, "--measure", url, "--timeout", str(timeout)], capture_output=True, text=True, timeout=timeout + 60, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--timeout", type=float, default=5.0, help="[ollama] timeout, seconds")
    parser.add_argument("--drip-interval", type=float, default=1.0)
    parser.add_argument("--huge-mb", type=int, default=800)
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.timeout)))
        return 0

    from fake_ollama import FakeOllama, Trick

    ok = True
    print(f"{'trick':<14} {'seconds':>8} {'RSS +MB':>8} {'served MB':>10}  error")
    with FakeOllama() as fake, FakeOllama() as elsewhere:
        tricks = [
            (Trick.ENDLESS, {}),
            (Trick.HUGE, {"size": args.huge_mb << 20}),
            (Trick.DRIP, {"interval": args.drip_interval}),
            (Trick.DRIP_HEADERS, {"interval": args.drip_interval}),
            (Trick.REDIRECT, {"location": f"{elsewhere.url}/api/chat"}),
        ]
        for trick, params in tricks:
            fake.misbehave(trick, **params)
            result = run_child(fake.url, args.timeout)
            fake.misbehave(None)
            served = fake.tricks_played[-1].sent[0] / 2**20
            growth = int(str(result["growth_kb"]))
            met = result["error"] is not None and float(str(result["seconds"])) <= args.timeout + 1 and growth < RSS_BUDGET_KB
            ok = ok and met
            print(f"{trick.value:<14} {result['seconds']:>8} {growth / 1024:>8.1f} {served:>10.2f}  {result['error']}")
        ok = ok and not elsewhere.requests
        print(f"\nthe redirect's target received {len(elsewhere.requests)} requests")
    print(f"target (AIUnavailable within {args.timeout:g} + 1 s, RSS growth < {RSS_BUDGET_KB // 1024} MB): {'MET' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
