"""When a photo was taken, read from its file name, for files whose metadata is gone (pure).

Phones and messaging apps name files after the moment they made them, and keep that name when
the metadata inside is stripped. Each pattern below says what its clock is:
  - UTC: Google's Pixel camera (`PXL_20240615_093000123.jpg`, milliseconds at the end) names
    files in UTC, whatever the zone the phone is in;
  - local time: Android cameras (`IMG_20240615_113000.jpg`, also VID_, PANO_, MVIMG_),
    Samsung (`20240615_113000.jpg`), Android screenshots (`Screenshot_20240615-113000.png`,
    `Screenshot_2024-06-15-11-30-00-123_com.app.jpg`), macOS screenshots
    (`Screenshot 2024-06-15 at 11.30.00.png`), Signal (`signal-2024-06-15-113000.jpg`,
    `signal-2024-06-15-11-30-00-123.jpg`) and Telegram Desktop (`photo_2024-06-15_11-30-00.jpg`):
    the wall clock, like a camera's DateTimeOriginal without its offset. Signal's and
    Telegram's are the moment the app saved the picture: for a photo taken in the app that is
    when it was taken, for one forwarded it may be later;
  - date only: WhatsApp (`IMG-20240615-WA0003.jpg`, VID-, AUD-, PTT-, STK-): the day the app
    saved it, and a counter. A day places nothing by time, but files the photo under its month.
A name is read only when the file itself records no time (never over a time in the file), and
only as a real calendar date between 1990 and 2100.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

FIRST_YEAR, LAST_YEAR = 1990, 2100


class NameClock(enum.Enum):
    UTC = "UTC"
    LOCAL = "local time"
    DATE_ONLY = "date only"


@dataclass(frozen=True)
class NamePattern:
    app: str  # who names files so: "Pixel camera"
    clock: NameClock
    regex: re.Pattern[str]  # groups Y, m, d and (but for DATE_ONLY) H, M, S


def _pattern(app: str, clock: NameClock, regex: str) -> NamePattern:
    # The whole name must start with the pattern and go on with no further digit: a longer run of
    # digits is another kind of name, never a time read wrongly.
    return NamePattern(app, clock, re.compile(regex + r"(?!\d)", re.IGNORECASE))


_D8 = r"(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"
_T6 = r"(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})"
_DASHED = r"(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"

PATTERNS: tuple[NamePattern, ...] = (
    _pattern("Pixel camera", NameClock.UTC, rf"PXL_{_D8}_{_T6}\d{{0,3}}"),
    _pattern("WhatsApp", NameClock.DATE_ONLY, rf"(?:IMG|VID|AUD|PTT|STK)-{_D8}-WA\d+"),
    _pattern("Android camera", NameClock.LOCAL, rf"(?:IMG|VID|PANO|MVIMG|BURST\d*)_{_D8}_{_T6}"),
    _pattern("Android screenshot", NameClock.LOCAL, rf"Screenshot_{_D8}-{_T6}"),
    _pattern("Android screenshot", NameClock.LOCAL, rf"Screenshot_{_DASHED}-(?P<H>\d{{2}})-(?P<M>\d{{2}})-(?P<S>\d{{2}})"),
    _pattern("macOS screenshot", NameClock.LOCAL, rf"Screenshot {_DASHED} at (?P<H>\d{{1,2}})\.(?P<M>\d{{2}})\.(?P<S>\d{{2}})"),
    _pattern("Signal", NameClock.LOCAL, rf"signal-{_DASHED}-{_T6}"),
    _pattern("Signal", NameClock.LOCAL, rf"signal-{_DASHED}-(?P<H>\d{{2}})-(?P<M>\d{{2}})-(?P<S>\d{{2}})"),
    _pattern("Telegram", NameClock.LOCAL, rf"photo_{_DASHED}_(?P<H>\d{{2}})-(?P<M>\d{{2}})-(?P<S>\d{{2}})"),
    _pattern("Samsung camera", NameClock.LOCAL, rf"{_D8}_{_T6}"),
)


@dataclass(frozen=True)
class NamedTime:
    """The moment a file name gives, and how to read it."""

    wall: datetime  # naive: the clock as the name shows it (midnight for a date alone)
    clock: NameClock
    app: str
    name: str  # the file name it was read from

    @property
    def taken_at(self) -> str:
        """As a record's `taken_at`: a date alone, a wall clock, or a UTC time with its offset."""
        match self.clock:
            case NameClock.DATE_ONLY:
                return self.wall.date().isoformat()
            case NameClock.UTC:
                return self.wall.isoformat() + "+00:00"
            case NameClock.LOCAL:
                return self.wall.isoformat()

    @property
    def source(self) -> str:
        """What a record's `time_source` says: "the file name PXL_....jpg (Pixel camera: UTC)"."""
        return f"the file name {self.name} ({self.app}: {self.clock.value})"


def time_from_name(name: str) -> NamedTime | None:
    """The capture time a phone or app wrote into the file name `name`, or None."""
    for pattern in PATTERNS:
        found = pattern.regex.match(name)
        if found is None:
            continue
        parts = found.groupdict()
        try:
            wall = datetime(
                int(parts["Y"]), int(parts["m"]), int(parts["d"]), int(parts.get("H") or 0), int(parts.get("M") or 0), int(parts.get("S") or 0)
            )
        except ValueError:  # not a real date or time (20241345_...)
            return None
        if not FIRST_YEAR <= wall.year <= LAST_YEAR:
            return None
        return NamedTime(wall, pattern.clock, pattern.app, name)
    return None
