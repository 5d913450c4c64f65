"""The command line as a user meets it: help, and the map-only server."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import urllib.request

from processes import imported_modules, run_daemon, stop

from geolocator.record.store import Store


def test_help_explains_every_command(tmp_path):
    result = run_daemon("--help", cwd=tmp_path, timeout=30)
    assert result.returncode == 0
    for command in ("run", "scan", "check", "locate", "map"):
        assert f"    {command}" in result.stdout, command
    assert "embedded defaults" in result.stdout
    assert "GPS track" in result.stdout and "photos taken around the same time" in " ".join(result.stdout.split())  # the other ways to place a photo


def test_locate_names_a_gps_track_and_says_to_drop_it_in_the_inbox(tmp_path):
    track = tmp_path / "walk.gpx"
    track.write_text('<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
                     '<trkpt lat="48.85" lon="2.29"><time>2024-05-01T10:00:00Z</time></trkpt></trkseg></trk></gpx>')
    result = run_daemon("locate", "--no-ai", str(track), cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    line = json.loads(result.stdout)
    assert line["error"].startswith("a GPS track (gpx), not a photo: drop it in the inbox"), line
    assert "starts with" not in line["error"]


def test_a_damaged_database_is_refused_before_any_folder_is_made(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[ollama]\nenabled = false\n[viewer]\nenabled = false\n")
    damaged = b'{"photos": {"1": {"id": "0000'
    (tmp_path / "geolocator.json").write_bytes(damaged)
    checked = run_daemon("check", "--config", str(config), cwd=tmp_path, timeout=60)
    assert checked.returncode == 1 and "FAIL database: " in checked.stdout
    run = run_daemon("run", "--config", str(config), cwd=tmp_path, timeout=60)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == []  # no inbox, library, failed or duplicates
    assert (tmp_path / "geolocator.json").read_bytes() == damaged


def test_map_while_the_service_runs_points_to_the_running_map(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[viewer]\nport = 8790\n")
    with Store(tmp_path / "geolocator.json"):  # the running service holds the database's lock
        result = run_daemon("map", "--config", str(config), cwd=tmp_path, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "geolocator is already running" in result.stderr and "open its map at http://127.0.0.1:8790/" in result.stderr
    assert "in use" not in result.stderr and "Traceback" not in result.stderr


def test_map_serves_the_database_until_interrupted(daemon, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[viewer]\nport = 0\n")
    proc = daemon("map", "--config", str(config))
    line = proc.stdout.readline().strip()
    assert line.startswith("map: http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() is not None else "")
    with urllib.request.urlopen(line.removeprefix("map: ") + "api/images", timeout=10) as response:
        assert json.loads(response.read()) == []
    stop(proc, signal.SIGINT)
    assert proc.returncode == 130
    assert (tmp_path / "geolocator.json").exists()  # the store was closed: folded into its snapshot


def test_every_command_describes_itself_in_its_help(tmp_path):
    for command in ("run", "scan", "check", "locate", "map"):
        result = run_daemon(command, "--help", cwd=tmp_path, timeout=30)
        assert result.returncode == 0
        usage, _, rest = result.stdout.partition("\n\n")
        description = rest.split("\n\n")[0]
        assert usage.startswith(f"usage: daemon.py {command}") and not description.startswith("options:"), (command, result.stdout)
        assert len(description.split()) >= 10, (command, description)


def check(tmp_path, config_text: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(config_text)
    return run_daemon("check", "--config", str(config), cwd=tmp_path, timeout=60)


def test_check_only_looks_it_creates_nothing(tmp_path):
    result = check(tmp_path, '[paths]\ninbox = "photos/in"\n[ollama]\nenabled = false\n[viewer]\nport = 0\n')
    assert result.returncode == 0, result.stdout
    assert "ok   inbox: " in result.stdout and "photos/in (missing; will be created at start)" in result.stdout
    assert "ok   database: " in result.stdout and "(will be created)" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # no folder, no database, no lock file


def test_check_notices_that_the_maps_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = check(tmp_path, f"[ollama]\nenabled = false\n[viewer]\nport = {port}\n")
    assert result.returncode == 1
    assert f"FAIL map: cannot listen on 127.0.0.1:{port} (Address already in use): stop what uses it or set [viewer] port in the config" in result.stdout
    assert result.stdout.count("ok   ") == 8  # everything else passed (the password too: none needed on 127.0.0.1)


FORBIDDEN_FOR_LOCATE = ("geolocator.locate.ai", "ollama", "httpx", "httpcore", "PIL", "pillow_heif", "numpy", "scipy", "viewer", "bottle", "cheroot", "waitress", "tqdm", "watchdog", "tinydb")
TRACKS_STACK = ("numpy", "pynmea2", "ijson", "defusedxml", "fitdecode", "timezonefinder")  # also off `scan` and the service until a track comes (test_startup_imports.py)
FORBIDDEN_FOR_LOCATE += TRACKS_STACK


def test_locate_without_ai_imports_only_what_it_uses(corpus, tmp_path):
    photo = corpus / "exif-samples" / "jpg" / "gps" / "DSCN0010.jpg"
    result = run_daemon("locate", "--no-ai", str(photo), cwd=tmp_path, timeout=60, python=("-X", "importtime"))
    assert result.returncode == 0 and json.loads(result.stdout)["source"] == "exif", result.stderr[-2000:]
    imported = imported_modules(result.stderr)
    assert "geolocator.commands.locate" in imported  # the measurement itself works
    heavy = sorted(m for m in imported if m.split(".")[0] in FORBIDDEN_FOR_LOCATE or m.startswith("geolocator.locate.ai"))
    assert heavy == []
