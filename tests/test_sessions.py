"""The sessions table: kept in a 0600 file beside the database (a restart keeps people logged in),
ended by a logout or a new password, holding only digests of the tokens, bounded. Real files."""

from __future__ import annotations

import json
import logging

from geolocator.auth import SESSION_SECONDS
from viewer import sessions as sessions_module
from viewer.sessions import Sessions, sessions_path

NOW = 1_800_000_000.0


def test_a_session_outlives_a_restart_and_ends_at_logout(tmp_path):
    path = sessions_path(tmp_path / "geolocator.json")
    assert path == tmp_path / "geolocator.sessions"
    table = Sessions(path)
    token = table.open("gen-1", NOW)
    assert table.valid(token, "gen-1", NOW)
    assert path.stat().st_mode & 0o777 == 0o600
    kept = path.read_text()
    assert token not in kept and len(json.loads(kept)) == 1  # only its digest
    restarted = Sessions(path)
    assert restarted.valid(token, "gen-1", NOW + 60)
    restarted.end(token)
    assert not restarted.valid(token, "gen-1", NOW + 60)
    assert not Sessions(path).valid(token, "gen-1", NOW + 60)  # ended on disk too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["geolocator.sessions"]  # no temporary file left


def test_a_session_ends_when_it_expires_or_the_password_changes(tmp_path):
    table = Sessions(tmp_path / "s.sessions")
    token = table.open("gen-1", NOW)
    assert table.valid(token, "gen-1", NOW + SESSION_SECONDS - 1)
    assert not table.valid(token, "gen-1", NOW + SESSION_SECONDS)
    assert not table.valid(token, "gen-2", NOW)  # a new password hash
    other = table.open("gen-2", NOW)  # opening under the new one drops the old generation's
    assert len(table) == 1 and table.valid(other, "gen-2", NOW)
    for bad in (None, "", "x" * 43, other + "x"):
        assert not table.valid(bad, "gen-2", NOW)
        table.end(bad)  # ending what is no session changes nothing
    assert table.valid(other, "gen-2", NOW)


def test_the_table_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(sessions_module, "MAX_SESSIONS", 5)
    table = Sessions(tmp_path / "s.sessions")
    tokens = [table.open("g", NOW + i) for i in range(8)]
    assert len(table) == 5
    assert [table.valid(t, "g", NOW + 8) for t in tokens] == [False] * 3 + [True] * 5  # the first to expire went


def test_a_damaged_file_means_logging_in_again(tmp_path, caplog):
    path = tmp_path / "geolocator.sessions"
    for damaged in (b"{", b"[]", b'{"ab": {"expires": "soon"}}', b"\xff"):
        path.write_bytes(damaged)
        with caplog.at_level(logging.WARNING):
            table = Sessions(path)
        assert len(table) == 0 and "everyone logs in again" in caplog.text
        caplog.clear()
        token = table.open("g", NOW)  # and the file is whole again
        assert Sessions(path).valid(token, "g", NOW)
