"""Shared fixtures: the corpus, and a guard against threads a test leaves running."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_ollama import FakeOllama

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
TRUTH_FILE = CORPUS / "exif-samples.truth.json"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not TRUTH_FILE.exists():
        pytest.fail(f"the sample corpus is missing: expected {TRUTH_FILE}")
    return CORPUS


@pytest.fixture(scope="session")
def truth(corpus: Path) -> list[dict]:
    """exiftool's reading of every file in the corpus it recognises."""
    return json.loads(TRUTH_FILE.read_text())


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves threads running (an observer, a worker, a server not stopped)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"test leaked threads: {[t.name for t in leaked]}"


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A running FakeOllama (tests/fake_ollama.py) with 'qwen2.5vl' installed (vision); stopped after the test."""
    with FakeOllama() as fake:
        yield fake
