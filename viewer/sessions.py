"""Logins kept by the server, so that logging out, or a new password, really ends them.

A session is a random token in the browser's cookie (geolocator.auth). The server keeps, per
session, only the token's SHA-256 (a copy of the file lets nobody in), its expiry and the
password generation it was opened under, in a small JSON file beside the database
(`geolocator.sessions`, mode 0600), replaced atomically at each login and logout: a restart
keeps people logged in. A session counts while it is in the table, unexpired, and of the current
password's generation, so `daemon.py password` ends every session, in a running service too.

At most MAX_SESSIONS are kept (logins are slowed by the throttle anyway); past that, the one
closest to its expiry goes. A file that cannot be read as ours is logged and started afresh:
everyone logs in again, nothing else is lost.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from geolocator.auth import SESSION_SECONDS, new_session_token, session_digest
from geolocator.folders import sessions_path as sessions_path  # where the file is (the watcher leaves it alone)

MAX_SESSIONS = 1000
MAX_FILE_BYTES = 1 << 20

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Session:
    expires: float  # seconds since the epoch
    generation: str




def _load(path: Path) -> dict[str, _Session]:
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read(MAX_FILE_BYTES + 1))
        return {digest: _Session(float(entry["expires"]), str(entry["generation"])) for digest, entry in data.items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("%s cannot be read as the map page's sessions (%s): everyone logs in again", path, exc)
        return {}


class Sessions:
    """`open(generation, now)` -> a token for the cookie; `valid(token, generation, now)`; `end(token)`."""

    def __init__(self, path: Path, *, seconds: int = SESSION_SECONDS) -> None:
        self.path = path
        self.seconds = seconds
        self._lock = threading.Lock()
        self._table = _load(path)

    def open(self, generation: str, now: float) -> str:
        token = new_session_token()
        digest = session_digest(token)
        if digest is None:  # cannot happen: new_session_token makes the shape session_digest takes
            raise RuntimeError("a fresh session token was refused")
        with self._lock:
            self._table[digest] = _Session(now + self.seconds, generation)
            self._prune(generation, now)
            self._save()
        return token

    def valid(self, token: str | None, generation: str, now: float) -> bool:
        digest = session_digest(token)
        if digest is None:
            return False
        with self._lock:
            session = self._table.get(digest)
        return session is not None and session.generation == generation and now < session.expires

    def end(self, token: str | None) -> None:
        digest = session_digest(token)
        with self._lock:
            if digest is None or self._table.pop(digest, None) is None:
                return
            self._save()

    def __len__(self) -> int:
        with self._lock:
            return len(self._table)

    def _prune(self, generation: str, now: float) -> None:
        for digest, session in list(self._table.items()):
            if session.generation != generation or session.expires <= now:
                del self._table[digest]
        while len(self._table) > MAX_SESSIONS:
            del self._table[min(self._table, key=lambda d: self._table[d].expires)]

    def _save(self) -> None:
        """Replace the file atomically, mode 0600 (the caller holds the lock)."""
        data = json.dumps({d: {"expires": s.expires, "generation": s.generation} for d, s in self._table.items()})
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                os.fchmod(fd, 0o600)  # a leftover of a crash keeps its mode otherwise
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
