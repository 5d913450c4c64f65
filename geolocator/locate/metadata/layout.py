"""Where a file keeps its metadata: the result of locating, before any decoding."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Role(enum.Enum):
    """What the first IFD of a TIFF block is."""

    IFD0 = "Image"  # a whole TIFF structure: IFD0 with pointers to the EXIF and GPS IFDs
    EXIF = "EXIF"  # a bare EXIF IFD (Canon CR3 CMT2)
    GPS = "GPS"  # a bare GPS IFD (Canon CR3 CMT4)


@dataclass(frozen=True)
class TiffBlock:
    offset: int  # absolute file offset of the TIFF header ("II*\0" / "MM\0*")
    role: Role = Role.IFD0


@dataclass(frozen=True)
class Span:
    offset: int
    length: int


MAX_PACKETS = 4  # XMP packets kept per file: one is the rule, a few are seen, thousands are an attack


@dataclass
class Layout:
    tiff: list[TiffBlock] = field(default_factory=list)
    # XMP packets: where they are (decoded only when EXIF has no GPS), or their text when the
    # container had to be unpacked to find them (a compressed PNG iTXt chunk).
    xmp: list[Span | bytes] = field(default_factory=list)

    @property
    def wants_xmp(self) -> bool:
        return len(self.xmp) < MAX_PACKETS

    def add_xmp(self, packet: Span | bytes) -> None:
        if self.wants_xmp:
            self.xmp.append(packet)
