"""The daemon as a subprocess (`python daemon.py ...`), as systemd or a user starts it, and a free
port for a server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAEMON = [sys.executable, str(REPO / "daemon.py")]
SYSTEMD_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM")


def daemon_env(**extra: str) -> dict[str, str]:
    """This environment without systemd's variables (a test under systemd must not notify it),
    unbuffered, with faulthandler on (see `stop`), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in SYSTEMD_VARIABLES}
    return env | {"PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"} | extra


def start_daemon(*args: str, cwd: Path, env: dict[str, str] | None = None, python: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    """`daemon.py ARGS` running in `cwd`, its stdout and stderr piped as text; `python` holds
    options for the interpreter (("-X", "importtime"))."""
    return subprocess.Popen([sys.executable, *python, *DAEMON[1:], *args], cwd=cwd, env=env or daemon_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_daemon(
    *args: str, cwd: Path, timeout: float = 120, env: dict[str, str] | None = None, stdin: str | None = None, python: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """`daemon.py ARGS` run to its end in `cwd`, its output captured as text; `python` holds
    options for the interpreter (("-X", "importtime"))."""
    return subprocess.run([sys.executable, *python, *DAEMON[1:], *args], cwd=cwd, env=env or daemon_env(), input=stdin, capture_output=True, text=True, timeout=timeout)


def wait_ready(proc: subprocess.Popen[str]) -> str:
    """Read the daemon's log until it says it is ready (its signal handlers are in place);
    returns what it logged so far."""
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if " ready: " in line:
            return "".join(lines)
    raise AssertionError("the daemon exited before it was ready:\n" + "".join(lines))


def stop(proc: subprocess.Popen[str], sig: signal.Signals = signal.SIGTERM, timeout: float = 20) -> tuple[str, str]:
    """Send `sig` and wait for the end; returns the rest of stdout and stderr. A process that has
    not ended by `timeout` is aborted, and the test fails with where each of its threads was
    (faulthandler's dump on SIGABRT)."""
    proc.send_signal(sig)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        _, stderr = proc.communicate()
        raise AssertionError(f"{proc.args!r} did not end within {timeout} s of {sig.name}; its threads then:\n{stderr[-6000:]}") from None


def reap(proc: subprocess.Popen[str]) -> None:
    """Kill what is still running and close its pipes (no zombie, no unclosed pipe warning)."""
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


def imported_modules(stderr: str) -> set[str]:
    """The modules a process run with `-X importtime` imported, from what it wrote to stderr."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:") and "|" in line}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
