"""Command line: parses arguments, sets up logging, and is the one place that turns
exceptions into user-facing messages and exit codes."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from geolocator import __version__
from geolocator.config import Config, load_config
from geolocator.errors import GeolocatorError

log = logging.getLogger("geolocator")

EXIT_OK = 0
EXIT_FAILED = 1  # some file or check failed
EXIT_USAGE = 2  # bad arguments or configuration
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
geolocator watches an inbox folder, finds where each photo was taken (GPS in the file, else an
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
    commands.add_parser("run", parents=[common], help="run the service (the default): watch the inbox, process photos, serve the map")
    commands.add_parser("scan", parents=[common], help="process what is in the inbox now, then exit (summary line at the end)")
    commands.add_parser("check", parents=[common], help="validate the config, the folders and Ollama; exit non-zero on any problem")
    commands.add_parser("map", parents=[common], help="serve only the map page over the database (while the service is stopped)")
    locate = commands.add_parser(
        "locate",
        parents=[common],
        help="print where each FILE was taken, one JSON object per line (moves nothing, records nothing)",
        description="Print one JSON object per FILE: file, lat, lon, source (exif/ai/null), place, taken_at, altitude, camera, error. "
        "Exit status 1 when any file could not be read.",
    )
    locate.add_argument("--no-ai", action="store_true", help="do not ask the vision model about files without GPS")
    locate.add_argument("files", nargs="+", metavar="FILE")
    return parser


def setup_logging(verbose: bool) -> None:
    # Plain lines: journald adds time and unit; a terminal user gets the time too.
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if sys.stderr.isatty() else "%(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=fmt, stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "PIL", "watchdog", "waitress"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Their warnings repeat what we report better: exifread's on a corrupt file (we log one clear
    # reason), waitress's queue depth when the page polls during a burst of photos.
    for repetitive in ("exifread", "waitress.queue"):
        logging.getLogger(repetitive).setLevel(logging.ERROR)


def dispatch(args: argparse.Namespace, config: Config) -> int:
    command = args.command or "run"
    if command == "locate":
        from geolocator.locate import run_locate

        return run_locate(args.files, config, use_ai=not args.no_ai, out=sys.stdout)
    if command == "check":
        from geolocator.checks import run_checks

        return run_checks(config, out=sys.stdout)
    if command == "map":
        from viewer.standalone import serve

        return serve(config)
    from geolocator import service

    return service.scan(config) if command == "scan" else service.run(config)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        return dispatch(args, load_config(args.config))
    except GeolocatorError as exc:
        print(f"geolocator: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
