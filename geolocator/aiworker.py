"""The AI queue: one worker asks the vision model about `pending` records, apart from ingest.

Photos without GPS are moved and recorded at once (status `pending`); this worker places them
later, so photos with GPS never wait behind the model and ingest never blocks on Ollama.

While Ollama cannot answer (`AIUnavailable`, `ModelMissing`) a record stays `pending` with the
reason, `attempts` + 1 and `retry_at` = now + backoff (doubling, capped at 30 min); the worker
itself pauses for the same backoff so an outage costs one failed request per pause, not one
per photo. Meanwhile it probes Ollama cheaply every PROBE_SECONDS (`AILocator.probe`,
GET /api/version): when a probe that failed succeeds again (Ollama is back), the pause ends and
the records waiting for Ollama are due again, within a minute rather than after a backoff of up
to 30 min. A server that answers the probe but fails the requests keeps its backoff. Updates are
read-modify-write through `Store.update`, so a record a person placed
by hand meanwhile (`source = manual`) or that is no longer pending is never overwritten.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from geolocator.errors import AIUnavailable, ModelMissing, UnreadableImage
from geolocator.record import AIEstimate, PhotoRecord, Source, Status
from geolocator.store import Store, utc_now

log = logging.getLogger(__name__)

PROBE_SECONDS = 30.0
UNAVAILABLE = "AI unavailable, will retry: "  # how the error of a record waiting for Ollama begins


@dataclass(frozen=True)
class Backoff:
    base: float = 30.0  # seconds before the first retry
    cap: float = 1800.0  # never wait longer than this

    def delay(self, attempts: int) -> float:
        return min(self.cap, self.base * 2.0 ** max(0, attempts - 1))


def iso_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def apply_estimate(current: PhotoRecord | None, estimate: AIEstimate) -> PhotoRecord | None:
    """The record updated with the model's answer; None when it must not change."""
    if current is None or current.status is not Status.PENDING or current.source is Source.MANUAL:
        return None
    answered = dataclasses.replace(
        current,
        confidence=estimate.confidence,
        radius_km=estimate.radius_km,
        description=estimate.description,
        model=estimate.model,
        prompt_version=estimate.prompt_version,
        ai_raw=estimate.raw_answer,
        ai_decisions=estimate.decisions,
        attempts=current.attempts + 1,
        retry_at=None,
    )
    if estimate.has_location:
        return dataclasses.replace(answered, status=Status.LOCATED, source=Source.AI, lat=estimate.lat, lon=estimate.lon, place=estimate.place, error=None)
    return dataclasses.replace(answered, status=Status.UNLOCATED, error="the AI could not tell where this was taken")


def apply_unavailable(current: PhotoRecord | None, reason: str, backoff: Backoff) -> PhotoRecord | None:
    return apply_retry(current, f"{UNAVAILABLE}{reason}", backoff)


def waits_for_ollama(record: PhotoRecord) -> bool:
    """Pending with a retry time because Ollama could not answer (not for a failure of its own)."""
    return record.status is Status.PENDING and record.source is not Source.MANUAL and record.retry_at is not None and (record.error or "").startswith(UNAVAILABLE)


def apply_resume(current: PhotoRecord | None) -> PhotoRecord | None:
    """Due now, Ollama being back; None when the record does not wait for Ollama."""
    if current is None or not waits_for_ollama(current):
        return None
    return dataclasses.replace(current, retry_at=None)


def apply_retry(current: PhotoRecord | None, error: str, backoff: Backoff) -> PhotoRecord | None:
    """Still pending, with the reason, asked again after this record's own backoff."""
    if current is None or current.status is not Status.PENDING or current.source is Source.MANUAL:
        return None
    attempts = current.attempts + 1
    return dataclasses.replace(current, attempts=attempts, retry_at=iso_in(backoff.delay(attempts)), error=error)


def apply_unreadable(current: PhotoRecord | None, reason: str) -> PhotoRecord | None:
    if current is None or current.status is not Status.PENDING or current.source is Source.MANUAL:
        return None
    return dataclasses.replace(current, status=Status.UNLOCATED, attempts=current.attempts + 1, retry_at=None, error=f"the AI could not read the image: {reason}")


def due(records: list[PhotoRecord], now_iso: str) -> list[PhotoRecord]:
    """Pending records whose file is in place and whose retry time has come, oldest first."""
    ready = [r for r in records if r.status is Status.PENDING and not r.moving_from and r.source is not Source.MANUAL and (r.retry_at is None or r.retry_at <= now_iso)]
    return sorted(ready, key=lambda r: (r.retry_at or "", r.added_at))


class AIWorker:
    def __init__(
        self,
        store: Store,
        locate: Callable[[Path], AIEstimate],
        file_of: Callable[[PhotoRecord], Path | None],
        backoff: Backoff = Backoff(),
        *,
        probe: Callable[[], object] | None = None,
        probe_seconds: float = PROBE_SECONDS,
        on_stored: Callable[[PhotoRecord], None] | None = None,
    ) -> None:
        """`probe` raises AIUnavailable while Ollama cannot be reached (e.g. `AILocator.probe`);
        `on_stored` is told each record the model's answer was stored in (its sidecar)."""
        self._on_stored = on_stored
        self.store = store
        self._locate = locate
        self._file_of = file_of
        self.backoff = backoff
        self._probe = probe
        self._probe_seconds = probe_seconds
        self._next_probe = 0.0  # monotonic
        self._seen_down = True  # at start, records waiting from an earlier run get one probe's chance
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._failures = 0  # consecutive "try later" answers
        self._paused_until = 0.0  # monotonic: no request before this (Ollama was unavailable)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # A daemon thread: a model answer can take minutes; stopping does not wait for it.
        self._thread = threading.Thread(target=self._run, name="ai-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def retry_now(self) -> None:
        """A person asked for a photo now ('Retry now'): the pause since Ollama failed ends."""
        self._paused_until = 0.0
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.info("leaving an AI request unanswered; the photo stays pending")

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                pause = self._step()
            except Exception:
                log.exception("AI worker error")
                pause = self.backoff.base
            if pause:
                self._wake.wait(pause)
                self._wake.clear()

    def step(self) -> float:
        """One step of the worker's loop, for `scan` to drive it without the thread."""
        return self._step()

    def _step(self) -> float:
        """Ask about one due record; returns how long to wait before the next (0: go on)."""
        now = time.monotonic()
        if self._paused_until > now and not self._ollama_back(now):
            # New photos wake us, but must not end the backoff early; only a probe can.
            until = min(self._paused_until, self._next_probe) if self._probe else self._paused_until
            return max(0.05, until - now)
        pending = self.store.with_status(Status.PENDING)
        ready = due(pending, utc_now())
        waiting = any(waits_for_ollama(r) for r in pending)
        if not ready and waiting and self._ollama_back(now):
            pending = self.store.with_status(Status.PENDING)
            ready = due(pending, utc_now())
        if not ready:
            upcoming = [r.retry_at for r in pending if r.retry_at]
            if not upcoming:
                return 60.0
            wait = (datetime.fromisoformat(min(upcoming)) - datetime.now(UTC)).total_seconds()
            if waiting and self._probe:
                wait = min(wait, self._next_probe - now)
            return min(60.0, max(0.05, wait))
        record = ready[0]
        path = self._file_of(record)
        if path is None:
            return 0.0
        try:
            estimate = self._locate(path)
        except ModelMissing as exc:
            return self._unavailable(record, exc, error=True)
        except AIUnavailable as exc:
            return self._unavailable(record, exc, error=False)
        except (UnreadableImage, FileNotFoundError) as exc:
            if not self._stopping.is_set():
                reason = str(exc)
                self.store.update(record.id, lambda cur: apply_unreadable(cur, reason))
            return 0.0
        except Exception as exc:  # a bug on this photo: back it off alone, the queue goes on
            log.exception("AI estimate of %s failed unexpectedly", record.name)
            reason = f"internal error, will retry: {type(exc).__name__}: {exc}"[:300]
            self.store.update(record.id, lambda cur: apply_retry(cur, reason, self.backoff))
            return 0.0
        self._failures = 0
        if self._stopping.is_set():
            return 0.0  # the store may be closing: the record stays pending for next time
        stored = self.store.update(record.id, lambda cur: apply_estimate(cur, estimate))
        if stored is not None:
            log.info("%s: %s by the AI (%s)", record.name, stored.status.value, stored.place or "no place")
            if self._on_stored is not None:
                self._on_stored(stored)
        return 0.0

    def _ollama_back(self, now: float) -> bool:
        """Probe Ollama if it is time; True when it answers after having failed (the pause is over
        and the records waiting for it are due again)."""
        if self._probe is None or now < self._next_probe or self._stopping.is_set():
            return False
        self._next_probe = now + self._probe_seconds
        try:
            self._probe()
        except AIUnavailable as exc:
            log.debug("Ollama probe: %s", exc)
            self._seen_down = True
            return False
        if not self._seen_down:
            return False  # it answers the probe but failed the request: keep the backoff
        self._seen_down = False
        self._paused_until = 0.0
        self._failures = 0
        resumed = [r for r in self.store.with_status(Status.PENDING) if waits_for_ollama(r)]
        for record in resumed:
            self.store.update(record.id, apply_resume)
        log.info("Ollama answers again: %d pending photos resume", len(resumed))
        return True

    def _unavailable(self, record: PhotoRecord, exc: Exception, error: bool) -> float:
        self._failures += 1
        # Probe at once: if Ollama is unreachable, a later probe that succeeds means it is back; if it
        # answers, the request failed for another reason (busy, failing) and the backoff stands.
        self._seen_down = False
        self._next_probe = time.monotonic()
        (log.error if error or self._failures == 1 else log.warning)("AI unavailable (%d pending photos wait): %s", len(self.store.with_status(Status.PENDING)), exc)
        if not self._stopping.is_set():
            self.store.update(record.id, lambda cur: apply_unavailable(cur, str(exc), self.backoff))
        delay = self.backoff.delay(self._failures)
        self._paused_until = time.monotonic() + delay
        return 0.0 if self._probe else delay

