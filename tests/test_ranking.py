"""The order of location sources: manual > file > copy > track > nearby > AI > nothing."""

from __future__ import annotations

import itertools

import pytest

from geolocator.locations.ranking import outranks, rank
from geolocator.record import Source

ORDER = [None, Source.AI, Source.NEARBY, Source.TRACK, Source.COPY, Source.EXIF, Source.MANUAL]


@pytest.mark.parametrize(("weaker", "stronger"), list(itertools.combinations(ORDER, 2)))
def test_only_a_stronger_source_replaces(weaker: Source | None, stronger: Source) -> None:
    assert outranks(stronger, weaker)
    if weaker is not None:
        assert not outranks(weaker, stronger)


def test_nothing_automatic_replaces_a_manual_fix_or_the_file() -> None:
    for source in Source:
        assert rank(source) > rank(None)
        assert not outranks(source, source)  # an equal never replaces: no churn
        assert not outranks(source, Source.MANUAL)
        assert source is Source.MANUAL or not outranks(source, Source.EXIF)
