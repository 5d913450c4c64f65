"""`daemon.py password [--print] [--config FILE]`: set the map page's password.

Asks for it twice (without echo on a terminal; from standard input otherwise, one line each),
then writes its salted hash into the password file (`[viewer] password_file`, beside the database
by default), atomically and mode 0600 (geolocator.auth.password_file), or prints it (`--print`).

A running service with a password reads the new one at once and every session ends (the sessions
are tied to the hash: viewer.sessions); one running without a password needs a restart. A
`[viewer] password_hash` line left in the config is no longer used: the command says so.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from typing import TextIO

from geolocator.auth import PasswordError, hash_password
from geolocator.auth.password_file import password_path, write_hash
from geolocator.config import Config
from geolocator.errors import GeolocatorError


def _ask(prompt: str, stdin: TextIO) -> str:
    if stdin.isatty():
        return getpass.getpass(prompt)
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return stdin.readline().rstrip("\r\n")


def read_password(ask: Callable[[str], str]) -> str:
    first = ask("New password for the map page: ")
    if ask("The same password again: ") != first:
        raise GeolocatorError("the two passwords differ: nothing changed")
    return first


def main(config: Config, *, print_only: bool, out: TextIO, stdin: TextIO = sys.stdin) -> int:
    try:
        hashed = hash_password(read_password(lambda prompt: _ask(prompt, stdin)))
    except PasswordError as exc:
        raise GeolocatorError(f"{exc}: nothing changed") from None
    if print_only:
        out.write(hashed + "\n")
        return 0
    path = password_path(config)
    try:
        write_hash(path, hashed)
    except OSError as exc:
        raise GeolocatorError(f"cannot write the password file {path} ({exc.strerror or exc}): nothing changed") from None
    out.write(f"The password is set in {path} (mode 0600). A running geolocator with a password uses it at once and every "
              "session ends; one running without a password needs a restart.\n")
    if config.viewer.password_hash:
        out.write(f"The [viewer] password_hash line in {config.source} is no longer used: delete it.\n")
    return 0
