"""`daemon.py password [--print] [--config FILE]`: set the map page's password.

Asks for it twice (without echo on a terminal; from standard input otherwise, one line each),
then writes its salted hash as `[viewer] password_hash` into the config file, keeping every other
line as it was, or prints the hash (`--print`, or when there is no config file).

The file is edited as text, because no kept TOML library here writes TOML: the `password_hash`
line of the `[viewer]` table is replaced (or added, with the table if need be), the result is
checked by loading it as a config, and it replaces the file atomically (temporary file, fsync,
rename), keeping the file's permissions.
"""

from __future__ import annotations

import getpass
import os
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from geolocator.auth import PasswordError, hash_password
from geolocator.config import Config, build_config
from geolocator.errors import ConfigError, GeolocatorError

_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"-]+)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*#?\s*password_hash\s*=")


def with_hash(text: str, hashed: str) -> str:
    """The config text with `[viewer] password_hash` set to `hashed` (a commented-out example line
    is replaced too); everything else unchanged."""
    line = f'password_hash = "{hashed}"'
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if (m := _TABLE.match(ln)) and m.group(1) == "viewer"), None)
    if start is None:
        return text + ("" if text.endswith("\n") or not text else "\n") + f"\n[viewer]\n{line}\n"
    end = next((i for i in range(start + 1, len(lines)) if _TABLE.match(lines[i])), len(lines))
    found = next((i for i in range(start + 1, end) if _KEY.match(lines[i])), None)
    if found is None:
        lines.insert(start + 1, line)
    else:
        lines[found] = line
    return "\n".join(lines) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = path.stat().st_mode & 0o7777
    try:
        with open(tmp, "x", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)  # the user asked for this file to change: replacing it is the point
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
    path = config.source
    if print_only or path is None:
        if path is None and not print_only:
            out.write("No config file given (--config FILE): put this line in its [viewer] table:\n")
        out.write(f'password_hash = "{hashed}"\n')
        return 0
    text = with_hash(path.read_text(encoding="utf-8"), hashed)
    try:
        build_config(tomllib.loads(text), path.parent, path)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: could not add the password hash ({exc}); add this line to [viewer] yourself: password_hash = \"{hashed}\"") from None
    _write_atomically(path, text)
    out.write(f"The password is set in {path} ([viewer] password_hash). Restart geolocator to use it.\n")
    return 0
