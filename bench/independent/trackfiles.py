"""GPS track files written here from each format's specification, as devices write them.

Nothing here comes from the project: each writer follows the format's own documentation
(IGC: the FAI's "Technical specification for IGC-approved GNSS flight recorders", appendix A;
TCX: Garmin's TrainingCenterDatabase v2 schema; NMEA 0183 sentences as u-blox receivers print
them; Magellan's $PMGNTRK; FIT: the Garmin FIT SDK's protocol description: 14-byte header,
definition and data messages, compressed timestamp headers, CRC-16). A track is a list of
`Fix`es; each writer returns the file's bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import reduce


@dataclass(frozen=True)
class Fix:
    utc: datetime
    lat: float
    lon: float
    alt: float = 0.0
    has_position: bool = True  # a TCX trackpoint or FIT record may carry only time and heart rate


def line(start: datetime, seconds: int, step: int, a: tuple[float, float], b: tuple[float, float], alt: float = 300.0) -> list[Fix]:
    """Fixes every `step` s from `start` for `seconds`, moving linearly from a to b."""
    n = seconds // step
    return [Fix(start + timedelta(seconds=i * step), a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n, alt + i % 7)
            for i in range(n + 1)]


# --- NMEA 0183 ---------------------------------------------------------------------------------

def nmea(body: str) -> str:
    """`$BODY*CS`: the checksum is the XOR of every character between $ and *."""
    return f"${body}*{reduce(lambda a, c: a ^ ord(c), body, 0):02X}"


def ddmm(value: float, degree_digits: int, decimals: int) -> str:
    v = abs(value)
    degrees = int(v)
    minutes = (v - degrees) * 60
    return f"{degrees:0{degree_digits}d}{minutes:0{3 + decimals}.{decimals}f}"


def ublox_gll_zda(fixes: list[Fix], talker: str = "GN") -> bytes:
    """A multi-GNSS u-blox receiver's log with RMC and GGA off: per epoch VTG, GSA (one per constellation),
    GSV, GLL, then ZDA (the only sentence with a date), as the receiver orders them; a TXT at start."""
    out = [nmea(f"{talker}TXT,01,01,02,u-blox AG - www.u-blox.com"), nmea(f"{talker}TXT,01,01,02,HW UBX-M8030 00080000")]
    for f in fixes:
        t = f"{f.utc:%H%M%S}.00"
        lat, ns = ddmm(f.lat, 2, 5), "N" if f.lat >= 0 else "S"
        lon, ew = ddmm(f.lon, 3, 5), "E" if f.lon >= 0 else "W"
        out += [
            nmea(f"{talker}VTG,,T,,M,3.120,N,5.778,K,A"),
            nmea(f"{talker}GSA,A,3,05,13,15,18,20,24,,,,,,,1.67,0.95,1.37,1"),
            nmea(f"{talker}GSA,A,3,66,67,76,,,,,,,,,,1.67,0.95,1.37,2"),
            nmea("GPGSV,2,1,08,05,37,297,30,13,57,224,41,15,54,071,40,18,19,133,35"),
            nmea("GLGSV,1,1,03,66,45,043,38,67,71,310,40,76,22,200,31"),
            nmea(f"{talker}GLL,{lat},{ns},{lon},{ew},{t},A,A"),
            nmea(f"{talker}ZDA,{t},{f.utc:%d},{f.utc:%m},{f.utc:%Y},00,00"),
        ]
    return ("\r\n".join(out) + "\r\n").encode("ascii")


def magellan(fixes: list[Fix]) -> bytes:
    """Magellan eXplorist: `$PMGNTRK,ddmm.mmm,N,dddmm.mmm,W,alt,M,hhmmss.ss,A,track name,DDMMYY*cs`."""
    out = [nmea("PMGNCMD,VERSION,3.10,6")]
    for f in fixes:
        lat, ns = ddmm(f.lat, 2, 3), "N" if f.lat >= 0 else "S"
        lon, ew = ddmm(f.lon, 3, 3), "E" if f.lon >= 0 else "W"
        out.append(nmea(f"PMGNTRK,{lat},{ns},{lon},{ew},{round(f.alt):05d},M,{f.utc:%H%M%S}.{f.utc.microsecond // 10000:02d},A,,{f.utc:%d%m%y}"))
    out.append(nmea("PMGNCMD,END"))
    return ("\r\n".join(out) + "\r\n").encode("ascii")


# --- IGC -------------------------------------------------------------------------------------

def igc_coord(value: float, degree_digits: int, hemispheres: str) -> str:
    """DDMMmmmN / DDDMMmmmE: degrees, minutes and thousandths of a minute, no decimal point."""
    v = abs(value)
    degrees = int(v)
    thousandths = round((v - degrees) * 60_000)
    if thousandths == 60_000:
        degrees, thousandths = degrees + 1, 0
    return f"{degrees:0{degree_digits}d}{thousandths:05d}{hemispheres[0] if value >= 0 else hemispheres[1]}"


def igc(fixes: list[Fix], date_line: str, events: dict[int, str], k_every: int = 15) -> bytes:
    """A flight recorder's file: A, H (the date as `date_line` gives it), I (B-record extensions FXA,
    SIU), J (K-record extension HDT), then B fixes with L comments, E events (at the given fix
    indexes) and K records (every `k_every` fixes) between them, G security records last."""
    out = ["ALXVK3BFLIGHT:1", date_line, "HFFXA035", "HFPLTPILOTINCHARGE:Jane Doe", "HFGTYGLIDERTYPE:ASG 29",
           "HFGIDGLIDERID:D-KXYZ", "HFDTMGPSDATUM:WGS84", "HFRFWFIRMWAREVERSION:8.10", "HFFTYFRTYPE:LXNAV,LX9000",
           "HFGPSRECEIVER:uBLOX,NEO-M8,72ch,max9999m", "HFTZNTIMEZONE:2.00", "I023638FXA3940SIU", "J010810HDT",
           "LLXVFLIGHT TIME LOGGED BY AN INDEPENDENT CHECK"]
    for n, f in enumerate(fixes):
        if n in events:
            out.append(f"E{f.utc:%H%M%S}{events[n]}")
        if n % k_every == 0:
            out.append(f"K{f.utc:%H%M%S}{n * 7 % 360:03d}")
        if n % 40 == 0:
            out.append(f"LLXVOAT:{n}")
        validity = "A" if f.has_position else "V"
        alt = round(f.alt)
        out.append(f"B{f.utc:%H%M%S}{igc_coord(f.lat, 2, 'NS')}{igc_coord(f.lon, 3, 'EW')}{validity}{alt:05d}{alt + 48:05d}{25 + n % 9:03d}{n % 12:02d}")
    out += ["G9C3F2B1A07E5D4C3B2A1908F7E6D5C4B3A2918", "GA3B1C2D4E5F60718293A4B5C6D7E8F90"]
    return ("\r\n".join(out) + "\r\n").encode("ascii")


# --- TCX -------------------------------------------------------------------------------------

def tcx(laps: list[list[Fix]]) -> bytes:
    """A Garmin Training Center activity: one Lap per list, each with its Track; a trackpoint
    without a position (`has_position` false) carries time, distance and heart rate only."""
    parts = ['<?xml version="1.0" encoding="UTF-8" standalone="no" ?>',
             '<TrainingCenterDatabase xsi:schemaLocation="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2 '
             'http://www.garmin.com/xmlschemas/TrainingCenterDatabasev2.xsd" '
             'xmlns:ns5="http://www.garmin.com/xmlschemas/ActivityGoals/v1" '
             'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2" '
             'xmlns:ns2="http://www.garmin.com/xmlschemas/UserProfile/v2" '
             'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
             'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
             '  <Activities>', '    <Activity Sport="Biking">', f'      <Id>{laps[0][0].utc:%Y-%m-%dT%H:%M:%S.000Z}</Id>']
    distance = 0.0
    for lap in laps:
        seconds = (lap[-1].utc - lap[0].utc).total_seconds()
        parts += [f'      <Lap StartTime="{lap[0].utc:%Y-%m-%dT%H:%M:%S.000Z}">',
                  f"        <TotalTimeSeconds>{seconds:.1f}</TotalTimeSeconds>", "        <DistanceMeters>5000.0</DistanceMeters>",
                  "        <Calories>150</Calories>", "        <AverageHeartRateBpm><Value>131</Value></AverageHeartRateBpm>",
                  "        <Intensity>Active</Intensity>", "        <TriggerMethod>Manual</TriggerMethod>", "        <Track>"]
        for n, f in enumerate(lap):
            distance += 41.7
            parts += ["          <Trackpoint>", f"            <Time>{f.utc:%Y-%m-%dT%H:%M:%S.000Z}</Time>"]
            if f.has_position:
                parts += ["            <Position>", f"              <LatitudeDegrees>{f.lat:.7f}</LatitudeDegrees>",
                          f"              <LongitudeDegrees>{f.lon:.7f}</LongitudeDegrees>", "            </Position>",
                          f"            <AltitudeMeters>{f.alt:.1f}</AltitudeMeters>"]
            parts += [f"            <DistanceMeters>{distance:.1f}</DistanceMeters>",
                      f"            <HeartRateBpm><Value>{120 + n % 30}</Value></HeartRateBpm>",
                      "            <Extensions><ns3:TPX><ns3:Speed>4.17</ns3:Speed></ns3:TPX></Extensions>",
                      "          </Trackpoint>"]
        parts += ["        </Track>", "      </Lap>"]
    parts += ['      <Creator xsi:type="Device_t"><Name>Edge 530</Name><UnitId>3300000000</UnitId><ProductID>3121</ProductID>',
              "        <Version><VersionMajor>9</VersionMajor><VersionMinor>10</VersionMinor></Version></Creator>",
              "    </Activity>", "  </Activities>", "</TrainingCenterDatabase>"]
    return ("\n".join(parts) + "\n").encode("utf-8")


# --- FIT -------------------------------------------------------------------------------------

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
_CRC_TABLE = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
              0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)


def fit_crc(data: bytes, crc: int = 0) -> int:
    """The FIT SDK's CRC-16, a nibble at a time."""
    for byte in data:
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[byte & 0xF]
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[(byte >> 4) & 0xF]
    return crc


def semicircles(degrees: float) -> int:
    return round(degrees * (2**31) / 180)


def fit_seconds(when: datetime) -> int:
    return int((when - FIT_EPOCH).total_seconds())


def _definition(local: int, global_number: int, fields: list[tuple[int, int, int]]) -> bytes:
    """A definition message: header 0x40|local, reserved, little-endian, the global number, (field, size, base type)s."""
    out = struct.pack("<BBBHB", 0x40 | local, 0, 0, global_number, len(fields))
    return out + b"".join(struct.pack("<BBB", *f) for f in fields)


def fit(fixes: list[Fix], compressed_from: int | None = None) -> bytes:
    """An activity file: file_id, then one `record` (global 20) per fix: timestamp, position_lat,
    position_long (semicircles; 0x7FFFFFFF, the invalid value, where a fix has no position), altitude
    (scale 5, offset 500) and heart rate. From fix `compressed_from` on, records use compressed
    timestamp headers (1LLTTTTT: local type 1, the low 5 bits of the time) and a definition without
    a timestamp field, as small devices write them."""
    body = _definition(0, 0, [(0, 1, 0x00), (1, 2, 0x84), (2, 2, 0x84), (3, 4, 0x8C), (4, 4, 0x86)])
    body += struct.pack("<BBHHII", 0, 4, 1, 3121, 3300000000, fit_seconds(fixes[0].utc))
    body += _definition(0, 20, [(253, 4, 0x86), (0, 4, 0x85), (1, 4, 0x85), (2, 2, 0x84), (3, 1, 0x02)])
    body += _definition(1, 20, [(0, 4, 0x85), (1, 4, 0x85), (2, 2, 0x84), (3, 1, 0x02)])
    last = None  # the last time stamp written, in full or compressed: a compressed one counts from it
    for n, f in enumerate(fixes):
        lat = semicircles(f.lat) if f.has_position else 0x7FFFFFFF
        lon = semicircles(f.lon) if f.has_position else 0x7FFFFFFF
        alt = round((f.alt + 500) * 5)
        seconds = fit_seconds(f.utc)
        if compressed_from is not None and n >= compressed_from and last is not None and 0 < seconds - last < 32:
            body += struct.pack("<BiiHB", 0x80 | (1 << 5) | (seconds & 0x1F), lat, lon, alt, 120 + n % 40)
        else:
            body += struct.pack("<BIiiHB", 0, seconds, lat, lon, alt, 120 + n % 40)
        last = seconds
    header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body), b".FIT")
    header += struct.pack("<H", fit_crc(header))
    whole = header + body
    return whole + struct.pack("<H", fit_crc(whole))
