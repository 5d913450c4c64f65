#!/usr/bin/env python3
"""geolocator entry point: `python daemon.py --help`.

Run by any Python, it runs itself again with the project's own `.venv/bin/python` when there is
one (made by `make`) and this is not it: `python3 daemon.py check` works as written, without
activating the virtual environment first. Only the standard library is used before that.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
AGAIN = "GEOLOCATOR_IN_VENV"  # set for the run in the venv: never run itself again twice


def project_python() -> Path | None:
    """The venv's python to run this file with, or None when this already is it (or there is none)."""
    python = VENV / "bin" / "python"
    if os.environ.get(AGAIN) or not python.exists():
        return None
    if Path(sys.prefix).resolve() == VENV.resolve():
        return None
    return python


if __name__ == "__main__":
    python = project_python()
    if python is not None:
        os.environ[AGAIN] = "1"
        # orig_argv: the interpreter's own options (-X importtime, -u) are kept too.
        os.execv(python, [str(python), *sys.orig_argv[1:]])  # noqa: S606 - the same command, another python
    from geolocator.cli import main

    sys.exit(main())
