"""`daemon.py check`: is this installation ready to run? One line per check, exit 1 on any FAIL.
It only looks: it creates no folder and no file (a probe file is written and removed at once).

Each line is "ok   WHAT: detail" or "FAIL WHAT: reason: fix". Ollama being down is a FAIL here
(answering that is the point of the command), although the service itself starts without it
and keeps photos pending until it is back. With several [ollama] hosts each server gets its
line, so the one that is down is named.
"""

from __future__ import annotations

import errno
import functools
import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from geolocator.config import Config
from geolocator.errors import GeolocatorError


class CheckFailed(Exception):
    """A check's one-line reason and fix."""


def main(config: Config, out: TextIO) -> int:
    """Run every check, print one line each, return 0 when all passed and 1 otherwise."""
    checks: list[tuple[str, Callable[[], str]]] = [("config", lambda: _config(config))]
    paths = config.paths
    folders = (("inbox", paths.inbox), ("library", paths.library), ("failed", paths.failed), ("duplicates", paths.duplicates))
    for name, folder in folders if config.library.move else folders[:1]:  # in place only the archive (sidecars are written there)
        checks.append((name, functools.partial(_folder, folder, name)))
    checks.append(("database", lambda: _database(config.paths.database)))
    checks.append(("map", lambda: _map(config)))
    if config.viewer.enabled:
        checks.append(("password", lambda: _password(config)))
    if config.ollama.enabled:
        checks += [("ollama", functools.partial(_ollama, config, host)) for host in config.ollama.hosts]
    else:
        checks.append(("ollama", lambda: "disabled ([ollama] enabled = false): photos without GPS are not estimated"))
    failures = 0
    for name, check in checks:
        try:
            line = f"ok   {name}: {check()}"
        except (CheckFailed, GeolocatorError) as exc:
            failures += 1
            line = f"FAIL {name}: {exc}"
        print(line, file=out, flush=True)
    return 1 if failures else 0


def _config(config: Config) -> str:
    return str(config.source) if config.source else "embedded defaults (no --config given; paths relative to the current folder)"


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _folder(folder: Path, key: str) -> str:
    """Reports only: a missing folder is fine when the service will be able to create it."""
    setting = f"[paths] {key}"
    if folder.is_dir():
        _writable(folder, setting)
        return f"{folder} (writable)"
    if folder.exists():
        raise CheckFailed(f"{folder}: exists but is not a folder: move it aside or set {setting} in the config")
    parent = _nearest_existing(folder.parent)
    if not parent.is_dir():
        raise CheckFailed(f"{folder}: cannot be created ({parent} is not a folder): set {setting} in the config")
    _writable(parent, setting)
    return f"{folder} (missing; will be created at start)"


def _writable(folder: Path, setting: str) -> None:
    """Really write (and remove) a file: os.access() says yes to root on read-only mounts."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".geolocator-check-") as probe:
            probe.write(b"x")  # a byte too: a full disk still lets an empty file be created
            probe.flush()
    except OSError as exc:
        raise CheckFailed(f"{folder}: not writable ({exc.strerror or exc}): fix its permissions or set {setting} in the config") from None


def _database(path: Path) -> str:
    from geolocator.record.store import database_in_use, load_records  # the store's own reader: snapshot and journal

    folder = path.parent
    if not folder.is_dir():
        _folder(folder, "database")  # raises, or the folder will be created at start
    else:
        _writable(folder, "[paths] database")
    if path.exists() and not path.is_file():
        raise CheckFailed(f"{path}: exists but is not a file: move it aside or set [paths] database in the config")
    if path.exists() and not os.access(path, os.W_OK):
        raise CheckFailed(f"{path}: not writable: fix its permissions")
    try:
        records = len(load_records(path))
    except GeolocatorError as exc:
        raise CheckFailed(f"{exc}: restore it from a backup or move it aside to start a new one") from None
    running = ", in use by a running geolocator" if database_in_use(path) else ""
    if records == 0 and not path.exists() and not running:
        return f"{path} (will be created)"
    return f"{path} (valid, {records} record{'s' if records != 1 else ''}{running})"


def _map(config: Config) -> str:
    """Whether the map's address can be listened on (bound and released at once)."""
    viewer = config.viewer
    if not viewer.enabled:
        return "disabled ([viewer] enabled = false)"
    if viewer.port == 0:
        return f"{viewer.host}, any free port ([viewer] port = 0)"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(viewer.host, viewer.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            probe.bind(address)
    except OSError as exc:
        from geolocator.record.store import database_in_use

        if exc.errno == errno.EADDRINUSE and database_in_use(config.paths.database):
            return f"{viewer.host}:{viewer.port} (in use, by the running geolocator holding the database)"
        raise CheckFailed(f"cannot listen on {viewer.host}:{viewer.port} ({exc.strerror or exc}): stop what uses it or set [viewer] port in the config") from None
    return f"{viewer.host}:{viewer.port} (free)"


def _password(config: Config) -> str:
    """Where the map page's password is kept, and whether it is kept well: its own 0600 file, made
    with today's scrypt parameters; a hash left in the config (readable by others) is flagged."""
    from geolocator.auth import is_weaker
    from geolocator.auth.password_file import loose_mode, password_path, password_required, stored_hash

    path = password_path(config)
    stored = stored_hash(config)  # ConfigError (a FAIL line) for an unreadable or damaged file
    if stored is None:
        if password_required(config):
            raise CheckFailed(f"none set, and the map is served beyond this machine: run `daemon.py password{_config_flag(config)}`")
        return "none (the map is served on this machine only)"
    if stored.legacy:
        raise CheckFailed(f"kept in {stored.where}, where others may read it: run `daemon.py password{_config_flag(config)}` "
                          f"to keep it in {path} (mode 0600), then delete that line")
    loose = loose_mode(path)
    if loose:
        raise CheckFailed(loose)
    if is_weaker(stored.encoded):
        raise CheckFailed(f"{path}: made with weaker scrypt parameters than today's: set it again with `daemon.py password{_config_flag(config)}`")
    if config.viewer.password_hash:
        raise CheckFailed(f"{path} is used, not the [viewer] password_hash line in {config.source}: delete that line")
    return f"{path} (mode 0600)"


def _config_flag(config: Config) -> str:
    return f" --config {config.source}" if config.source else ""


def _ollama(config: Config, host: str) -> str:
    from geolocator.locate.ai import AILocator

    return AILocator(config.ollama, host).check()
