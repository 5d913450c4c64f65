"""Destination naming: pure functions."""

from datetime import datetime

import pytest

from geolocator.naming import check_layout, layout_folder, numbered_name


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
