"""Same picture or not (geolocator.locate.pictures), on real corpus photos turned into copies the
way apps make them, and on photos that are not copies: other photos of the same place, a burst,
pages of text, clear skies. And the Hamming index the signatures are looked up in, against a
scan of every hash."""

from __future__ import annotations

import io
import itertools
import random

import numpy as np
import pytest
from copies_made import ORIGINALS, RECIPES, SAME_PLACE, SAMPLES, burst, cropped, document, encoded, random_crop, sky, upright, with_orientation
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from geolocator.errors import UnreadableImage
from geolocator.locate.hamming import HammingIndex
from geolocator.locate.pictures import (
    COARSE_RADIUS,
    COPY_WINDOWS,
    ORIGINAL_WINDOWS,
    PLAIN,
    Picture,
    hamming,
    hashes,
    likeness,
    parse_signature,
    picture_of,
    window_hashes,
)
from geolocator.locations.copies import not_same_moment, read_picture
from geolocator.record import PhotoRecord, Status


def seen(data: bytes) -> Picture:
    """The picture of a file's bytes, decoded as the pipeline decodes files."""
    return picture_of(Image.open(io.BytesIO(data)).convert("RGB"))


def found_as_copy(original: Picture, copy: Picture) -> bool:
    """What the copy index does, for one pair, in both arrival orders: the hashes near enough
    (the whole frames, or the windows against the stored centres), then the finer check."""
    as_original = window_hashes(original, ORIGINAL_WINDOWS).tolist()
    as_copy = window_hashes(copy, COPY_WINDOWS).tolist()
    whole = hamming(original.full, copy.full)
    copy_first = min(whole, *(hamming(h, copy.centre) for h in as_original))
    original_first = min(whole, *(hamming(h, original.centre) for h in as_copy))
    return copy_first <= COARSE_RADIUS and original_first <= COARSE_RADIUS and likeness(original, copy).same


@pytest.fixture(scope="module")
def originals(corpus) -> dict[str, tuple[Image.Image, Picture]]:
    return {name: (image := upright(name), picture_of(image)) for name in ORIGINALS}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
@pytest.mark.parametrize("name", ORIGINALS)
def test_a_copy_made_by_each_app_is_the_same_picture(originals, name, recipe):
    image, original = originals[name]
    copy = seen(RECIPES[recipe](image))
    assert original.plain is None and copy.plain is None
    assert found_as_copy(original, copy), likeness(original, copy).describe()


def test_crops_of_up_to_a_tenth_a_side_are_found(originals):
    rng = random.Random(21)
    for name, (image, original) in originals.items():
        for _ in range(4):
            copy = seen(encoded(random_crop(image, rng), "JPEG", rng.randint(60, 95)))
            assert found_as_copy(original, copy), (name, likeness(original, copy).describe())


def test_a_photo_turned_by_its_orientation_tag_and_its_upright_copy(tmp_path, corpus):
    sideways = with_orientation(SAMPLES / ORIGINALS[0], tmp_path / "sideways.jpg", 6)
    original = read_picture(sideways)
    assert original.grey.shape[0] < original.grey.shape[1]  # shown upright (landscape), as the camera meant
    copy = seen(encoded(upright(ORIGINALS[0]), "JPEG", 80))  # an app applies the tag and drops it
    assert found_as_copy(original, copy)


def test_the_finer_check_says_where_the_copy_lies_in_the_original(originals):
    image, original = originals[ORIGINALS[0]]
    copy = seen(encoded(cropped(image, left=0.06, bottom=0.04), "JPEG", 80))
    found = likeness(original, copy)
    assert found.same and found.crop.x0 == pytest.approx(0.06, abs=0.01) and found.crop.y1 == pytest.approx(0.96, abs=0.01)
    assert found.crop.x1 == pytest.approx(1.0, abs=0.01) and "6% left" in found.describe()


def test_different_photos_of_the_same_place_are_not_copies(corpus):
    pictures = {name: read_picture(SAMPLES / name) for name in SAME_PLACE}
    for (a, first), (b, second) in itertools.permutations(pictures.items(), 2):
        if first.plain or second.plain:
            continue
        assert not found_as_copy(first, second), (a, b, likeness(first, second).describe())


def test_a_stripped_crop_of_one_shot_is_not_a_copy_of_the_next_shot(corpus):
    """The corpus's canon_hdr pair: one chandelier shot twice 26 s apart, the camera a little to
    the side. A crop of one can frame what the other shows; without capture times in the copy,
    only the picture tells them apart."""
    names = ("jpg/hdr/canon_hdr_NO.jpg", "jpg/hdr/canon_hdr_YES.jpg")
    rng = random.Random(3)
    for name, other in (names, names[::-1]):
        image, original = upright(name), read_picture(SAMPLES / other)
        for _ in range(8):
            copy = seen(encoded(shrunk_copy(random_crop(image, rng)), "JPEG", rng.randint(60, 95)))
            assert not likeness(original, copy).same, (name, likeness(original, copy).describe())
        assert found_as_copy(read_picture(SAMPLES / name), seen(encoded(shrunk_copy(random_crop(image, rng)), "JPEG", 70)))


def test_a_burst_is_told_by_its_capture_times_and_cameras():
    frames = burst(ORIGINALS[0])
    first, second = picture_of(frames[0]), picture_of(frames[1])
    assert hamming(first.full, second.full) <= COARSE_RADIUS  # as alike as a copy to the hashes...
    base = PhotoRecord(id="a" * 16, sha256="a" * 64, name="burst-1.jpg", path=None, status=Status.LOCATED, taken_at="2024-06-01T10:00:00", camera="EOS R6")
    later = PhotoRecord(id="b" * 16, sha256="b" * 64, name="burst-2.jpg", path=None, status=Status.UNLOCATED, taken_at="2024-06-01T10:00:03", camera="EOS R6")
    assert "3 s apart" in (not_same_moment(base, later) or "")  # ...but three seconds later: a time neighbour
    assert not_same_moment(base, _with(later, taken_at="2024-06-01T10:00:01")) is None  # within the camera's second: may be one picture
    assert "another camera" in (not_same_moment(base, _with(later, taken_at=base.taken_at, camera="iPhone 15")) or "")
    stripped = _with(later, taken_at="2024-06-15", time_source="the file name IMG-20240615-WA0001.jpg (WhatsApp: date only)", camera=None)
    assert not_same_moment(base, stripped) is None  # a time from a name is not the file's own


def _with(record: PhotoRecord, **changes: object) -> PhotoRecord:
    import dataclasses

    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(4))
def test_clear_skies_and_pages_of_text_are_never_compared(seed):
    for image in (sky(seed), document(seed), document(seed, photographed=True)):
        picture = picture_of(image)
        assert picture.plain and picture.signature == PLAIN and parse_signature(picture.signature) is None
        # A copy of one is plain too: never looked up, so it can match nothing.
        assert seen(encoded(shrunk_copy(image), "JPEG", 70)).plain


def shrunk_copy(image: Image.Image) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((800, 800))
    return copy


@pytest.mark.slow
def test_the_corpus_has_no_false_match(corpus):
    """Every picture of the corpus against every other: only the same photograph shown twice
    matches (the orientation samples are one photograph with a different numeral drawn on it;
    the iPhone saved one shot twice, as HDR and normal). bench/copies.py prints the counts."""
    names = sorted(p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".heic", ".heif", ".tif", ".tiff"})
    pictures = {}
    for name in names:
        try:
            pictures[name] = read_picture(SAMPLES / name)
        except UnreadableImage:  # the corpus's invalid files have no picture
            continue
    assert len(pictures) > 80

    def one_photograph(a: str, b: str) -> bool:
        if a.startswith("jpg/orientation/") and b.startswith("jpg/orientation/"):
            return a.split("/")[-1].split("_")[0] == b.split("/")[-1].split("_")[0]  # landscape_1 .. landscape_8, portrait_1 .. portrait_8
        return {a, b} == {"jpg/hdr/iphone_hdr_NO.jpg", "jpg/hdr/iphone_hdr_YES.jpg"}

    compared = {name: picture for name, picture in pictures.items() if not picture.plain}
    names, shown = list(compared), list(compared.values())
    # The index's first step for every ordered pair at once (original i, copy j), as found_as_copy does for one.
    full = np.array([p.full for p in shown], dtype=np.uint64)
    centres = np.array([p.centre for p in shown], dtype=np.uint64)
    as_original = np.stack([hashes(p.table, ORIGINAL_WINDOWS) for p in shown])  # (pictures, windows)
    as_copy = np.stack([hashes(p.table, COPY_WINDOWS) for p in shown])
    whole = np.bitwise_count(full[:, None] ^ full[None, :])
    copy_first = np.minimum(whole, np.bitwise_count(as_original[:, :, None] ^ centres[None, None, :]).min(axis=1))
    original_first = np.minimum(whole, np.bitwise_count(as_copy[None, :, :] ^ centres[:, None, None]).min(axis=2))
    offered = (copy_first <= COARSE_RADIUS) & (original_first <= COARSE_RADIUS)
    np.fill_diagonal(offered, False)
    matched = [(names[i], names[j]) for i, j in zip(*np.nonzero(offered), strict=True) if likeness(shown[i], shown[j]).same]
    assert matched and all(one_photograph(a, b) for a, b in matched), [pair for pair in matched if not one_photograph(*pair)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=300),
    st.lists(st.tuples(st.integers(0, 299), st.lists(st.integers(0, 63), max_size=6)), min_size=1, max_size=8),
    st.integers(0, 11),
    st.integers(0, 1500),
    st.integers(0, 1500),
)
def test_the_hamming_index_finds_exactly_what_a_scan_finds(hashes, near_queries, radius, padding, at_once):
    rng = np.random.default_rng(len(hashes) + radius)
    stored = hashes + rng.integers(0, 2**63, size=padding, dtype=np.uint64).tolist()  # enough to be sorted into the tables
    index = HammingIndex()
    at_once = min(at_once, len(stored))
    index.extend(np.array(stored[:at_once], dtype=np.uint64), np.arange(at_once))  # as the store's records are indexed
    for value, h in enumerate(stored[at_once:], start=at_once):  # as photos are filed
        index.add(h, value)
    assert len(index) == len(stored)
    queries = []
    for at, flips in near_queries:
        q = stored[at % len(stored)]
        for bit in flips:
            q ^= 1 << bit
        queries.append(q)
    found = index.near(np.array(queries, dtype=np.uint64), radius)
    scan = {}
    for value, h in enumerate(stored):
        distance = min(hamming(h, q) for q in queries)
        if distance <= radius:
            scan[value] = distance
    assert found == scan


def test_an_empty_hamming_index_finds_nothing():
    index = HammingIndex()
    assert index.near(np.array([0, 2**64 - 1], dtype=np.uint64), 8) == {}
    index.extend(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64))
    assert index.near(np.array([0], dtype=np.uint64), 8) == {} and len(index) == 0
    with pytest.raises(ValueError, match="radius"):
        index.near(np.array([0], dtype=np.uint64), 12)
