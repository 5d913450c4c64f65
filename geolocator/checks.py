"""`daemon.py check`: is this installation ready to run? One line per check, exit 1 on any FAIL.

Each line is "ok   WHAT: detail" or "FAIL WHAT: reason: fix". Ollama being down is a FAIL here
(answering that is the point of the command), although the service itself starts without it
and keeps photos pending until it is back.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from geolocator.config import Config
from geolocator.errors import GeolocatorError


class CheckFailed(Exception):
    """A check's one-line reason and fix."""


def run_checks(config: Config, out: TextIO) -> int:
    """Run every check, print one line each, return 0 when all passed and 1 otherwise."""
    checks: list[tuple[str, Callable[[], str]]] = [("config", lambda: _config(config))]
    for name in ("inbox", "library", "failed", "duplicates"):
        checks.append((name, lambda folder=getattr(config.paths, name), key=name: _folder(folder, key)))
    checks.append(("database", lambda: _database(config.paths.database)))
    checks.append(("ollama", lambda: _ollama(config)))
    failures = 0
    for name, check in checks:
        try:
            line = f"ok   {name}: {check()}"
        except (CheckFailed, GeolocatorError) as exc:
            failures += 1
            line = f"FAIL {name}: {exc}"
        out.write(line + "\n")
        out.flush()
    return 1 if failures else 0


def _config(config: Config) -> str:
    return str(config.source) if config.source else "embedded defaults (no --config given; paths relative to the current folder)"


def _folder(folder: Path, key: str) -> str:
    if folder.exists() and not folder.is_dir():
        raise CheckFailed(f"{folder}: exists but is not a folder: move it aside or set [paths] {key} in the config")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckFailed(f"{folder}: cannot create it ({exc.strerror or exc}): create it or set [paths] {key} in the config") from None
    _writable(folder, f"[paths] {key}")
    return f"{folder} (writable)"


def _writable(folder: Path, setting: str) -> None:
    """Really write a file: os.access() says yes to root on read-only mounts."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".geolocator-check-"):
            pass
    except OSError as exc:
        raise CheckFailed(f"{folder}: not writable ({exc.strerror or exc}): fix its permissions or set {setting} in the config") from None


def _database(path: Path) -> str:
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckFailed(f"{folder}: cannot create the database folder ({exc.strerror or exc}): set [paths] database in the config") from None
    _writable(folder, "[paths] database")
    if path.exists() and not path.is_file():
        raise CheckFailed(f"{path}: exists but is not a file: move it aside or set [paths] database in the config")
    if path.exists() and not os.access(path, os.W_OK):
        raise CheckFailed(f"{path}: not writable: fix its permissions")
    from geolocator.store import StoreError, acquire_lock, load_records  # the store's own reader: snapshot and journal

    try:
        records = len(load_records(path))
    except GeolocatorError as exc:
        raise CheckFailed(f"{exc}: restore it from a backup or move it aside to start a new one") from None
    try:
        with acquire_lock(path):
            running = ""
    except StoreError:
        running = ", in use by a running geolocator"
    if records == 0 and not path.exists() and not running:
        return f"{path} (will be created)"
    return f"{path} (valid, {records} record{'s' if records != 1 else ''}{running})"


def _ollama(config: Config) -> str:
    if not config.ollama.enabled:
        return "disabled ([ollama] enabled = false): photos without GPS are not estimated"
    from geolocator.ai import AILocator

    return AILocator(config.ollama).check()
