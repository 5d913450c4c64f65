"""exiftool kept running for the whole test process (`-stay_open`, through PyExifTool), as the tests
make fixtures and read references with it hundreds of times: a new exiftool is a Perl start-up of a
third of a second of CPU, a command to the running one a few milliseconds.

`exiftool("-q", "-overwrite_original", "-Model=X", str(path))` returns what it printed and raises
`ExifToolExecuteError` when exiftool's exit status is not 0, as `subprocess.run(..., check=True)`
did. Paths must be absolute: the process keeps the working folder it started in.
"""

from __future__ import annotations

import atexit
import threading

from exiftool import ExifTool
from exiftool.exceptions import ExifToolExecuteError

_lock = threading.Lock()
_running: list[ExifTool] = []


def exiftool(*args: str, check: bool = True) -> str:
    with _lock:
        if not _running:
            tool = ExifTool(common_args=[])  # its default adds -G -n to every command
            tool.run()
            _running.append(tool)
        out = _running[0].execute(*args)
        status = _running[0].last_status
        if check and status:
            raise ExifToolExecuteError(status, out, _running[0].last_stderr, list(args))
        return out


def last_stderr() -> str:
    """What the last command wrote to stderr (its warnings and errors)."""
    with _lock:
        return _running[0].last_stderr if _running else ""


@atexit.register
def stop_exiftool() -> None:
    """End the process (the session's end calls this; atexit too, should a session be cut short)."""
    with _lock:
        while _running:
            _running.pop().terminate()
