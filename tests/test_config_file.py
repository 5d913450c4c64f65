"""The shipped config.toml, and bad configurations refused by the daemon with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from processes import REPO, run_daemon

from geolocator.config import load_config, render_default_toml


def test_the_shipped_config_is_the_rendered_defaults():
    assert (REPO / "config.toml").read_text() == render_default_toml(), "regenerate config.toml from render_default_toml()"


@pytest.mark.parametrize(
    "text, named",
    [
        ("[watch]\nsettle_secs = 1\n", "settle_secs"),
        ("[watch]\nsettle_seconds = 'soon'\n", "settle_seconds"),
        ("[ollama]\nenabled = 'yes'\n", "enabled"),
    ],
)
def test_the_daemon_refuses_a_bad_config_naming_the_key_and_the_file(tmp_path, text, named):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    for command in ("check", "scan", "run"):
        proc = run_daemon(command, "--config", str(bad), cwd=tmp_path, timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert named in proc.stderr and str(bad) in proc.stderr
    assert not (tmp_path / "inbox").exists()  # nothing created on a bad config


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "config.toml"
    path.write_text('[paths]\ninbox = "drop"\ndatabase = "../db/photos.json"\n')
    config = load_config(path, cwd=Path("/"))
    assert config.paths.inbox == tmp_path / "conf" / "drop"
    assert config.paths.database == tmp_path / "db" / "photos.json"
