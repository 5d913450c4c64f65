"""The map page's password hash, in a file of its own that only its owner can read.

`[viewer] password_file` (by default beside the database: `geolocator.password` for
`geolocator.json`) holds one line, the hash `daemon.py password` made (geolocator.auth). The hash
of a weak password can be guessed offline, so the file is mode 0600, written atomically (a
temporary file, fsync, rename: a running service reads the old hash or the new one, never half).
Run as root for a folder that belongs to someone else (the service's /var/lib/geolocator), the
file is given to that folder's owner, so that the service can read it.

A `[viewer] password_hash` in the config (where `password` wrote it before) is still used when
there is no file, for the installs that have one; `check` asks to move it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from geolocator.auth import PasswordError, check_password_hash, needs_password
from geolocator.config import Config
from geolocator.errors import ConfigError

MAX_FILE_BYTES = 4096  # one hash is ~120 bytes


@dataclass(frozen=True)
class StoredHash:
    """A password hash and where it was read: the password file, or the config's legacy line."""

    encoded: str
    where: str
    legacy: bool  # from the config's password_hash


def password_required(config: Config) -> bool:
    """Whether the page is reached beyond this machine: bound elsewhere than loopback, or through
    a reverse proxy (`[viewer] trusted_proxies`)."""
    return needs_password(config.viewer.host) or bool(config.viewer.trusted_proxies)


def password_path(config: Config) -> Path:
    """Where the password hash lives: `[viewer] password_file`, else beside the database."""
    database = config.paths.database
    return config.viewer.password_file or database.with_name(f"{database.stem}.password")


def read_hash(path: Path) -> str | None:
    """The hash in `path`, or None when there is no such file. ConfigError when it cannot be read
    or holds no usable hash (a hand edit gone wrong): the message names the file and the fix."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the password file ({exc.strerror or exc}): it must belong to the user geolocator runs as") from None
    try:
        encoded = data.decode("ascii").strip()
        if len(data) > MAX_FILE_BYTES:
            raise PasswordError("the file is larger than a password hash")
        check_password_hash(encoded)
    except (UnicodeDecodeError, PasswordError) as exc:
        raise ConfigError(f"{path}: {exc if isinstance(exc, PasswordError) else 'not a password hash'}: set the password again with `daemon.py password`") from None
    return encoded


def stored_hash(config: Config) -> StoredHash | None:
    """The password the page asks for: from the password file, else from the config's legacy
    `[viewer] password_hash`; None when neither is set."""
    path = password_path(config)
    encoded = read_hash(path)
    if encoded is not None:
        return StoredHash(encoded, str(path), legacy=False)
    if config.viewer.password_hash:
        return StoredHash(config.viewer.password_hash, f"{config.source or 'the config'} ([viewer] password_hash)", legacy=True)
    return None


def page_password(config: Config) -> StoredHash | None:
    """The password the map page will ask for, or None when none is set and none is needed.
    Raises ConfigError, naming the fix, when the page would be served beyond this machine without
    one, or its file is unreadable or damaged: the service and `map` refuse to start then (before
    they create anything), and `check` says so."""
    stored = stored_hash(config)
    if stored is None and password_required(config):
        raise ConfigError(missing_password_message(config))
    return stored


def missing_password_message(config: Config) -> str:
    where = f" --config {config.source}" if config.source else ""
    reach = (f"[viewer] trusted_proxies = {list(config.viewer.trusted_proxies)!r} serves the map through a proxy"
             if config.viewer.trusted_proxies else f"[viewer] host = {config.viewer.host!r} serves the map beyond this machine")
    return (f"{reach}, so it needs a password: run `python3 daemon.py password{where}` (it stores a salted hash in "
            f"{password_path(config)}), or set host = \"127.0.0.1\" without trusted_proxies")


def write_hash(path: Path, encoded: str) -> None:
    """Replace the password file at `path` with `encoded`, atomically, mode 0600."""
    check_password_hash(encoded)
    folder = path.parent
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(encoded + "\n")
            out.flush()
            os.fchmod(out.fileno(), 0o600)  # whatever the umask
            _give_to_folder_owner(out.fileno(), folder)
            os.fsync(out.fileno())
        os.replace(tmp, path)  # the user asked for a new password: replacing the old hash is the point
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _give_to_folder_owner(fd: int, folder: Path) -> None:
    if os.geteuid() != 0:
        return
    owner = folder.stat()
    if (owner.st_uid, owner.st_gid) != (0, 0):
        os.fchown(fd, owner.st_uid, owner.st_gid)


def loose_mode(path: Path) -> str | None:
    """Why the password file's permissions let others read it, or None when they do not."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return f"{path} has mode {mode:04o}: others may read the hash (chmod 600 {path})"
    return None
