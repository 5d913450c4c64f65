"""Command line: parses arguments, sets up logging, runs one command of `geolocator.commands`,
and is the one place that turns exceptions into user-facing messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geolocator import __version__
from geolocator.commands import COMMANDS, DEFAULT
from geolocator.config import Config, load_config
from geolocator.errors import GeolocatorError
from geolocator.logs import escape, setup_logging

EXIT_FAILED = 1  # some file or check failed (bad arguments or configuration: 2, argparse's and ConfigError.exit_code)
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
geolocator watches an inbox folder, finds where each photo was taken (GPS in the file, else a GPS track
or photos taken around the same time, else an
estimate from a local Ollama vision model), records it, moves it into the library, and serves a map.

With no command it runs the service: watcher, workers and the map page. With no --config it runs
on embedded defaults in the current folder (inbox/, library/, failed/, duplicates/,
geolocator.json), creating the folders."""

def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, metavar="FILE", help="config.toml to use (default: embedded defaults, paths relative to the current folder)")
    common.add_argument("-v", "--verbose", action="store_true", help="log debug detail")

    parser = argparse.ArgumentParser(prog="daemon.py", description=DESCRIPTION, parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"geolocator {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.arguments(commands.add_parser(command.name, parents=[common], help=command.help, description=command.description))
    return parser


def dispatch(args: argparse.Namespace, config: Config) -> int:
    name = args.command or DEFAULT
    return next(command for command in COMMANDS if command.name == name).run(args, config)


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
