"""The environment benchmarks run `daemon.py` in."""

from __future__ import annotations

import os
from pathlib import Path


def installed_env(cache: Path) -> dict[str, str]:
    """The environment of a user's run: Python keeps compiled modules (pip writes them at install,
    a checkout at its first run). This sandbox sets PYTHONDONTWRITEBYTECODE=1, which would make
    every run compile all our modules from source; the cache goes to `cache`, not into the tree."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(cache)}
