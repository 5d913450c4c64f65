"""The commands of `daemon.py`, one module each: run, scan, check, locate, map, password.

Each is `main(config, ...) -> exit status`; only they print. `geolocator.cli` parses the
arguments, calls one, and turns the exceptions they raise into messages and exit codes.
"""
