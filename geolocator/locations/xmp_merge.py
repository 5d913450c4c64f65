"""Editing a few properties of an XMP packet in place, keeping every other byte of it. Pure.

Other programs' sidecars (darktable's develop history, digiKam's tags, Lightroom's settings, a
rating set with exiftool) must survive our edits byte for byte, and no XML library writes back
what it read unchanged: ElementTree drops comments, reorders namespace declarations and rewrites
quotes and whitespace. So the packet is parsed only to check it and to find where things are, and
the edits are textual: a value replaced between its quotes (or between its tags), a property cut
out with the blank before it, new properties added as attributes of an rdf:Description.

Only top-level properties are seen and edited: the attributes and child elements of the
rdf:Description elements directly under rdf:RDF. The same names deeper down (an exif:GPSLatitude
inside an IPTC LocationShown structure) belong to their structure and are never touched.

The packet is checked twice: by defusedxml (no DTD, hence no entities to expand or fetch; prefixes
bound), then scanned with pyexpat for byte offsets (which ElementTree does not give), with the same
DTD refusal. The result is scanned again before it is handed back, so a file we could not edit
cleanly is refused rather than written.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

QName = tuple[str, str]  # (namespace URI, local name)

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XMP_META = "adobe:ns:meta/"
XML = "http://www.w3.org/XML/1998/namespace"
_ROOTS = {(XMP_META, "xmpmeta"), (XMP_META, "xapmeta")}
_BLANK = b" \t\r\n"
# One attribute of a start tag that expat accepted: blank, name, =, quoted value (which cannot hold its own quote).
_ATTRIBUTE = re.compile(rb"""([ \t\r\n]+)([^ \t\r\n=/>]+)[ \t\r\n]*=[ \t\r\n]*("[^"]*"|'[^']*')""")
_TAG = re.compile(rb"""<[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>""")
_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# Attributes of an rdf:Description that are not properties.
_NOT_PROPERTIES = {(RDF, "about"), (RDF, "ID"), (RDF, "nodeID"), (XML, "lang")}


class NotMergeable(ValueError):
    """The bytes are not an XMP packet we can edit (the message says why); they are left as they are."""


@dataclass(frozen=True)
class Found:
    """A top-level property as it is written in the packet."""

    name: QName
    value: str | None  # its text; None when it is not a simple value (a structure, an array, a resource)
    span: tuple[int, int]  # the bytes removing it takes out, the blank before it included
    value_span: tuple[int, int] | None  # the bytes of its value, when it can be changed in place
    quote: str  # the attribute's quote character; "" for an element
    holder: int  # index of its rdf:Description in Packet.holders


@dataclass(frozen=True)
class Holder:
    """A top-level rdf:Description, and where a new attribute would go in its start tag."""

    attributes_end: int  # after its last attribute (or its name)
    separator: bytes  # the blank put before each new attribute: a new line and indent when its attributes have them
    bound: Mapping[str, str]  # prefix -> namespace URI in scope in its start tag
    about: str


@dataclass(frozen=True)
class Packet:
    data: bytes
    holders: tuple[Holder, ...]
    found: tuple[Found, ...]
    rdf_name: str  # rdf:RDF as written
    rdf_bound: Mapping[str, str]  # prefix -> namespace URI in scope in its start tag
    rdf_close: int  # where its end tag starts; -1 when it is an empty-element tag
    rdf_tag_end: int  # just after its start tag

    def values(self) -> dict[QName, str]:
        """The first simple value of each top-level property."""
        values: dict[QName, str] = {}
        for found in self.found:
            if found.value is not None:
                values.setdefault(found.name, found.value)
        return values

    def names(self) -> set[QName]:
        return {found.name for found in self.found}


def scan(data: bytes) -> Packet:
    """Where the top-level properties of the XMP packet `data` are. Raises NotMergeable."""
    _check(data)
    return _Scanner(data).run()


def merge(data: bytes, values: Mapping[QName, str], managed: Callable[[QName], bool], prefixes: Mapping[str, str]) -> bytes:
    """`data` with each property in `values` set (in place where it is written as a simple value,
    else added as an attribute), every other `managed` property removed, and all else kept byte
    for byte. `prefixes` names the prefix to declare for a namespace that has none in scope.
    Raises NotMergeable."""
    return edit(scan(data), values, managed, prefixes)


def edit(packet: Packet, values: Mapping[QName, str], managed: Callable[[QName], bool], prefixes: Mapping[str, str], *, check: bool = True) -> bytes:
    """`merge` on a packet already scanned; without `check`, the result is not scanned again
    (for a comparison only: never write such a result)."""
    edits: list[tuple[int, int, bytes]] = []
    placed: set[QName] = set()
    keeper: int | None = None  # the rdf:Description that held what we manage: new properties go there too
    for found in packet.found:
        wanted = found.name in values
        if not (wanted or managed(found.name)):
            continue
        keeper = found.holder if keeper is None else keeper
        if wanted and found.name not in placed and found.value_span is not None:
            start, end = found.value_span
            edits.append((start, end, _escape(values[found.name], found.quote).encode()))
            placed.add(found.name)
        else:  # not wanted any more, a second copy, or not a simple value: out (and added afresh)
            edits.append((*found.span, b""))
    missing = {name: value for name, value in values.items() if name not in placed}
    if missing:
        if packet.holders:
            edits.append(_add_to_holder(packet, keeper or 0, missing, prefixes))
        else:
            edits.append(_add_holder(packet, missing, prefixes))
    merged = _apply(packet.data, edits)
    if check and merged != packet.data:  # unchanged, it says `values` already: each was found, written the same
        _check_result(merged, values, managed)
    return merged


# -- scanning ------------------------------------------------------------------------------------------


def _check(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotMergeable("not UTF-8 text") from None
    declared = _ENCODING.match(data)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise NotMergeable(f"declared in {declared.group(1).decode()}, not UTF-8")
    # Imported here: ElementTree is only needed once a sidecar is written.
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise NotMergeable("it has a DTD") from None
    except (SafeET.ParseError, ValueError) as exc:
        raise NotMergeable(f"not well-formed XML ({exc})") from None


@dataclass
class _Open:
    """An element being scanned."""

    role: str  # "meta", "rdf", "holder", "property", "inner", "other"
    name: str
    start: int
    tag_end: int
    empty: bool  # an empty-element tag <a/>
    bound: dict[str, str]
    qname: QName = ("", "")
    simple: bool = True  # a property with text only
    text: list[str] = field(default_factory=list)


class _Scanner:
    """One pass of pyexpat over a packet defusedxml accepted, without namespace processing (the names
    as written are needed, to find them in the text); prefixes are resolved here."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.stack: list[_Open] = []
        self.holders: list[Holder] = []
        self.found: list[Found] = []
        self.rdf: _Open | None = None
        self.rdf_close = -1
        self.parser = xml.parsers.expat.ParserCreate()
        self.parser.ordered_attributes = True
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.characters
        self.parser.StartDoctypeDeclHandler = self.refuse_dtd

    def run(self) -> Packet:
        try:
            self.parser.Parse(self.data, True)
        except xml.parsers.expat.ExpatError as exc:
            raise NotMergeable(f"not well-formed XML ({exc})") from None
        if self.rdf is None:
            raise NotMergeable("no rdf:RDF element: not an XMP packet")
        return Packet(self.data, tuple(self.holders), tuple(self.found), self.rdf.name, self.rdf.bound, self.rdf_close, self.rdf.tag_end)

    def refuse_dtd(self, *_: object) -> None:
        raise NotMergeable("it has a DTD")

    def start(self, name: str, attributes: list[str]) -> None:
        start = self.parser.CurrentByteIndex
        tag_end = _tag_end(self.data, start)
        parent = self.stack[-1] if self.stack else None
        pairs = list(zip(attributes[::2], attributes[1::2], strict=True))
        bound = dict(parent.bound) if parent else {"xml": XML}
        for key, value in pairs:
            if key == "xmlns" or key.startswith("xmlns:"):
                bound[key[6:]] = value
        qname = _resolve(name, bound, element=True)
        opened = _Open(self._role(parent, qname), name, start, tag_end, self.data[tag_end - 2 : tag_end] == b"/>", bound, qname)
        if parent is not None and parent.role == "property":
            parent.simple = False
        if opened.role == "rdf" and self.rdf is None:
            self.rdf = opened
        elif opened.role == "holder":
            self._holder(opened, dict(pairs))
        elif opened.role == "property":
            # A value in an element is simple only with no attributes (but namespaces and xml:lang):
            # rdf:resource, rdf:parseType or qualifiers make it something else.
            opened.simple = not opened.empty and all(key.startswith("xmlns") or key == "xml:lang" for key, _ in pairs)
        self.stack.append(opened)

    def _role(self, parent: _Open | None, qname: QName) -> str:
        if parent is None:
            if qname in _ROOTS:
                return "meta"
            if qname == (RDF, "RDF"):
                return "rdf"
            raise NotMergeable(f"not an XMP packet: it starts with <{qname[1]}>")
        if parent.role == "meta" and qname == (RDF, "RDF"):
            return "rdf"
        if parent.role == "rdf" and qname == (RDF, "Description") and parent is self.rdf:
            return "holder"
        if parent.role == "holder":
            return "property"
        return "inner" if parent.role in ("property", "inner") else "other"

    def _holder(self, opened: _Open, values: dict[str, str]) -> None:
        index = len(self.holders)
        name_end = opened.start + 1 + len(opened.name.encode())
        attributes_end, separator, about = name_end, b" ", ""
        for match in _ATTRIBUTE.finditer(self.data, name_end, opened.tag_end):
            blank, raw, quoted = match.group(1), match.group(2).decode(), match.group(3)
            attributes_end = match.end()
            separator = blank if b"\n" in blank else b" "
            if raw == "xmlns" or raw.startswith("xmlns:") or ":" not in raw:
                continue  # a declaration, or an unprefixed attribute: in no namespace, no property
            qname = _resolve(raw, opened.bound, element=False)
            if qname == (RDF, "about"):
                about = values[raw]
            if qname in _NOT_PROPERTIES:
                continue
            value_span = (match.start(3) + 1, match.end(3) - 1)
            self.found.append(Found(qname, values[raw], (match.start(), match.end()), value_span, quoted[:1].decode(), index))
        self.holders.append(Holder(attributes_end, separator, opened.bound, about))

    def end(self, _name: str) -> None:
        opened = self.stack.pop()
        if opened.empty:
            end = close = opened.tag_end
        else:
            close = self.parser.CurrentByteIndex
            end = self.data.index(b">", close) + 1
        if opened is self.rdf:
            self.rdf_close = -1 if opened.empty else close
        if opened.role != "property":
            return
        value_span = (opened.tag_end, close) if opened.simple else None
        value = "".join(opened.text) if opened.simple else None
        self.found.append(Found(opened.qname, value, (_blank_before(self.data, opened.start), end), value_span, "", len(self.holders) - 1))

    def characters(self, text: str) -> None:
        if self.stack and self.stack[-1].role == "property":
            self.stack[-1].text.append(text)


def _resolve(name: str, bound: Mapping[str, str], *, element: bool) -> QName:
    prefix, colon, local = name.partition(":")
    if not colon:
        return (bound.get("", "") if element else "", name)
    if prefix not in bound:  # defusedxml checked every prefix is bound: this is a safety net
        raise NotMergeable(f"unbound prefix {prefix!r}")
    return (bound[prefix], local)


def _tag_end(data: bytes, start: int) -> int:
    """Just after the '>' closing the tag that starts at `start` (a '>' may stand in a quoted value)."""
    found = _TAG.match(data, start)
    if found is None:  # expat accepted the tag: a safety net
        raise NotMergeable("a tag is not closed")
    return found.end()


def _blank_before(data: bytes, index: int) -> int:
    while index and data[index - 1] in _BLANK:
        index -= 1
    return index


# -- editing ---------------------------------------------------------------------------------------------


def _escape(value: str, quote: str) -> str:
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    if quote:  # in an attribute, blanks other than a space would be read back as spaces
        text = text.replace('"', "&quot;").replace("'", "&apos;").replace("\n", "&#10;").replace("\t", "&#9;")
    return text


def _declarations(bound: Mapping[str, str], names: Mapping[QName, str], prefixes: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The prefix to write for each namespace of `names`, and the declarations to add for those not in scope."""
    chosen: dict[str, str] = {}
    declare: list[str] = []
    taken = set(bound)
    for namespace, _ in names:
        if namespace in chosen:
            continue
        existing = next((p for p, uri in bound.items() if uri == namespace and p), None)
        if existing is not None:
            chosen[namespace] = existing
            continue
        base = prefixes.get(namespace, "ns")
        prefix, number = base, 1
        while prefix in taken or prefix.lower().startswith("xml"):
            prefix, number = f"{base}{number}", number + 1
        taken.add(prefix)
        chosen[namespace] = prefix
        declare.append(f'xmlns:{prefix}="{_escape(namespace, chr(34))}"')
    return chosen, declare


def _attributes(names: Mapping[QName, str], chosen: Mapping[str, str]) -> list[str]:
    return [f'{chosen[namespace]}:{local}="{_escape(value, chr(34))}"' for (namespace, local), value in names.items()]


def _add_to_holder(packet: Packet, index: int, names: Mapping[QName, str], prefixes: Mapping[str, str]) -> tuple[int, int, bytes]:
    holder = packet.holders[index]
    chosen, declare = _declarations(holder.bound, names, prefixes)
    text = b"".join(holder.separator + item.encode() for item in (*declare, *_attributes(names, chosen)))
    return holder.attributes_end, holder.attributes_end, text


def _add_holder(packet: Packet, names: Mapping[QName, str], prefixes: Mapping[str, str]) -> tuple[int, int, bytes]:
    """A new rdf:Description at the end of rdf:RDF, for a packet that has none. Its rdf:about is
    empty, as in every XMP packet we write (legal RDF: the resource is the file itself)."""
    chosen, declare = _declarations(packet.rdf_bound, {(RDF, "about"): "", **names}, {**prefixes, RDF: "rdf"})
    attributes = " ".join((*declare, *_attributes({(RDF, "about"): "", **names}, chosen)))
    element = f"<{chosen[RDF]}:Description {attributes}/>".encode()
    data = packet.data
    if packet.rdf_close < 0:  # <rdf:RDF .../>: opened up to hold it
        end = packet.rdf_tag_end
        return end - 2, end, b">" + element + f"</{packet.rdf_name}>".encode()
    blank = _blank_before(data, packet.rdf_close)
    _, newline, indent = data[blank : packet.rdf_close].rpartition(b"\n")
    if not newline:
        return packet.rdf_close, packet.rdf_close, element
    return blank, blank, b"\n" + indent + b" " + element


def _apply(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """`edits` (start, end, replacement), which never overlap, applied from the last one back."""
    out = data
    for start, end, text in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        out = out[:start] + text + out[end:]
    return out


def _check_result(merged: bytes, values: Mapping[QName, str], managed: Callable[[QName], bool]) -> None:
    """Refuse, rather than write, a result that does not say exactly what was asked."""
    after = scan(merged)
    got = after.values()
    wrong = [name for name, value in values.items() if got.get(name) != value]
    stray = [name for name in after.names() if managed(name) and name not in values]
    doubled = len([f for f in after.found if f.name in values]) != len(values)
    if wrong or stray or doubled:
        raise NotMergeable(f"the edit did not come out as meant ({', '.join(local for _, local in (*wrong, *stray)) or 'a property twice'})")
