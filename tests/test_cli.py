"""The command line as a user meets it: help, and the map-only server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

from conftest import REPO


def daemon(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "daemon.py"), *args], text=True, **kwargs)


def test_help_explains_every_command():
    result = subprocess.run([sys.executable, str(REPO / "daemon.py"), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for command in ("run", "scan", "check", "locate", "map"):
        assert f"    {command}" in result.stdout, command
    assert "embedded defaults" in result.stdout


def test_map_serves_the_database_until_interrupted(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[viewer]\nport = 0\n")
    proc = daemon("map", "--config", str(config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("map: http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() is not None else "")
        with urllib.request.urlopen(line.removeprefix("map: ") + "api/images", timeout=10) as response:
            assert json.loads(response.read()) == []
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode == 130
    assert (tmp_path / "geolocator.json").exists()  # the store was closed: folded into its snapshot
