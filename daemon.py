#!/usr/bin/env python3
"""geolocator entry point: `python daemon.py --help`."""

import sys

from geolocator.cli import main

if __name__ == "__main__":
    sys.exit(main())
