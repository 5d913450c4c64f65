"""The commands of `daemon.py`, one module each: run, scan, check, locate, map, password.

Each command is declared once, in `COMMANDS`: its name, its help, its arguments, and how it runs.
A command's module is imported only when it runs (`locate --no-ai` never loads the AI or the
map). Each is `main(config, ...) -> exit status`; only they print. `geolocator.cli` parses the
arguments, calls one, and turns the exceptions they raise into messages and exit codes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from geolocator.config import Config


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """A command that takes only the common options."""


@dataclass(frozen=True)
class Command:
    name: str
    help: str  # one line, in `daemon.py --help`
    description: str  # shown by `daemon.py NAME --help`
    run: Callable[[argparse.Namespace, Config], int]
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments


def _run(args: argparse.Namespace, config: Config) -> int:
    from geolocator.commands import run

    return run.main(config)


def _scan(args: argparse.Namespace, config: Config) -> int:
    from geolocator.commands import scan

    return scan.main(config)


def _check(args: argparse.Namespace, config: Config) -> int:
    from geolocator.commands import check

    return check.main(config, out=sys.stdout)


def _map(args: argparse.Namespace, config: Config) -> int:
    from geolocator.commands import map as map_command

    return map_command.main(config)


def _locate(args: argparse.Namespace, config: Config) -> int:
    from geolocator.commands import locate

    return locate.main(args.files, config, use_ai=not args.no_ai, out=sys.stdout)


def _locate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-ai", action="store_true", help="do not ask the vision model about files without GPS")
    parser.add_argument("files", nargs="+", metavar="FILE")


def _password(args: argparse.Namespace, config: Config) -> int:
    from geolocator.commands import password

    return password.main(config, print_only=args.print_only, out=sys.stdout)


def _password_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--print", action="store_true", dest="print_only", help="print the hash instead of writing the password file")


COMMANDS = (
    Command(
        "run", "run the service (the default): watch the inbox, process photos, serve the map",
        "Run the service until SIGTERM or Ctrl-C: watch the inbox, locate, record and file every photo that "
        "arrives, ask the AI about photos without GPS, and serve the map page. Speaks sd_notify under systemd.",
        _run,
    ),
    Command(
        "scan", "process what is in the inbox now, then exit (summary at the end)",
        "Process every file in the inbox now, as the service would (locate, record, move; with [library] move = false, "
        "record each where it is and skip those recorded unchanged), ask the AI about photos without GPS, print a summary "
        "(and each file left, with why) and exit. Exit status 1 when a file failed or stayed in the inbox.",
        _scan,
    ),
    Command(
        "check", "validate the config, the folders, the database, the map's port and Ollama; exit non-zero on any problem",
        "Check that this installation is ready to run, one line per check (ok or FAIL with the fix): the config, "
        "each folder, the database, the map's address and Ollama. Only looks: creates no folder or file. "
        "Exit status 1 on any FAIL.",
        _check,
    ),
    Command(
        "locate", "print where each FILE was taken, one JSON object per line (moves nothing, records nothing)",
        "Print one JSON object per FILE: file, lat, lon, source (exif/ai/null), place, taken_at (from the file name, with time_source, when the file records none), altitude, camera, error. "
        "Exit status 1 when any file could not be read.",
        _locate, _locate_arguments,
    ),
    Command(
        "map", "serve only the map page over the database (while the service is stopped)",
        "Serve only the map page over the database, until Ctrl-C, for browsing while the service is stopped "
        "(the running service serves its own map).",
        _map,
    ),
    Command(
        "password", "set the map page's password (needed to serve it beyond this machine)",
        "Ask for a password twice (10 characters at least) and store its salted hash in [viewer] password_file "
        "(beside the database by default), mode 0600. The map page then asks for it, and every session ends; needed when "
        "[viewer] host is not a loopback address or trusted_proxies is set.",
        _password, _password_arguments,
    ),
)  # fmt: skip
DEFAULT = "run"
