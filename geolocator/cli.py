"""Command line: parses arguments, sets up logging, runs one command of `geolocator.commands`,
and is the one place that turns exceptions into user-facing messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geolocator import __version__
from geolocator.config import Config, load_config
from geolocator.errors import GeolocatorError
from geolocator.logs import escape, setup_logging

EXIT_FAILED = 1  # some file or check failed (bad arguments or configuration: 2, argparse's and ConfigError.exit_code)
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
geolocator watches an inbox folder, finds where each photo was taken (GPS in the file, else an
estimate from a local Ollama vision model), records it, moves it into the library, and serves a map.

With no command it runs the service: watcher, workers and the map page. With no --config it runs
on embedded defaults in the current folder (inbox/, library/, failed/, duplicates/,
geolocator.json), creating the folders."""

# (name, one-line help, description shown by `daemon.py NAME --help`)
COMMANDS = (
    ("run", "run the service (the default): watch the inbox, process photos, serve the map",
     "Run the service until SIGTERM or Ctrl-C: watch the inbox, locate, record and file every photo that "
     "arrives, ask the AI about photos without GPS, and serve the map page. Speaks sd_notify under systemd."),
    ("scan", "process what is in the inbox now, then exit (summary line at the end)",
     "Process every file in the inbox now, as the service would (locate, record, move), ask the AI about "
     "photos without GPS, print one summary line and exit. Exit status 1 when a file failed or stayed in the inbox."),
    ("check", "validate the config, the folders, the database, the map's port and Ollama; exit non-zero on any problem",
     "Check that this installation is ready to run, one line per check (ok or FAIL with the fix): the config, "
     "each folder, the database, the map's address and Ollama. Only looks: creates no folder or file. "
     "Exit status 1 on any FAIL."),
    ("map", "serve only the map page over the database (while the service is stopped)",
     "Serve only the map page over the database, until Ctrl-C, for browsing while the service is stopped "
     "(the running service serves its own map)."),
)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, metavar="FILE", help="config.toml to use (default: embedded defaults, paths relative to the current folder)")
    common.add_argument("-v", "--verbose", action="store_true", help="log debug detail")

    parser = argparse.ArgumentParser(prog="daemon.py", description=DESCRIPTION, parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"geolocator {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, short, description in COMMANDS:
        commands.add_parser(name, parents=[common], help=short, description=description)
    locate = commands.add_parser(
        "locate",
        parents=[common],
        help="print where each FILE was taken, one JSON object per line (moves nothing, records nothing)",
        description="Print one JSON object per FILE: file, lat, lon, source (exif/ai/null), place, taken_at, altitude, camera, error. "
        "Exit status 1 when any file could not be read.",
    )
    locate.add_argument("--no-ai", action="store_true", help="do not ask the vision model about files without GPS")
    locate.add_argument("files", nargs="+", metavar="FILE")
    password = commands.add_parser(
        "password",
        parents=[common],
        help="set the map page's password (needed to serve it beyond this machine)",
        description="Ask for a password twice (10 characters at least) and store its salted hash in [viewer] password_file "
        "(beside the database by default), mode 0600. The map page then asks for it, and every session ends; needed when "
        "[viewer] host is not a loopback address or trusted_proxies is set.",
    )
    password.add_argument("--print", action="store_true", dest="print_only", help="print the hash instead of writing the password file")
    return parser


def dispatch(args: argparse.Namespace, config: Config) -> int:
    # Each command is imported only when it runs: `locate --no-ai` never loads the AI or the map.
    match args.command or "run":
        case "locate":
            from geolocator.commands import locate

            return locate.main(args.files, config, use_ai=not args.no_ai, out=sys.stdout)
        case "password":
            from geolocator.commands import password

            return password.main(config, print_only=args.print_only, out=sys.stdout)
        case "check":
            from geolocator.commands import check

            return check.main(config, out=sys.stdout)
        case "map":
            from geolocator.commands import map as map_command

            return map_command.main(config)
        case "scan":
            from geolocator.commands import scan

            return scan.main(config)
        case _:
            from geolocator.commands import run

            return run.main(config)


def fail(message: str, code: int) -> int:
    """The one line a user sees for an error (no traceback), and the exit code."""
    sys.stderr.write(f"geolocator: {escape(message)}\n")
    sys.stderr.flush()
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        return dispatch(args, load_config(args.config))
    except GeolocatorError as exc:
        return fail(str(exc), exc.exit_code)
    except OSError as exc:  # the disk full, a folder unreadable: the system's own words, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        return fail(f"{where}{exc.strerror or exc}", EXIT_FAILED)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
