"""A flush that fails for real (issue 8 item 17): the journal's filesystem is full after a photo
was moved, so only clearing its intent fails. The log must say the photo is in place (never "it
stays in the inbox"), the photo must be there, and the next flush with room again clears it.

The fault: the database lives on a small tmpfs (tests/smallfs.py). tmpfs hands out whole pages,
so once it is full a journal line still fits in the journal's last, partly used page, and the
next line that crosses into a new page gets ENOSPC. The photo's name is chosen so that its
intent line fits in that page and the line clearing the intent does not.
"""

from __future__ import annotations

import logging
from pathlib import Path

from expect import wait_until
from photos import GPS_JPEGS, copy_corpus
from records import record_of
from smallfs import fill_space, small_fs

from geolocator.record import PhotoRecord
from geolocator.service import Service

PAGE = 4096  # tmpfs allocates whole pages of this size (x86-64, arm64 with 4K pages)
MARGIN = 64  # bytes kept clear of either edge of the window, for safety
MAX_EXTRA = 200  # how much longer than the warm-up's name the photo's name may be


def settled(svc: Service, name: str) -> PhotoRecord | None:
    assert svc.store is not None
    return record_of(svc.store, name)


def drop(svc: Service, inbox: Path, name: str, seed: int) -> PhotoRecord:
    copy_corpus(GPS_JPEGS[0], inbox / name, extra=seed.to_bytes(4, "big"))  # same metadata, new hash
    return wait_until(lambda: settled(svc, name), 10, f"{name} filed and its intent cleared")


def last_two_lines(journal: Path) -> tuple[int, int]:
    """Lengths (newline included) of the journal's last intent line and of the line clearing it."""
    intent, cleared = journal.read_bytes().splitlines(keepends=True)[-2:]
    assert b'"moving_from":"/' in intent and b'"moving_from":"' not in cleared  # cleared: left out, as a default
    return len(intent), len(cleared)


def test_a_flush_that_fails_on_a_full_disk_says_the_photo_was_moved_and_is_redone(service, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    inbox = tmp_path / "inbox"
    with small_fs(tmp_path / "fs", size="1m", inodes=64) as fs:
        # Copies off: their pass after filing would write a line of its own after the two measured.
        svc = service(paths={"database": str(fs / "geolocator.json")}, location={"copies": False})
        journal = fs / "geolocator.json.journal"
        stem = "w"
        drop(svc, inbox, f"{stem}0.jpg", 0)
        intent_len, cleared_len = last_two_lines(journal)
        # Each extra character of the name lengthens the intent line 3 times (name, path,
        # moving_from) and the clearing line twice (name, path). Find a name whose intent line
        # fits the page's slack and whose clearing line does not; else shift the journal with
        # another warm-up photo and look again.
        for warmups in range(1, 8):
            slack = -journal.stat().st_size % PAGE
            fits = [k for k in range(MAX_EXTRA) if intent_len + 3 * k <= slack - MARGIN and intent_len + 3 * k + cleared_len + 2 * k >= slack + MARGIN]
            if fits:
                break
            drop(svc, inbox, f"{stem}{warmups}.jpg", warmups)
        else:
            raise AssertionError("no name length splits the two journal lines across a page")
        name = f"{stem}{'x' * fits[0]}.jpg"

        filler = fill_space(fs)
        copy_corpus(GPS_JPEGS[0], inbox / name, extra=b"the one")
        wait_until(lambda: "cannot record that moved photos are in place" in caplog.text, 10, "the failed flush logged")
        assert svc.store is not None
        record = next(r for r in svc.store.all() if r.name == name)
        assert record.moving_from == str(inbox / name)  # the intent is kept for the next try
        assert (tmp_path / "library" / record.path).is_file() and not (inbox / name).exists()  # where the log says
        failure = next(r for r in caplog.records if "moved photos are in place" in r.getMessage())
        assert failure.levelno == logging.ERROR and "No space left on device" in failure.getMessage()
        assert "stays in the inbox" not in caplog.text and "failed unexpectedly" not in caplog.text
        assert svc.problem() is not None and "No space left on device" in svc.problem()

        filler.unlink()  # room again: the next flush clears the kept intent too
        drop(svc, inbox, "after.jpg", 99)
        wait_until(lambda: settled(svc, name), 10, "the kept intent cleared by the next flush")
        assert svc.healthy()
        svc.stop()
