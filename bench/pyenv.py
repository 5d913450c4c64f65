"""The environment benchmarks run `daemon.py` in, and what they read of its process."""

from __future__ import annotations

import os
from pathlib import Path


def installed_env(cache: Path) -> dict[str, str]:
    """The environment of a user's run: Python keeps compiled modules (pip writes them at install,
    a checkout at its first run). This sandbox sets PYTHONDONTWRITEBYTECODE=1, which would make
    every run compile all our modules from source; the cache goes to `cache`, not into the tree."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(cache)}


def status_mb(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon, RssFile of a process, in MB (from /proc/PID/status)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) / 1024
    return out
