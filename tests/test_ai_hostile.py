"""A hostile or broken Ollama: every request ends, in bounded time and memory, as a clear AIUnavailable.

The fake server (tests/fake_ollama.py) plays the trick for real over HTTP; the client is the real
`ollama` client in a fresh process (bench/ai_hostile.py --measure), whose peak RSS and wall time
are measured there with resource.getrusage and time.monotonic.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_ollama import FakeOllama, Trick

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 2.0  # [ollama] timeout in the child: the deadline of the whole request
RSS_GROWTH_KB = 32 * 1024  # before the fix: 3.4 GB for an 800 MB answer, 19 GB for an endless one


def ask(url: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "ai_hostile.py"), "--measure", url, "--timeout", str(TIMEOUT)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("trick", [Trick.ENDLESS, Trick.HUGE])
def test_an_endless_or_800_mb_answer_is_cut_at_the_cap(trick: Trick) -> None:
    with FakeOllama() as fake:
        fake.misbehave(trick, size=800 << 20)
        result = ask(fake.url)
        served = fake.tricks_played[-1].sent[0]
    assert result["error"] and "AIUnavailable" in result["error"] and "sent more than 512 KB in one answer; reading stopped there" in result["error"]
    assert result["growth_kb"] < RSS_GROWTH_KB, result
    assert result["seconds"] < TIMEOUT, result  # the cap ends it, not the deadline
    assert served < 64 << 20  # the client stopped reading: the server could not push the 800 MB


@pytest.mark.parametrize("trick", [Trick.DRIP, Trick.DRIP_HEADERS])
def test_a_byte_a_second_drip_ends_at_the_deadline_of_the_whole_request(trick: Trick) -> None:
    # Each byte arrives well within the per-read timeout (0.25 s < 2 s): only a deadline on the whole
    # request ends it. The answer is ~700 bytes: ~3 minutes at this pace.
    with FakeOllama() as fake:
        fake.misbehave(trick, interval=0.25)
        result = ask(fake.url)
        dripped = fake.tricks_played[-1].sent[0]
    assert result["error"] and f"did not answer within {TIMEOUT:g} s: try later" in result["error"]
    assert TIMEOUT - 0.1 <= result["seconds"] < TIMEOUT + 1.0, result
    assert dripped >= 3  # it really was dripping when the deadline came
    assert result["growth_kb"] < RSS_GROWTH_KB, result


def test_a_redirect_is_refused_and_never_followed() -> None:
    with FakeOllama() as fake, FakeOllama() as elsewhere:
        fake.misbehave(Trick.REDIRECT, location=f"{elsewhere.url}/api/chat")
        result = ask(fake.url)
        assert elsewhere.requests == []
    assert result["error"] and f"answered with a redirect (HTTP 307 to {elsewhere.url}/api/chat), which is not followed" in result["error"]
    assert "set [ollama] host" in result["error"]


def test_the_check_is_bounded_too(tmp_path: Path) -> None:
    # /api/show answering endlessly: `check` (and so `daemon.py check`) ends with the reason.
    from geolocator.config import OllamaConfig
    from geolocator.errors import AIUnavailable
    from geolocator.locate.ai import AILocator

    with FakeOllama() as fake:
        fake.misbehave(Trick.ENDLESS, path="/api/show")
        locator = AILocator(OllamaConfig(enabled=True, host=fake.url, model="qwen2.5vl", timeout=TIMEOUT, max_image_px=1344))
        with pytest.raises(AIUnavailable, match="sent more than 512 KB"):
            locator.check()
        fake.misbehave(None)
        assert "qwen2.5vl" in locator.check()  # and the same locator works once the server behaves
