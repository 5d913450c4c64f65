"""systemd integration: the units verify, and the daemon speaks sd_notify."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from configs import write_config
from expect import never, wait_until
from photos import GPS_JPEGS, copy_corpus
from processes import REPO, run_daemon, stop
from smallfs import fill_space, small_fs

UNITS = REPO / "systemd"


def verify(unit: Path, tmp_path: Path, user: bool) -> subprocess.CompletedProcess:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    # Point the unit at this checkout so ExecStart's program exists.
    text = unit.read_text().replace("%h/geolocator/.venv/bin/python", sys.executable).replace("/opt/geolocator/.venv/bin/python", sys.executable)
    text = text.replace("%h/geolocator", str(REPO)).replace("/opt/geolocator", str(REPO))
    local = tmp_path / unit.name
    local.write_text(text)
    env = dict(os.environ)
    args = ["systemd-analyze", "verify"]
    if user:
        runtime = tmp_path / "run"
        runtime.mkdir(mode=0o700)
        env["XDG_RUNTIME_DIR"] = str(runtime)
        args.append("--user")
    return subprocess.run([*args, str(local)], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("name, user", [("geolocator.service", False), ("geolocator-user.service", True)])
def test_the_units_verify_cleanly(tmp_path, name, user):
    result = verify(UNITS / name, tmp_path, user)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_system_unit_is_notify_with_a_watchdog_and_hardened():
    text = (UNITS / "geolocator.service").read_text()
    required = ("Type=notify", "NotifyAccess=main", "WatchdogSec=60", "Restart=on-failure", "User=geolocator", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes")
    for line in (*required, "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"):
        assert f"\n{line}\n" in text, line


class NotifySocket:
    """The socket systemd listens on for sd_notify messages, as a test reads it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.05)
        self.messages: list[str] = []

    def received(self) -> list[str]:
        try:
            while True:
                self.messages.append(self._sock.recv(4096).decode())
        except (TimeoutError, BlockingIOError):
            pass
        return self.messages

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def notify(tmp_path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


def under_systemd(notify: NotifySocket) -> dict[str, str]:
    """The environment systemd gives a Type=notify service with WatchdogSec (pings every 0.2 s)."""
    return {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "400000"}


def test_the_daemon_notifies_ready_status_watchdog_and_stopping(daemon, notify, tmp_path, corpus):
    config = write_config(tmp_path / "config.toml")
    proc = daemon("--config", str(config), **under_systemd(notify))
    wait_until(lambda: any(m.startswith("READY=1") for m in notify.received()), 30, "READY=1")
    ready = next(m for m in notify.messages if m.startswith("READY=1"))
    assert "STATUS=0 located, 0 unlocated, 0 pending, 0 failed, 0 duplicate" in ready
    wait_until(lambda: sum(m == "WATCHDOG=1" for m in notify.received()) >= 2, 5, "watchdog pings every 0.2 s")
    stop(proc, signal.SIGTERM)
    assert proc.returncode == 0
    assert any(m.startswith("STOPPING=1") for m in notify.received())


def test_a_full_disk_stops_the_watchdog_sigterm_still_ends_and_a_restart_says_one_line(daemon, notify, tmp_path, corpus):
    with small_fs(tmp_path / "fs", size="1m", inodes=64) as fs:
        config = write_config(tmp_path / "config.toml", settle=0.2, paths={"database": str(fs / "geolocator.json")}, viewer={"enabled": True, "port": 0})
        proc = daemon("--config", str(config), **under_systemd(notify))
        wait_until(lambda: any(m.startswith("READY=1") for m in notify.received()), 30, "READY=1")
        filler = fill_space(fs)
        copy_corpus(GPS_JPEGS[0], tmp_path / "inbox" / "a.jpg", extra=b"x" * 20000)
        unhealthy = wait_until(lambda: next((m for m in notify.received() if m.startswith("STATUS=unhealthy")), None), 15, "an unhealthy STATUS")
        assert "cannot write the database" in unhealthy and "No space left on device" in unhealthy
        pings = notify.received().count("WATCHDOG=1")
        never(lambda: notify.received().count("WATCHDOG=1") > pings, 1.0, what="a watchdog ping while unhealthy")
        _, err = stop(proc, signal.SIGTERM, timeout=30)  # on the full disk: the flush and the fold fail, stopping must not
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        assert (tmp_path / "inbox" / "a.jpg").is_file()  # not taken: it waits for room

        restart = run_daemon("--config", str(config), cwd=tmp_path, timeout=60)
        assert restart.returncode == 2
        assert restart.stderr.count("\n") == 1 and "No space left on device" in restart.stderr, restart.stderr
        filler.unlink()


def test_the_system_unit_makes_a_setgid_inbox_its_group_can_drop_photos_into(tmp_path):
    text = (UNITS / "geolocator.service").read_text()
    assert "\nStateDirectoryMode=0750\n" in text  # the group may reach the inbox
    line = next(line for line in text.splitlines() if line.startswith("ExecStartPre=+"))
    argv = line.removeprefix("ExecStartPre=+").split()
    assert argv[-1] == "/var/lib/geolocator/inbox" and argv[argv.index("-g") + 1] == "geolocator"
    # Run the unit's own command, for this test's user and folder instead of geolocator's.
    me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    argv = [{"geolocator": me}.get(a, a) for a in argv[:-1]] + [str(tmp_path / "inbox")]
    argv[argv.index("-g") + 1] = group
    (tmp_path / "inbox").mkdir(mode=0o700)  # already there from an earlier start, narrower
    subprocess.run(argv, check=True, timeout=30)
    assert stat.S_IMODE((tmp_path / "inbox").stat().st_mode) == 0o2770  # setgid, group-writable
