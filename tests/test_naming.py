"""Destination naming: pure functions."""

import os
from datetime import datetime

import pytest

from geolocator.config import check_layout
from geolocator.move.naming import fit_name, layout_folder, numbered_name, readable_name


def test_layout_folder_uses_zero_padded_fields():
    when = datetime(2024, 3, 7, 12, 0)
    assert str(layout_folder("{year}/{month}", when)) == "2024/03"
    assert str(layout_folder("{year}/{year}-{month}-{day}", when)) == "2024/2024-03-07"
    assert str(layout_folder("", when)) == "."


@pytest.mark.parametrize(
    ("layout", "problem"),
    [
        ("{year}/{month}", None),
        ("photos/{year}", None),
        ("{hour}", "unknown field {hour}"),
        ("{year", "not a valid pattern"),
        ("../{year}", "must stay inside the library"),
        ("/abs/{year}", "must stay inside the library"),
    ],
)
def test_check_layout(layout, problem):
    result = check_layout(layout)
    if problem is None:
        assert result is None
    else:
        assert problem in result


@pytest.mark.parametrize(
    ("name", "number", "expected"),
    [("IMG_1.jpg", 2, "IMG_1-2.jpg"), ("a.tar.gz", 3, "a.tar-3.gz"), ("README", 2, "README-2"), (".hidden", 2, ".hidden-2")],
)
def test_numbered_name_keeps_the_extension(name, number, expected):
    assert numbered_name(name, number) == expected


def test_numbered_name_stays_within_the_filesystem_limit():
    longest = "b" * 251 + ".jpg"  # 255 bytes: as long as a name can be
    numbered = numbered_name(longest, 2)
    assert len(numbered.encode()) <= 255 and numbered.endswith("-2.jpg")
    accented = "é" * 125 + ".jpeg"  # 255 bytes in UTF-8, two per letter
    numbered = numbered_name(accented, 10)
    assert len(numbered.encode()) <= 255 and numbered.endswith("é-10.jpeg")
    numbered.encode().decode()  # cut between characters, never inside one


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"A\xe9t\xe9.jpg", "Aété.jpg"),  # Windows-1252 / Latin-1 from a FAT card or an old ZIP
        ("Été.jpg".encode(), "Été.jpg"),  # valid UTF-8 is kept as it is
        (b"mixed-\xc3\xa9-\xe9.jpg", "mixed-é-é.jpg"),  # only the invalid bytes are read as 1252
        (b"\x81.jpg", "\ufffd.jpg"),  # no character in Windows-1252
        (b"\x93quoted\x94.jpg", "\u201cquoted\u201d.jpg"),
    ],
)
def test_readable_name_turns_any_bytes_into_valid_utf8(raw, expected):
    name = readable_name(os.fsdecode(raw))  # as os.listdir gives it: undecodable bytes as surrogates
    assert name == expected
    name.encode("utf-8")  # never raises: the store and the destination can hold it


def test_a_readable_name_longer_in_utf8_than_its_bytes_is_cut_to_fit():
    raw = b"\xe9" * 251 + b".jpg"  # 255 bytes on the card, 506 once each byte is a two-byte "é"
    name = readable_name(os.fsdecode(raw))
    assert len(name.encode()) <= 255 and name.endswith("é.jpg") and set(name[:-4]) == {"é"}
    assert fit_name("short.jpg") == "short.jpg"
