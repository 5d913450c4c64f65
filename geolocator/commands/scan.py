"""`daemon.py scan`: process what is in the inbox now, ask the AI about what it placed pending,
print a summary, and exit (1 when some file failed or had to stay in the inbox).

Files go through the pipeline in groups of `GROUP` (`Pipeline.process_each`: all read and
located, all their intents written with one fsync, then all moved). One file that cannot be
processed (whatever the reason, a bug included) is logged and counted as left in the inbox;
every other file is still processed. The summary names the files left and why, one line each
(the first `LEFT_SHOWN`, then how many more).

Once every file is filed, the pictures of the photos filed with GPS of their own are hashed and
compared (`[location] copies`: `Locations.compare_filed`), so their copies filed before, in this
scan or earlier, are placed before it returns.

In place (`[library] move = false`) the archive's recorded files are looked at, not read: those
unchanged are skipped, those renamed within the tree followed, and those gone marked missing
(`geolocator.move.in_place`); the summary says how many of each.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from geolocator.config import Config
from geolocator.core import Core
from geolocator.folders import Folders
from geolocator.locations.ai_queue import AIWorker, Backoff, servers_for
from geolocator.move.in_place import Archive
from geolocator.pipeline import Pipeline
from geolocator.record import PhotoRecord, Status
from geolocator.service import own_files, summary
from geolocator.watch.watcher import iter_inbox, shown

log = logging.getLogger(__name__)

GROUP = 64  # files read and located together, then recorded with one fsync before they move
CLEAR_EVERY = 256  # files whose finished moves are made durable and their intents cleared together
LEFT_SHOWN = 10  # files left in the inbox named in the summary, each with why
UNKNOWN_WHY = "see the log"
IN_PLACE_COUNTS = (("unchanged", "unchanged"), ("renamed", "renamed or moved"), ("missing", "missing"))  # Archive.counts: label


def main(config: Config) -> int:
    folders = Folders.from_config(config)
    folders.create()
    counts: Counter[str] = Counter()
    left: list[tuple[Path, str]] = []  # files that stayed, and why
    tty = sys.stderr.isatty()
    with Core.open(config) as core:
        store = core.store
        pipeline = Pipeline(core)
        pipeline.recover()
        files = list(iter_inbox(folders.inbox, config.watch.ignore, config.watch.recursive, own_files(config)))
        if core.archive is not None:
            files = _to_read(core.archive, files)
        pending: list[PhotoRecord] = []
        since_flush = 0
        with _progress(len(files), "scan", tty) as advance:
            for start in range(0, len(files), GROUP):
                group = files[start : start + GROUP]
                for path, record, why in _process_group(pipeline, group, config.watch.settle_seconds):
                    if record is not None:
                        counts[record.status.value] += 1
                        if record.status is Status.PENDING:
                            pending.append(record)
                    elif os.path.lexists(path):  # could not be processed now: say so, exit 1
                        left.append((path, why or UNKNOWN_WHY))
                advance(len(group))
                since_flush += len(group)
                if since_flush >= CLEAR_EVERY:  # a crash before it leaves them for the next start to clear
                    pipeline.flush()
                    since_flush = 0
        pipeline.flush()
        _compare_filed(core)
        if core.archive is not None:
            core.archive.scan_ended()  # what was not seen and is gone: missing
            in_place = "; in place: " + ", ".join(f"{core.archive.counts[key]} {label}" for key, label in IN_PLACE_COUNTS)
        else:
            in_place = ""
        if pending and config.ollama.enabled:
            _ask_ai(core, len(pending), tty)
            for record in pending:
                now = store.get(record.id)
                if now is not None and now.status is not Status.PENDING:
                    counts[Status.PENDING.value] -= 1
                    counts[now.status.value] += 1
    print(f"scan: {summary(counts)}{in_place}{_left(left, folders.inbox)}", flush=True)
    return 1 if counts[Status.FAILED.value] or left else 0


def _compare_filed(core: Core) -> None:
    """The pictures of the photos filed with GPS of their own, hashed once all are filed (not
    while filing them: `Locations.compare_filed`), and their copies filed before placed."""
    began = time.monotonic()
    compared = core.locations.compare_filed()
    if compared:
        log.info("copies: the pictures of %d photo(s) filed hashed and compared in %.2f s", compared, time.monotonic() - began)


def _to_read(archive: Archive, files: list[Path]) -> list[Path]:
    """The files of an archive in place that must be read: not recorded as they are, nor renamed
    (whose records follow now, with one write)."""
    archive.scan_started()
    out = []
    for path in files:
        try:
            if archive.unchanged(path, path.lstat()):
                continue
        except OSError:
            pass  # the pipeline says what is wrong with it
        out.append(path)
    archive.flush()
    return out


def _left(left: list[tuple[Path, str]], inbox: Path) -> str:
    """The files that stayed in the inbox, each with why: the first `LEFT_SHOWN`, then how many more."""
    if not left:
        return ""
    lines = [f", {len(left)} left in the inbox:"]
    for path, why in left[:LEFT_SHOWN]:
        lines.append(f"  {shown(path.relative_to(inbox))}: {why}")
    if len(left) > LEFT_SHOWN:
        lines.append(f"  and {len(left) - LEFT_SHOWN} more")
    return "\n".join(lines)


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


def _process_group(pipeline: Pipeline, paths: list[Path], settle: float) -> list[tuple[Path, PhotoRecord | None, str | None]]:
    """A group of files through `Pipeline.process_each` (their intents written with one fsync;
    each file alone should the group fail unexpectedly), each with its record, or None and why.
    A file that may still be changing gets its second go alone, once settled."""
    ready = [path for path in paths if _wait_settled(path, settle)]
    return [_second_go(pipeline, o.source, settle) if o.waiting is not None else (o.source, o.record, o.why) for o in pipeline.process_each(ready)]


def _second_go(pipeline: Pipeline, path: Path, settle: float) -> tuple[Path, PhotoRecord | None, str | None]:
    """A young, unreadable file once it has settled: its record, or None and why it is still
    not ready (waiting, or a bug on it was logged): the scan goes on."""
    if not _wait_settled(path, settle):
        return path, None, "disappeared"
    outcome = pipeline.process_alone(path)
    if outcome.waiting is not None:
        return path, None, f"waits: {outcome.waiting}"
    return path, outcome.record, outcome.why


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


def _ask_ai(core: Core, pending: int, tty: bool) -> None:
    """The AI worker's own threads (per_host for each [ollama] host), until nothing is due or every
    server failed (its records stay pending, with the reason, for the service to retry)."""
    from tqdm import tqdm

    ollama = core.config.ollama
    worker = AIWorker(core.locations, servers_for(ollama), core.folders.file_of, Backoff(), per_host=ollama.per_host)
    with tqdm(total=pending, desc="AI", unit="photo", disable=not tty, leave=False) as bar:
        worker.drain(bar.update)
