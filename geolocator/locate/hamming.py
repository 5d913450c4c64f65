"""64-bit hashes near a query by Hamming distance: multi-index hashing (Norouzi, Punjani and Fleet,
"Fast Search in Hamming Space with Multi-Index Hashing", CVPR 2012), on numpy.

Each hash is cut into four 16-bit parts, and each part has its own table: the hashes' rows
ordered by the part's value, with where each of the 65,536 values starts (a bucket per value).
Two hashes at a distance of at most r agree on at least one part to within r // 4 bits (were
every part 3 bits or more apart, the whole would be 12 or more): for r = 8, a query looks in
each table at the bucket of its part and of the 136 values within 2 bits of it (548 buckets,
each found at once, whatever n), and checks the hashes found there whole. At n hashes a bucket
holds n / 65,536 of them on average: up to a few hundred thousand photos that is a handful, so
the work hardly grows with n (bench/copies.py measures it at 10k and 100k photos, beside a scan
of every hash). Chosen over a BK-tree, which at a radius of 8 bits of 64 visits a large share of
its nodes (one Python object per hash besides), and over a scan of every hash, which is O(n).

Hashes added wait in a short tail, checked whole, until TAIL of them make the tables be made
again (a radix sort of 16-bit parts: a few milliseconds per TAIL hashes added at 100k hashes);
`extend` adds many at once with one sort at most. Memory: 32 bytes a hash, and 2 MB for the bucket starts.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

PARTS = 4
PART_BITS = 16
BUCKETS = 1 << PART_BITS
TAIL = 1024
MAX_RADIUS = 3 * PARTS - 1  # parts within 2 bits: 137 values a part (3 bits would be 697)
_EMPTY = np.zeros(0, dtype=np.int64)


@functools.cache
def _flips(bits: int) -> np.ndarray:
    """Every 16-bit mask with at most `bits` bits set."""
    masks = [0]
    for count in range(1, bits + 1):
        masks += [sum(1 << b for b in chosen) for chosen in itertools.combinations(range(PART_BITS), count)]
    return np.array(masks, dtype=np.int64)


def _parts(hashes: np.ndarray) -> np.ndarray:
    """The four 16-bit parts of each hash: (PARTS, len(hashes)), uint16."""
    shifts = (np.arange(PARTS, dtype=np.uint64) * np.uint64(PART_BITS))[:, None]
    parts: np.ndarray = ((hashes[None, :] >> shifts) & np.uint64(BUCKETS - 1)).astype(np.uint16)
    return parts


class HammingIndex:
    """Hashes (uint64), each with a value (an int the caller gives: which photo, say). Not
    thread-safe: the caller holds a lock."""

    def __init__(self) -> None:
        self._hashes = np.zeros(0, dtype=np.uint64)  # those in the tables
        self._values = np.zeros(0, dtype=np.int64)
        # The four tables one after the other: rows of _hashes ordered by part (`_rows`), and where
        # the bucket of value v of part p lies in it: from _starts[p * (BUCKETS + 1) + v] to the next.
        self._rows = np.zeros(0, dtype=np.int32)
        self._starts = np.zeros(PARTS * (BUCKETS + 1), dtype=np.int64)
        self._tail = np.zeros(TAIL, dtype=np.uint64)  # added since the tables were made
        self._tail_values = np.zeros(TAIL, dtype=np.int64)
        self._tail_size = 0

    def __len__(self) -> int:
        return len(self._hashes) + self._tail_size

    @property
    def nbytes(self) -> int:
        """The memory its arrays hold."""
        arrays = (self._hashes, self._values, self._rows, self._starts, self._tail, self._tail_values)
        return sum(a.nbytes for a in arrays)

    def add(self, hash_: int, value: int) -> None:
        self._tail[self._tail_size] = hash_
        self._tail_values[self._tail_size] = value
        self._tail_size += 1
        if self._tail_size == TAIL:
            self._tabulate()

    def extend(self, hashes: np.ndarray, values: np.ndarray) -> None:
        """Many hashes at once: into the tail while there is room, else the tables are made once."""
        hashes = np.asarray(hashes, dtype=np.uint64).ravel()
        values = np.asarray(values, dtype=np.int64).ravel()
        if len(hashes) != len(values):
            raise ValueError(f"{len(hashes)} hashes but {len(values)} values")
        end = self._tail_size + len(hashes)
        if end < TAIL:
            self._tail[self._tail_size : end] = hashes
            self._tail_values[self._tail_size : end] = values
            self._tail_size = end
        else:
            self._tabulate(hashes, values)

    def _tabulate(self, hashes: np.ndarray | None = None, values: np.ndarray | None = None) -> None:
        """Make the tables again, with the tail and `hashes` in them."""
        more = [] if hashes is None or values is None else [(hashes, values)]
        self._hashes = np.concatenate([self._hashes, self._tail[: self._tail_size], *(h for h, _ in more)])
        self._values = np.concatenate([self._values, self._tail_values[: self._tail_size], *(v for _, v in more)])
        self._tail_size = 0
        count = len(self._hashes)
        rows, starts = [], []
        for n, part in enumerate(_parts(self._hashes)):
            rows.append(np.argsort(part, kind="stable").astype(np.int32))  # a radix sort for 16-bit keys
            bucket_ends = np.cumsum(np.bincount(part, minlength=BUCKETS))
            starts.append(n * count + np.concatenate([[0], bucket_ends]))
        self._rows, self._starts = np.concatenate(rows), np.concatenate(starts).astype(np.int64)

    def near(self, queries: np.ndarray, radius: int) -> dict[int, int]:
        """{value: its smallest distance to any of `queries`} for every hash within `radius`."""
        if not 0 <= radius <= MAX_RADIUS:
            raise ValueError(f"radius must be within 0..{MAX_RADIUS}")
        queries = np.asarray(queries, dtype=np.uint64).ravel()
        if not len(queries) or not len(self):
            return {}
        values, distances = [_EMPTY], [_EMPTY]
        if len(self._hashes):
            rows, asked = self._candidates(queries, radius // PARTS)
            found = np.bitwise_count(self._hashes[rows] ^ queries[asked]).astype(np.int64)
            near = found <= radius
            values.append(self._values[rows[near]])
            distances.append(found[near])
        if self._tail_size:
            found = np.bitwise_count(self._tail[: self._tail_size, None] ^ queries[None, :]).min(axis=1).astype(np.int64)
            near = found <= radius
            values.append(self._tail_values[: self._tail_size][near])
            distances.append(found[near])
        return _nearest(np.concatenate(values), np.concatenate(distances))

    def _candidates(self, queries: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
        """(row in _hashes, index of the query) of every hash that has a part within `bits` of
        the query's same part (with repeats): the buckets of all four tables at once."""
        flips = _flips(bits)
        offsets = (np.arange(PARTS) * (BUCKETS + 1))[:, None, None]
        probes = ((_parts(queries).astype(np.int64)[:, :, None] ^ flips[None, None, :]) + offsets).ravel()  # (part, query, flip)
        low = self._starts[probes]
        counts = self._starts[probes + 1] - low
        total = int(counts.sum())
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)  # place in its bucket
        asked = np.repeat(np.tile(np.repeat(np.arange(len(queries)), len(flips)), PARTS), counts)
        return self._rows[np.repeat(low, counts) + within], asked


def _nearest(values: np.ndarray, distances: np.ndarray) -> dict[int, int]:
    """{value: its smallest distance} of pairs with repeats."""
    order = np.lexsort((distances, values))
    values, distances = values[order], distances[order]
    first = np.ones(len(values), dtype=bool)
    first[1:] = values[1:] != values[:-1]
    return dict(zip(values[first].tolist(), distances[first].tolist(), strict=True))
