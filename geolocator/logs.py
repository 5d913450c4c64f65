"""Log lines: one event per line whatever a file name holds, with a timestamp unless journald
adds its own."""

from __future__ import annotations

import logging
import os
import re
import sys

# C0 and C1 controls, Unicode line/paragraph separators, and the lone surrogates that stand for
# the undecodable bytes of a non-UTF-8 file name (Python's surrogateescape).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SURROGATE_BYTES = range(0xDC80, 0xDD00)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code in _SURROGATE_BYTES:
        return f"\\x{code - 0xDC00:02x}"  # the original byte, as Python's repr of bytes shows it
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """`text` with every control character written as an escape: it cannot start a new line."""
    return _UNSAFE.sub(_escape_char, text)


class EscapingFormatter(logging.Formatter):
    """Escapes the message, so a file named "a.jpg\\nERROR ..." cannot forge a log line.
    Tracebacks, which are ours, keep their lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape(record.message)
        return super().formatMessage(record)


def under_journald() -> bool:
    """Whether stderr goes to the journal: systemd sets JOURNAL_STREAM to its "device:inode"
    (systemd.exec(5)); comparing them ignores a variable inherited by a child writing elsewhere."""
    device, _, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    try:
        st = os.fstat(sys.stderr.fileno())
        return (st.st_dev, st.st_ino) == (int(device), int(inode))
    except (ValueError, OSError):
        return False


def setup_logging(verbose: bool) -> None:
    # journald stamps each line with the time and the unit; anywhere else the line carries the time.
    fmt = "%(levelname)s %(name)s: %(message)s" if under_journald() else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter(fmt))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    for noisy in ("httpx", "httpcore", "PIL", "watchdog"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Its warnings on a corrupt file repeat what we report better: the one clear reason we log.
    logging.getLogger("exifread").setLevel(logging.ERROR)
