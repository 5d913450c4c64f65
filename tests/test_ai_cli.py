"""`daemon.py locate` and `daemon.py check` end to end, against the fake Ollama server."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from configs import write_config
from fake_ollama import FakeOllama
from PIL import Image
from processes import free_port, run_daemon
from records import record

from geolocator.commands.check import main as run_checks
from geolocator.config import load_config


def test_locate_prints_the_ai_estimate_for_a_photo_without_gps(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    photo = tmp_path / "no-gps.jpg"
    Image.new("RGB", (640, 480), (120, 130, 140)).save(photo)
    config = write_config(tmp_path / "config.toml", ai=fake_ollama.url)

    result = run_daemon("locate", "--config", str(config), str(photo), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["file"] == str(photo) and line["source"] == "ai" and line["error"] is None
    assert (line["lat"], line["lon"]) == (48.8584, 2.2945)
    assert line["place"] == "Eiffel Tower, Paris, Île-de-France, France"
    assert line["confidence"] == 0.8 and line["radius_km"] == 3.0 and line["model"] == "qwen2.5vl"
    assert line["description"].startswith("The Eiffel Tower seen from the Champ de Mars. Clues: signs: French on a plaque")
    assert [r.path for r in fake_ollama.requests][-1] == "/api/chat"


def test_locate_reports_ollama_down_as_an_error_not_as_no_location(tmp_path: Path) -> None:
    photo = tmp_path / "no-gps.jpg"
    Image.new("RGB", (64, 48)).save(photo)
    config = write_config(tmp_path / "config.toml", ai=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    result = run_daemon("locate", "--config", str(config), str(photo), cwd=tmp_path)
    assert result.returncode == 1
    line = json.loads(result.stdout)
    assert line["source"] is None and "cannot connect to Ollama" in line["error"]


def test_check_passes_with_a_ready_server(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", ai=fake_ollama.url)
    result = run_daemon("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ok"] * 8
    assert lines[0] == f"ok   config: {config}"
    assert not any((tmp_path / name).exists() for name in ("inbox", "library", "failed", "duplicates"))  # check only looks
    assert "ok   ollama: Ollama 0.12.6" in result.stdout and "'qwen2.5vl' (vision)" in result.stdout


def test_check_fails_on_a_missing_model_naming_the_fix(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", ai=fake_ollama.url, ollama={"model": "llava"})
    result = run_daemon("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "FAIL ollama: model 'llava' is not installed" in result.stdout and "`ollama pull llava`" in result.stdout


def test_check_fails_on_a_server_that_is_down(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", ai=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    result = run_daemon("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "FAIL ollama: cannot connect to Ollama" in result.stdout and "ollama serve" in result.stdout
    assert result.stdout.count("ok   ") == 7  # everything else passed


def test_check_with_ollama_disabled_and_embedded_defaults(tmp_path: Path) -> None:
    out = io.StringIO()
    config = load_config(None, cwd=tmp_path).replace("ollama", enabled=False)
    assert run_checks(config, out) == 0
    text = out.getvalue()
    assert "ok   config: embedded defaults" in text and "ok   ollama: disabled" in text


def test_check_fails_on_a_corrupt_database_and_an_unwritable_folder(tmp_path: Path) -> None:
    config = load_config(None, cwd=tmp_path).replace("ollama", enabled=False)
    config.paths.database.write_text('{"photos": {"1": ')
    config.paths.library.parent.mkdir(exist_ok=True)
    config.paths.library.write_text("a file where the library folder should be")
    out = io.StringIO()
    assert run_checks(config, out) == 1
    text = out.getvalue()
    assert "FAIL database:" in text and "not valid JSON" in text and "move it aside" in text
    assert "FAIL library:" in text and "not a folder" in text


@pytest.mark.skipif(sys.platform != "linux" or __import__("os").geteuid() == 0, reason="root can write anywhere")
def test_check_fails_on_a_read_only_inbox(tmp_path: Path) -> None:
    config = load_config(None, cwd=tmp_path).replace("ollama", enabled=False)
    config.paths.inbox.mkdir()
    config.paths.inbox.chmod(0o555)
    out = io.StringIO()
    assert run_checks(config, out) == 1
    assert "FAIL inbox:" in out.getvalue() and "not writable" in out.getvalue()


def test_check_sees_the_records_of_a_running_geolocator(tmp_path: Path) -> None:
    from geolocator.record import Status
    from geolocator.record.store import Store

    config_file = tmp_path / "config.toml"
    config_file.write_text("[ollama]\nenabled = false\n")
    with Store(tmp_path / "geolocator.json") as store:  # running: its records only in the journal yet
        store.put(record(1, name="a.jpg", path="a.jpg", status=Status.UNLOCATED, source=None, lat=None, lon=None))
        result = run_daemon("check", "--config", str(config_file), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(valid, 1 record, in use by a running geolocator)" in result.stdout
