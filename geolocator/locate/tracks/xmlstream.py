"""Streaming XML for track formats (GPX, KML, TCX), in bounded memory whatever the input.

defusedxml's parser (expat underneath) is fed the file in chunks and calls a `TrackXml` handler
element by element; no tree is ever built. Bounds, each refused with a clear `TrackError`:
- any DTD, wherever it comes (after comments too): defusedxml's `forbid_dtd`, so no entity is
  ever declared, let alone expanded;
- nesting deeper than MAX_DEPTH: expat keeps every open element, and a reader that recursed
  would crash (150,000 nested <extensions> elements crashed gpxpy);
- a tag, comment or declaration longer than MAX_TOKEN: expat holds an unfinished one whole and
  scans it again at every chunk; the handler sees no event while it grows, and that is refused;
- text: kept only for the elements a handler asks for, at most MAX_TEXT of it, or handed over
  in pieces (`TrackXml.text`) for the long ones (KML coordinates).
"""

from __future__ import annotations

from typing import IO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from geolocator.locate.tracks.model import NotATrack, TrackError, TrackTooBig

MAX_DEPTH = 64  # GPX's deepest standard element (an extension of a track point) is 7 levels down
MAX_TOKEN = 1 << 20
MAX_TEXT = 4096  # a time, a number, a name
CHUNK = 1 << 16

SHORT, STREAM = 1, 2  # what a handler wants of an element's text (else None: nothing)


class TrackXml:
    """A format's reader: told of each element by its local name (namespace dropped) and the
    local names of the elements around it (`path`, outermost first, itself last)."""

    def start(self, path: list[str], attrib: dict[str, str]) -> int | None:
        """An element opens; return SHORT to get its text at `end`, STREAM to get it in pieces."""
        raise NotImplementedError

    def text(self, piece: str) -> None:
        """A piece of the text of an element `start` answered STREAM for (only those)."""

    def end(self, path: list[str], text: str | None) -> None:
        """An element closes, with its text if `start` asked for it (SHORT)."""
        raise NotImplementedError


def stream_xml(fh: IO[bytes], root: str, handler: TrackXml, what: str) -> None:
    """Feed the document in `fh` to `handler`. Raises NotATrack when its root element is not
    `root`, TrackError (naming `what`, e.g. "GPX") when it is malformed or past a bound."""
    events = _Events(root, handler, what)
    parser = DefusedXMLParser(target=events, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    fed = 0
    try:
        while chunk := fh.read(CHUNK):
            events.seen = False
            parser.feed(chunk)
            fed += len(chunk)
            if events.seen:
                events.last_event = fed
            elif fed - events.last_event > MAX_TOKEN:
                raise TrackTooBig(f"{what} with a tag, comment or declaration of more than {MAX_TOKEN >> 20} MiB: no track has one")
        parser.close()
    except DefusedXmlException:
        raise TrackError(f"{what} with a DTD: refused (a track never needs one; its entities could expand without end)") from None
    except (ParseError, LookupError) as exc:  # LookupError: an encoding Python does not know
        raise TrackError(f"malformed {what}: {' '.join(str(exc).split())[:200]}") from None


class _Events:
    """The target defusedxml's parser calls: keeps the path, checks the bounds, and collects
    the text the handler wants."""

    def __init__(self, root: str, handler: TrackXml, what: str) -> None:
        self.root = root
        self.handler = handler
        self.what = what
        self.path: list[str] = []
        self.wants: list[int | None] = []
        self.pieces: list[str] = []
        self.kept = 0
        self.seen = False  # an event during the last chunk fed
        self.last_event = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.seen = True
        name = tag.rpartition("}")[2]
        if not self.path and name != self.root:
            raise NotATrack(f"XML whose root is <{name}>, not <{self.root}>")
        if len(self.path) >= MAX_DEPTH:
            raise TrackError(f"{self.what} nested more than {MAX_DEPTH} elements deep: no track is")
        self.path.append(name)
        want = self.handler.start(self.path, attrib)
        self.wants.append(want)
        self.pieces.clear()
        self.kept = 0

    def data(self, piece: str) -> None:
        self.seen = True
        want = self.wants[-1] if self.wants else None
        if want == STREAM:
            self.handler.text(piece)
        elif want == SHORT:
            self.kept += len(piece)
            if self.kept > MAX_TEXT:
                raise TrackTooBig(f"{self.what} with a <{self.path[-1]}> of more than {MAX_TEXT:,} characters: no track has one")
            self.pieces.append(piece)

    def end(self, tag: str) -> None:
        self.seen = True
        want = self.wants.pop()
        text = "".join(self.pieces) if want == SHORT else None
        self.pieces.clear()
        self.kept = 0
        self.handler.end(self.path, text)
        self.path.pop()

    def comment(self, text: str) -> None:
        self.seen = True

    def pi(self, target: str, text: str) -> None:
        self.seen = True
