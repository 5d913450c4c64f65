"""`daemon.py scan`: process what is in the inbox now, ask the AI about what it placed pending,
print one summary line, and exit (1 when some file failed or had to stay in the inbox).

Files go through the pipeline in groups of `GROUP` (`Pipeline.process_each`: all read and
located, all their intents written with one fsync, then all moved). One file that cannot be
processed (whatever the reason, a bug included) is logged and counted as left in the inbox;
every other file is still processed.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from geolocator.config import Config
from geolocator.folders import Folders
from geolocator.locations.ai_queue import AIWorker, Backoff, servers_for
from geolocator.locations.sidecar import Sidecars
from geolocator.pipeline import Pipeline
from geolocator.record import PhotoRecord, Status
from geolocator.record.store import Store
from geolocator.service import own_files, summary
from geolocator.watch.watcher import iter_inbox

LEFT = "left"  # the count of files that stayed in the inbox
GROUP = 64  # files read and located together, then recorded with one fsync before they move
CLEAR_EVERY = 256  # files whose finished moves are made durable and their intents cleared together


def main(config: Config) -> int:
    folders = Folders.from_config(config)
    folders.create()
    counts: Counter[str] = Counter()
    tty = sys.stderr.isatty()
    with Store(config.paths.database) as store:
        pipeline = Pipeline(store, config)
        pipeline.recover()
        files = list(iter_inbox(folders.inbox, config.watch.ignore, config.watch.recursive, own_files(config)))
        pending: list[PhotoRecord] = []
        since_flush = 0
        with _progress(len(files), "scan", tty) as advance:
            for start in range(0, len(files), GROUP):
                group = files[start : start + GROUP]
                for path, record in _process_group(pipeline, group, config.watch.settle_seconds):
                    if record is not None:
                        counts[record.status.value] += 1
                        if record.status is Status.PENDING:
                            pending.append(record)
                    elif os.path.lexists(path):  # could not be processed now (logged): say so, exit 1
                        counts[LEFT] += 1
                advance(len(group))
                since_flush += len(group)
                if since_flush >= CLEAR_EVERY:  # a crash before it leaves them for the next start to clear
                    pipeline.flush()
                    since_flush = 0
        pipeline.flush()
        if pending and config.ollama.enabled:
            _ask_ai(store, folders, config, len(pending), tty)
            for record in pending:
                now = store.get(record.id)
                if now is not None and now.status is not Status.PENDING:
                    counts[Status.PENDING.value] -= 1
                    counts[now.status.value] += 1
    left = f", {counts[LEFT]} left in the inbox (see the log)" if counts[LEFT] else ""
    print(f"scan: {summary(counts)}{left}", flush=True)
    return 1 if counts[Status.FAILED.value] or counts[LEFT] else 0


@contextmanager
def _progress(total: int, desc: str, tty: bool) -> Iterator[Callable[[int], object]]:
    """A progress bar on a terminal; elsewhere nothing, and tqdm (with the multiprocessing lock
    it makes) is not even imported: a scan from cron or systemd starts sooner."""
    if not tty:
        yield lambda done: None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit="photo", leave=False) as bar:
        yield bar.update


def _process_group(pipeline: Pipeline, paths: list[Path], settle: float) -> list[tuple[Path, PhotoRecord | None]]:
    """A group of files through `Pipeline.process_each` (their intents written with one fsync;
    each file alone should the group fail unexpectedly), each with its record or None. A file
    that may still be changing gets its second go alone, once settled."""
    ready = [path for path in paths if _wait_settled(path, settle)]
    return [(o.source, o.record if o.waiting is None else _second_go(pipeline, o.source, settle)) for o in pipeline.process_each(ready)]


def _second_go(pipeline: Pipeline, path: Path, settle: float) -> PhotoRecord | None:
    """A young, unreadable file once it has settled; None when it is still not ready (or a bug
    on it was logged): the scan goes on."""
    if not _wait_settled(path, settle):
        return None
    outcome = pipeline.process_alone(path)
    return outcome.record if outcome.waiting is None else None


def _wait_settled(path: Path, settle: float) -> bool:
    """Wait until the file has not been modified for `settle` seconds; False if it vanished."""
    while True:
        try:
            age = time.time() - path.lstat().st_mtime
        except FileNotFoundError:
            return False
        if age >= settle:
            return True
        time.sleep(min(settle - age, 0.5))


def _ask_ai(store: Store, folders: Folders, config: Config, pending: int, tty: bool) -> None:
    """The AI worker's own threads (per_host for each [ollama] host), until nothing is due or every
    server failed (its records stay pending, with the reason, for the service to retry)."""
    from tqdm import tqdm

    sidecars = Sidecars.for_config(store, config, folders)
    worker = AIWorker(store, servers_for(config.ollama), folders.file_of, Backoff(), per_host=config.ollama.per_host, on_stored=lambda record: sidecars.sync([record]))
    with tqdm(total=pending, desc="AI", unit="photo", disable=not tty, leave=False) as bar:
        worker.drain(bar.update)
