"""A JPEG's end marker is looked for in its last TAIL bytes first, then in the rest: the same
answer wherever the marker lies, across the tail's start included."""

from __future__ import annotations

import pytest
from photos import CORPUS_JPG, GPS_JPEGS

from geolocator.locate.metadata.complete import TAIL, missing_end


@pytest.mark.parametrize("trailer", [0, 8, TAIL - 2, TAIL - 1, TAIL, 3 * TAIL], ids=["at-end", "short-trailer", "tail-start", "across-tail-start", "before-tail", "far-before-tail"])
def test_a_whole_jpeg_is_complete_wherever_its_end_marker_lies(tmp_path, corpus, trailer):
    whole = (CORPUS_JPG / GPS_JPEGS[0]).read_bytes()
    assert whole.endswith(b"\xff\xd9")
    path = tmp_path / "a.jpg"
    path.write_bytes(whole + b"\0" * trailer)  # bytes after the image (a phone's trailer): no marker among them
    assert missing_end(path) is None


@pytest.mark.parametrize("trailer", [0, TAIL + 100], ids=["cut", "cut-then-padded"])
def test_a_jpeg_cut_in_its_image_data_is_incomplete(tmp_path, corpus, trailer):
    whole = (CORPUS_JPG / GPS_JPEGS[0]).read_bytes()
    cut = whole[: len(whole) * 2 // 3]
    assert len(cut) > 2 * TAIL and b"\xff\xd9" not in cut[-len(cut) // 3 :]
    path = tmp_path / "a.jpg"
    path.write_bytes(cut + b"\0" * trailer)
    assert missing_end(path) == "JPEG without its end marker"
