"""Log lines: one event per line whatever a file name holds; timestamps unless journald adds them."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys

from conftest import REPO

from geolocator.logs import EscapingFormatter, escape

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO geolocator: hello$")


def test_control_characters_and_undecodable_bytes_are_escaped():
    name = os.fsdecode(b"a\nERROR b\r\x1b[31m\xe9\x85.jpg")
    assert escape(f"moved {name}") == "moved a\\x0aERROR b\\x0d\\x1b[31m\\xe9\\x85.jpg"
    assert escape("Aété — 東京 ok") == "Aété — 東京 ok"  # printable text stays as it is
    assert escape("x\u2028y") == "x\\u2028y"


def test_the_formatter_escapes_the_message_but_keeps_the_traceback_lines():
    formatter = EscapingFormatter("%(levelname)s %(message)s")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("geolocator", logging.ERROR, __file__, 1, "cannot file %s", ("p.jpg\nINFO all is well",), sys.exc_info())
    lines = formatter.format(record).splitlines()
    assert lines[0] == "ERROR cannot file p.jpg\\x0aINFO all is well"
    assert lines[1] == "Traceback (most recent call last):" and lines[-1] == "ValueError: boom"


LOG_ONCE = "from geolocator.logs import setup_logging; import logging; setup_logging(False); logging.getLogger('geolocator').info('hello')"


def log_once(journal_stream: str | None, read_fd: int, write_fd: int) -> str:
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    if journal_stream is not None:
        env["JOURNAL_STREAM"] = journal_stream
    subprocess.run([sys.executable, "-c", LOG_ONCE], stderr=write_fd, env=env, cwd=REPO, timeout=60, check=True)
    return os.read(read_fd, 4096).decode()


def test_lines_carry_a_timestamp_unless_stderr_is_the_journal_stream():
    read_fd, write_fd = os.pipe()
    try:
        st = os.fstat(write_fd)
        assert STAMP.match(log_once(None, read_fd, write_fd).rstrip("\n"))
        # systemd's JOURNAL_STREAM names stderr's device and inode: journald stamps the line itself
        assert log_once(f"{st.st_dev}:{st.st_ino}", read_fd, write_fd) == "INFO geolocator: hello\n"
        # inherited from a parent, naming another stream: not the journal
        assert STAMP.match(log_once(f"{st.st_dev}:{st.st_ino + 1}", read_fd, write_fd).rstrip("\n"))
    finally:
        os.close(read_fd)
        os.close(write_fd)
