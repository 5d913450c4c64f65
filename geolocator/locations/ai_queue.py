"""The AI queue: worker threads ask the vision model about `pending` records, apart from ingest.

Photos without GPS are moved and recorded at once (status `pending`); this worker places them
later, so photos with GPS never wait behind the model and ingest never blocks on Ollama.

It may share the queue among several Ollama servers ([ollama] host as a list): `per_host` threads
per server, each photo asked of a free server (`ai.hosts.HostPool` decides which). A server that
cannot answer (`AIUnavailable`, `ModelMissing`) is paused alone for a backoff (doubling, capped at
30 min) while the others go on, and the photo is left for them. Only when every server is paused
does the record stay `pending` with the reason, `attempts` + 1 and `retry_at` = now + its own
backoff, so an outage costs one failed request per pause, not one per photo. Meanwhile each paused
server is probed cheaply every PROBE_SECONDS (`AILocator.probe`, GET /api/version): when a probe
that failed succeeds again (the server is back), its pause ends and the records waiting for Ollama
are due again, within a minute rather than after a backoff of up to 30 min. A server that answers
the probe but fails the requests keeps its backoff. Updates are read-modify-write through
`Store.update`, so a record a person placed by hand meanwhile (`source = manual`) or that is no
longer pending is never overwritten. The threads wait on a condition: new photos, a finished request
or probe, or the next pause's end wake them; nothing polls.

`state()` tells what each server is doing (for the map page's header): ready, asking, down since
when, its model missing, or busy or failing, with the reason of the last failure.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeGuard

from geolocator.config import OllamaConfig
from geolocator.errors import AIUnavailable, ModelMissing, OllamaUnreachable, UnreadableImage
from geolocator.locate.ai.hosts import Host, HostPool
from geolocator.locations.changes import Locations
from geolocator.record import AIEstimate, PhotoRecord, Status
from geolocator.record.store import Store, utc_now

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


def _awaits_model(current: PhotoRecord | None) -> TypeGuard[PhotoRecord]:
    """The record is still there and pending: its waiting is the worker's to keep."""
    return current is not None and current.status is Status.PENDING


def apply_unavailable(current: PhotoRecord | None, reason: str, backoff: Backoff) -> PhotoRecord | None:
    return apply_retry(current, f"{UNAVAILABLE}{reason}", backoff)


def waits_for_ollama(record: PhotoRecord) -> bool:
    """Pending with a retry time because Ollama could not answer (not for a failure of its own)."""
    return record.status is Status.PENDING and record.retry_at is not None and (record.error or "").startswith(UNAVAILABLE)


def apply_resume(current: PhotoRecord | None) -> PhotoRecord | None:
    """Due now, Ollama being back; None when the record does not wait for Ollama."""
    if current is None or not waits_for_ollama(current):
        return None
    return dataclasses.replace(current, retry_at=None)


def apply_retry(current: PhotoRecord | None, error: str, backoff: Backoff) -> PhotoRecord | None:
    """Still pending, with the reason, asked again after this record's own backoff."""
    if not _awaits_model(current):
        return None
    attempts = current.attempts + 1
    return dataclasses.replace(current, attempts=attempts, retry_at=iso_in(backoff.delay(attempts)), error=error)


def resume_waiting(store: Store) -> list[PhotoRecord]:
    """Every record waiting for Ollama made due now (Ollama is back, or a person asked to retry them all)."""
    waiting = [r.id for r in store.with_status(Status.PENDING) if waits_for_ollama(r)]
    return store.update_many(waiting, apply_resume) if waiting else []


def due(records: list[PhotoRecord], now_iso: str) -> list[PhotoRecord]:
    """Pending records whose file is in place and whose retry time has come, oldest first."""
    ready = [r for r in records if r.status is Status.PENDING and not r.moving_from and (r.retry_at is None or r.retry_at <= now_iso)]
    return sorted(ready, key=lambda r: (r.retry_at or "", r.added_at))


@dataclass(frozen=True)
class Server:
    """One Ollama server as the worker sees it. `locate` raises AIUnavailable (or ModelMissing) while it
    cannot answer; `probe` (cheap: GET /api/version) raises AIUnavailable while it cannot be reached."""

    locate: Callable[[Path], AIEstimate]
    probe: Callable[[], object] | None = None
    name: str = "Ollama"


def servers_for(config: OllamaConfig) -> list[Server]:
    """One Server per [ollama] host, each its own official client."""
    from geolocator.locate.ai import AILocator  # the ollama client is loaded only when the AI is used

    locators = [AILocator(config, host) for host in config.hosts]
    return [Server(locator.estimate, locator.probe, locator.host) for locator in locators]


class ServerState(enum.Enum):
    UNKNOWN = "unknown"  # not asked yet
    READY = "ready"  # answered its last request or probe
    ASKING = "asking"  # a photo is being asked about
    DOWN = "down"  # nothing answers at its address
    MODEL_MISSING = "model missing"  # the model is not installed there, or cannot see images
    FAILING = "busy or failing"  # it answers, but failed its last request (busy, timed out, HTTP 5xx)


@dataclass(frozen=True)
class Trouble:
    state: ServerState
    reason: str  # the last failure's message
    since: float  # time.time() of the first failure of this kind in a row


@dataclass(frozen=True)
class ServerStatus:
    """One server as `AIWorker.state` reports it."""

    name: str
    state: ServerState
    reason: str | None = None
    since: str | None = None  # ISO time the trouble began
    paused_for: float = 0.0  # seconds before it is asked again by itself


def trouble_of(exc: AIUnavailable) -> ServerState:
    if isinstance(exc, ModelMissing):
        return ServerState.MODEL_MISSING
    return ServerState.DOWN if isinstance(exc, OllamaUnreachable) else ServerState.FAILING


@dataclass(frozen=True)
class _Ask:
    host: Host
    record: PhotoRecord


@dataclass(frozen=True)
class _Probe:
    host: Host


class AIWorker:
    def __init__(
        self,
        locations: Locations,
        servers: Sequence[Server],
        file_of: Callable[[PhotoRecord], Path | None],
        backoff: Backoff = Backoff(),
        *,
        probe_seconds: float = PROBE_SECONDS,
        per_host: int = 1,
    ) -> None:
        """The `servers` share the queue (`servers_for(config)`); each takes up to `per_host` photos at
        once. The model's answers are stored through `locations` (`Locations.estimated`)."""
        self.locations = locations
        self.store = locations.store
        self._servers = tuple(servers)
        self._file_of = file_of
        self.backoff = backoff
        probes = all(server.probe is not None for server in self._servers)
        self._pool = HostPool([server.name for server in self._servers], per_host, backoff.delay, probe_seconds if probes else None)
        # Guards _pool, _asking and _generation, which counts the changes that may make a thread's look
        # at the store out of date (new photos, a record answered); the store is never read under it.
        self._changed = threading.Condition()
        self._generation = 0
        self._asking: set[str] = set()  # ids of the records being asked about
        self._trouble: dict[int, Trouble] = {}  # by server index: why it last failed, until it answers again
        self._answered: set[int] = set()  # servers that answered a request or a probe
        self._settled: Callable[[], object] | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        # Daemon threads: a model answer can take minutes; stopping does not wait for it.
        self._threads = self._spawn(draining=False)

    def drain(self, settled: Callable[[], object] | None = None) -> None:
        """Ask about every due record, on every server at once, until none is due or every server has
        failed (its records stay pending, with the reason); `settled` is called once per record answered
        or given up on (for `scan`: no probes, no waiting for a backoff to end)."""
        self._settled = settled
        for thread in self._spawn(draining=True):
            thread.join()

    def wake(self) -> None:
        with self._changed:
            self._notify()

    def retry_now(self) -> None:
        """A person asked for a photo now ('Retry now'): the pause of every server since it failed ends."""
        with self._changed:
            self._pool.end_pauses()
            self._notify()

    def state(self) -> list[ServerStatus]:
        """What each server is doing now, and since when it is in trouble."""
        now = time.monotonic()
        with self._changed:
            out = []
            for host in self._pool.hosts:
                name = self._servers[host.index].name
                trouble = self._trouble.get(host.index)
                paused_for = max(0.0, host.paused_until - now)
                if trouble is not None:
                    since = datetime.fromtimestamp(trouble.since, UTC).isoformat(timespec="seconds")
                    out.append(ServerStatus(name, trouble.state, trouble.reason, since, paused_for))
                elif host.in_flight:
                    out.append(ServerStatus(name, ServerState.ASKING))
                else:
                    out.append(ServerStatus(name, ServerState.READY if host.index in self._answered else ServerState.UNKNOWN))
            return out

    def _troubled(self, host: Host, exc: AIUnavailable) -> None:
        """Under the lock: `host` failed with `exc` (its trouble's start is kept while the kind stays)."""
        state = trouble_of(exc)
        before = self._trouble.get(host.index)
        since = before.since if before is not None and before.state is state else time.time()
        self._trouble[host.index] = Trouble(state, str(exc), since)

    def _answers(self, host: Host) -> None:
        """Under the lock: `host` answered: its trouble is over."""
        self._trouble.pop(host.index, None)
        self._answered.add(host.index)

    def _notify(self) -> None:
        """Under the lock: tell the threads to look again."""
        self._generation += 1
        self._changed.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.wake()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            log.info("leaving an AI request unanswered; the photo stays pending")

    def _spawn(self, draining: bool) -> list[threading.Thread]:
        count = len(self._servers) * self._pool.per_host
        threads = [threading.Thread(target=self._serve, args=(draining,), name=f"ai-worker-{n + 1}", daemon=True) for n in range(count)]
        for thread in threads:
            thread.start()
        return threads

    def _serve(self, draining: bool) -> None:
        """One of the worker's threads: take the next request or probe, make it, until stopped (or,
        draining, until nothing is left to do)."""
        while not self._stopping.is_set():
            try:
                with self._changed:
                    generation = self._generation
                pending = self.store.with_status(Status.PENDING)
                with self._changed:
                    if generation != self._generation:
                        continue  # something changed while the store was read: read it again
                    work = self._claim(time.monotonic(), pending, draining)
                    if work is None:
                        self._notify()  # the other threads see it too
                        return
                    if isinstance(work, float):
                        self._changed.wait(work)
                        continue
                match work:
                    case _Ask(host, record):
                        self._ask(host, record)
                    case _Probe(host):
                        self._probe(host)
            except Exception:
                log.exception("AI worker error")
                if draining:
                    return
                self._stopping.wait(self.backoff.base)

    def _claim(self, now: float, pending: list[PhotoRecord], draining: bool) -> _Ask | _Probe | float | None:
        """Under the lock: the next request or probe to make, or how long to wait before looking again;
        None when draining and nothing is left to do."""
        ready = [r for r in due(pending, utc_now()) if r.id not in self._asking]
        waiting = not ready and any(waits_for_ollama(r) for r in pending)
        probe = None if draining else self._pool.probe_due(now, waiting)
        if probe is not None:
            return _Probe(probe)
        host = self._pool.pick(now) if ready else None
        if host is not None:
            self._asking.add(ready[0].id)
            return _Ask(host, ready[0])
        if draining:
            return None if self._pool.in_flight == 0 else 60.0  # a request under way notifies when it ends
        waits = [60.0]
        change = self._pool.next_change(now, waiting)
        if change is not None:
            waits.append(change)
        upcoming = [r.retry_at for r in pending if r.retry_at and r.id not in self._asking]
        if upcoming:
            waits.append((datetime.fromisoformat(min(upcoming)) - datetime.now(UTC)).total_seconds())
        return max(0.05, min(waits))

    def _ask(self, host: Host, record: PhotoRecord) -> None:
        """Ask `host` about `record` and store the answer; the record is free for the others after."""
        try:
            self._answer(host, record)
        finally:
            with self._changed:
                self._pool.release(host)
                self._asking.discard(record.id)
                self._notify()

    def _answer(self, host: Host, record: PhotoRecord) -> None:
        path = self._file_of(record)
        try:
            if path is None:
                raise FileNotFoundError("the record names no file")
            estimate = self._servers[host.index].locate(path)
        except AIUnavailable as exc:  # ModelMissing too
            self._unavailable(host, record, exc)
            return
        except (UnreadableImage, FileNotFoundError) as exc:
            if not self._stopping.is_set():
                self._settle(self.locations.unreadable(record, str(exc)))
            return
        except Exception as exc:  # a bug on this photo: back it off alone, the queue goes on
            log.exception("AI estimate of %s failed unexpectedly", record.name)
            reason = f"internal error, will retry: {type(exc).__name__}: {exc}"[:300]
            self._store(record, lambda cur: apply_retry(cur, reason, self.backoff))
            return
        with self._changed:
            self._pool.succeeded(host)
            self._answers(host)
        if self._stopping.is_set():
            return  # the store may be closing: the record stays pending for next time
        stored = self._settle(self.locations.estimated(record, estimate))
        if stored is not None:
            log.info("%s: %s by the AI (%s)", record.name, stored.status.value, stored.place or "no place")

    def _store(self, record: PhotoRecord, change: Callable[[PhotoRecord | None], PhotoRecord | None]) -> PhotoRecord | None:
        """A change of the record's waiting (attempts, retry time), not of its location."""
        return self._settle(self.store.update(record.id, change))

    def _settle(self, stored: PhotoRecord | None) -> PhotoRecord | None:
        """Tell `drain`'s caller that one record was answered or given up on."""
        if self._settled is not None:
            with self._changed:  # one thread at a time
                self._settled()
        return stored

    def _unavailable(self, host: Host, record: PhotoRecord, exc: AIUnavailable) -> None:
        """Back `host` off alone. While another server can take requests the record is left due for
        it; when none can, the record waits with the reason and its own backoff."""
        with self._changed:
            pause = self._pool.failed(host, time.monotonic())
            self._troubled(host, exc)
            alone = not self._pool.all_paused(time.monotonic())
            failures = host.failures
        waiting = len(self.store.with_status(Status.PENDING))
        level = log.error if isinstance(exc, ModelMissing) or failures == 1 else log.warning  # a missing model needs a person
        if alone:
            level("%s backed off for %.0f s, the other servers go on (%d pending photos): %s", self._servers[host.index].name, pause, waiting, exc)
            return
        level("AI unavailable (%d pending photos wait): %s", waiting, exc)
        if not self._stopping.is_set():
            self._store(record, lambda cur: apply_unavailable(cur, str(exc), self.backoff))

    def _probe(self, host: Host) -> None:
        probe = self._servers[host.index].probe
        answered = back = False
        failure: AIUnavailable | None = None
        try:
            if probe is not None:
                probe()
                answered = True
        except AIUnavailable as exc:
            log.debug("Ollama probe: %s", exc)
            failure = exc
        finally:
            with self._changed:
                back = self._pool.probed(host, answered)
                if failure is not None:
                    self._troubled(host, failure)
                elif back or (answered and host.index not in self._trouble):
                    self._answers(host)  # back, or up all along (a probe while photos wait)
                self._notify()
        if back and not self._stopping.is_set():
            self._resume(host)

    def _resume(self, host: Host) -> None:
        """`host` answers again after an outage: the records waiting for Ollama are due now."""
        resumed = resume_waiting(self.store)
        log.info("Ollama answers again (%s): %d pending photos resume", self._servers[host.index].name, len(resumed))
        self.wake()
