"""JSON's shape checked on the bytes as they stream to ijson, before ijson sees them.

ijson (yajl) is a streaming parser, but three shapes still cost it memory or time without bound,
and it offers no limit for any of them:
- nesting: it keeps one prefix string per open level, each longer than the last, so memory grows
  with the square of the depth (40,000 `[` in 80 KB took 4.1 GB);
- one long string or number: yajl buffers the whole token, and re-scans it at every read
  (a 200 MB number ran for minutes);
- one huge entry where `ijson.items` builds each entry whole (a "location" holding an array of
  millions of values).
`GuardedJson` wraps the file: each chunk read is checked with a few vectorised numpy passes
(quotes, escapes, brackets outside strings) against `JsonShape`, and a chunk past a limit is
refused with `TrackError` before the parser reads it. About 1 ms a MiB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

import numpy as np

from geolocator.locate.tracks.model import TrackError, TrackTooBig

_BOM = b"\xef\xbb\xbf"
_QUOTE, _BACKSLASH, _COMMA, _COLON = 0x22, 0x5C, 0x2C, 0x3A
_OPEN, _CLOSE = 0x5B, 0x5D  # `[` and `]`; `{` and `}` are the same bytes with bit 5 set
_CASE_BIT_OFF = 0xDF


@dataclass(frozen=True)
class JsonShape:
    max_depth: int = 64  # GeoJSON's deepest (MultiPolygon in a FeatureCollection) is 7
    max_token: int = 1 << 20  # one string or number, in bytes
    entry_depth: int | None = None  # the depth of the entries `ijson.items` builds whole, if any
    max_entry: int = 1 << 20  # bytes of one such entry: a Takeout location is ~300, a day's segment a few thousand


class GuardedJson:
    """A binary reader for ijson that refuses JSON past `shape` (and drops a UTF-8 BOM, which
    yajl does not take)."""

    def __init__(self, raw: IO[bytes], shape: JsonShape) -> None:
        self._raw = raw
        self._shape = shape
        self._offset = 0  # of the next chunk in the stream
        self._in_string = False
        self._string_start = 0  # where the open string's quote is, while in one
        self._backslashes = 0  # the run of backslashes ending the last chunk (its parity matters)
        self._last_delimiter = -1  # where the last byte that ends a number or word was
        self._depth = 0
        self._entry_start: int | None = None  # where the open entry began, while in one

    def read(self, size: int = -1) -> bytes:
        # At most max_token at a time: then no word can span a chunk's middle (`_words`).
        data = self._raw.read(min(size, self._shape.max_token) if size >= 0 else self._shape.max_token)
        if self._offset == 0 and data.startswith(_BOM):
            data = data[len(_BOM) :]
        if data:
            self._check(np.frombuffer(data, dtype=np.uint8), b"\\" in data)
            self._offset += len(data)
        return data

    def _check(self, chunk: np.ndarray, has_backslash: bool) -> None:
        base, size = self._offset, len(chunk)
        folded = chunk & _CASE_BIT_OFF
        at = np.flatnonzero((chunk == _QUOTE) | (folded == _OPEN) | (folded == _CLOSE))  # quotes and brackets
        values = chunk[at]
        is_quote = values == _QUOTE
        if has_backslash or self._backslashes % 2:
            quote_at = np.flatnonzero(is_quote)
            escaped = self._escaped(at[quote_at], chunk == _BACKSLASH)
            if escaped.any():  # a `\"` is neither a quote nor a bracket
                keep = np.ones(len(at), dtype=bool)
                keep[quote_at[escaped]] = False
                at, values, is_quote = at[keep], values[keep], is_quote[keep]
        was_in_string = int(self._in_string)
        self._strings(at[is_quote], base, size)
        quotes_before = np.cumsum(is_quote) - is_quote
        bracket = ~is_quote & ((quotes_before + was_in_string) % 2 == 0)  # outside strings
        self._words(chunk, base, size)
        if bracket.any():
            self._nesting(at[bracket], np.where((values[bracket] & _CASE_BIT_OFF) == _OPEN, 1, -1), base, size)
        elif self._entry_start is not None and base + size - self._entry_start > self._shape.max_entry:
            raise self._entry_too_big()

    def _escaped(self, quotes: np.ndarray, backslash: np.ndarray) -> np.ndarray:
        """Which quotes follow an odd run of backslashes (`\\"`), counting a run carried over."""
        index = np.arange(len(backslash))
        last_other = np.maximum.accumulate(np.where(backslash, -1, index))  # last non-backslash at or before i
        before = quotes - 1
        reaches_start = (before < 0) | (last_other[np.maximum(before, 0)] < 0)
        run = np.where(before < 0, 0, before - last_other[np.maximum(before, 0)]) + np.where(reaches_start, self._backslashes, 0)
        end = len(backslash) - 1
        self._backslashes = int(end - last_other[end]) + (self._backslashes if last_other[end] < 0 else 0)
        escaped: np.ndarray = run % 2 == 1
        return escaped

    def _strings(self, quotes: np.ndarray, base: int, size: int) -> None:
        """Quotes alternate opening and closing a string: no string may be longer than max_token."""
        if self._in_string:
            opens, closes = np.concatenate(([self._string_start - base], quotes[1::2])), quotes[0::2]
        else:
            opens, closes = quotes[0::2], quotes[1::2]
        closed = min(len(opens), len(closes))
        if closed and int((closes[:closed] - opens[:closed]).max()) > self._shape.max_token:
            raise self._token_too_long()
        self._in_string = len(opens) > closed
        if self._in_string:
            self._string_start = base + int(opens[-1])
            if base + size - self._string_start > self._shape.max_token:
                raise self._token_too_long()

    def _nesting(self, brackets: np.ndarray, steps: np.ndarray, base: int, size: int) -> None:
        depths = self._depth + np.cumsum(steps)
        if int(depths.max()) > self._shape.max_depth:
            raise TrackError(f"JSON nested more than {self._shape.max_depth} deep: no track is")
        self._depth = int(depths[-1])
        level = self._shape.entry_depth
        if level is None:
            return
        starts = brackets[(steps > 0) & (depths == level)] + base
        ends = brackets[(steps < 0) & (depths == level - 1)] + base
        if self._entry_start is not None:
            starts = np.concatenate(([self._entry_start], starts))
        closed = min(len(starts), len(ends))
        if closed and int((ends[:closed] - starts[:closed]).max()) > self._shape.max_entry:
            raise self._entry_too_big()
        self._entry_start = int(starts[-1]) if len(starts) > closed else None
        if self._entry_start is not None and base + size - self._entry_start > self._shape.max_entry:
            raise self._entry_too_big()

    def _words(self, chunk: np.ndarray, base: int, size: int) -> None:
        """A number or word runs between delimiters: none may be longer than max_token. A chunk is
        at most max_token long, so only the runs at its two ends can be: found from each end."""
        first = _first_delimiter(chunk)
        if first is None:
            if base + size - 1 - self._last_delimiter > self._shape.max_token:
                raise self._token_too_long()
            return
        if base + first - self._last_delimiter - 1 > self._shape.max_token:
            raise self._token_too_long()
        self._last_delimiter = base + _last_delimiter(chunk)

    def _token_too_long(self) -> TrackTooBig:
        return TrackTooBig(f"a JSON string or number longer than {_size(self._shape.max_token)}: no track has one")

    def _entry_too_big(self) -> TrackTooBig:
        return TrackTooBig(f"one JSON entry (a location, a segment) of more than {_size(self._shape.max_entry)}: refused")


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def _delimiters(part: np.ndarray) -> np.ndarray:
    folded = part & _CASE_BIT_OFF
    found: np.ndarray = (part <= 0x20) | (folded == _OPEN) | (folded == _CLOSE) | (part == _QUOTE) | (part == _COMMA) | (part == _COLON)
    return found


def _first_delimiter(chunk: np.ndarray) -> int | None:
    """The first delimiter's index: JSON has one every few bytes, so a short look finds it."""
    start = 0
    for width in (64, 1 << 12, len(chunk)):
        found = np.flatnonzero(_delimiters(chunk[start:width]))
        if len(found):
            return start + int(found[0])
        start = width
    return None


def _last_delimiter(chunk: np.ndarray) -> int:
    """The last delimiter's index, in a chunk that has one."""
    end = len(chunk)
    for width in (64, 1 << 12, len(chunk)):
        begin = max(0, len(chunk) - width)
        found = np.flatnonzero(_delimiters(chunk[begin:end]))
        if len(found):
            return begin + int(found[-1])
        end = begin
    raise ValueError("a chunk without a delimiter")
