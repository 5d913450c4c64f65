"""64-bit hashes near a query by Hamming distance: multi-index hashing (Norouzi, Punjani and Fleet,
"Fast Search in Hamming Space with Multi-Index Hashing", CVPR 2012), on numpy.

Each hash is cut into four 16-bit parts, each part kept in its own sorted table. Two hashes at a
distance of at most r agree on at least one part to within r // 4 bits (were every part 3 bits
or more apart, the whole would be 12 or more): for r = 8, a query looks in each table for its
part and the 136 values within 2 bits of it, 548 binary searches of O(log n) each, and checks
the hashes found whole. Up to a few hundred thousand hashes a 16-bit part is shared by a handful
of them, so the work hardly grows with n (bench/copies.py measures it at 100k photos). Chosen
over a BK-tree, which at a radius of 8 bits of 64 visits a large share of its nodes (one Python
object per hash besides), and over a scan of every hash, which is O(n).

Hashes added wait in a short unsorted tail, checked whole, until TAIL of them make the tables be
sorted again (at 100k hashes that costs a few milliseconds per TAIL hashes added).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

PARTS = 4
PART_BITS = 16
TAIL = 1024
MAX_RADIUS = 3 * PARTS - 1  # parts within 2 bits: 137 values a part (3 bits would be 697)


@functools.cache
def _flips(bits: int) -> np.ndarray:
    """Every 16-bit mask with at most `bits` bits set."""
    masks = [0]
    for count in range(1, bits + 1):
        masks += [sum(1 << b for b in chosen) for chosen in itertools.combinations(range(PART_BITS), count)]
    return np.array(masks, dtype=np.uint64)


def _part(hashes: np.ndarray, n: int) -> np.ndarray:
    return (hashes >> np.uint64(PART_BITS * n)) & np.uint64((1 << PART_BITS) - 1)


class HammingIndex:
    """Hashes (uint64), each with a value (an int the caller gives: which photo, say). Not
    thread-safe: the caller holds a lock."""

    def __init__(self) -> None:
        self._hashes = np.zeros(0, dtype=np.uint64)  # sorted into the tables
        self._values = np.zeros(0, dtype=np.int64)
        self._keys: list[np.ndarray] = [np.zeros(0, dtype=np.uint16)] * PARTS  # part values, sorted
        self._rows: list[np.ndarray] = [np.zeros(0, dtype=np.int32)] * PARTS  # where each is in _hashes
        self._tail_hashes: list[int] = []
        self._tail_values: list[int] = []

    def __len__(self) -> int:
        return len(self._hashes) + len(self._tail_hashes)

    def add(self, hash_: int, value: int) -> None:
        self._tail_hashes.append(hash_)
        self._tail_values.append(value)
        if len(self._tail_hashes) >= TAIL:
            self._sort()

    def _sort(self) -> None:
        self._hashes = np.concatenate([self._hashes, np.array(self._tail_hashes, dtype=np.uint64)])
        self._values = np.concatenate([self._values, np.array(self._tail_values, dtype=np.int64)])
        self._tail_hashes, self._tail_values = [], []
        for n in range(PARTS):
            part = _part(self._hashes, n).astype(np.uint16)
            order = np.argsort(part, kind="stable")
            self._keys[n], self._rows[n] = part[order], order.astype(np.int32)

    def near(self, queries: np.ndarray, radius: int) -> dict[int, int]:
        """{value: its smallest distance to any of `queries`} for every hash within `radius`."""
        if not 0 <= radius <= MAX_RADIUS:
            raise ValueError(f"radius must be within 0..{MAX_RADIUS}")
        queries = np.asarray(queries, dtype=np.uint64).ravel()
        found_values: list[np.ndarray] = []
        found_distances: list[np.ndarray] = []
        if len(self._hashes) and len(queries):
            rows, asked = self._candidates(queries, radius // PARTS)
            distances = np.bitwise_count(self._hashes[rows] ^ queries[asked])
            near = distances <= radius
            found_values.append(self._values[rows[near]])
            found_distances.append(distances[near])
        if self._tail_hashes and len(queries):
            tail = np.array(self._tail_hashes, dtype=np.uint64)
            distances = np.bitwise_count(tail[:, None] ^ queries[None, :]).min(axis=1)
            near = distances <= radius
            found_values.append(np.array(self._tail_values, dtype=np.int64)[near])
            found_distances.append(distances[near])
        best: dict[int, int] = {}
        for values, distances in zip(found_values, found_distances, strict=True):
            for value, distance in zip(values.tolist(), distances.tolist(), strict=True):
                if distance < best.get(value, radius + 1):
                    best[value] = distance
        return best

    def _candidates(self, queries: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
        """(row in _hashes, index of the query) of every hash that has a part within `bits` of
        the query's same part (with repeats)."""
        flips = _flips(bits)
        rows: list[np.ndarray] = []
        asked: list[np.ndarray] = []
        for n in range(PARTS):
            probes = (_part(queries, n)[:, None] ^ flips[None, :]).ravel().astype(np.uint16)
            low = np.searchsorted(self._keys[n], probes, side="left")
            counts = np.searchsorted(self._keys[n], probes, side="right") - low
            total = int(counts.sum())
            if not total:
                continue
            starts = np.repeat(low, counts)
            offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            rows.append(self._rows[n][starts + offsets])
            asked.append(np.repeat(np.repeat(np.arange(len(queries)), len(flips)), counts))
        if not rows:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
        return np.concatenate(rows), np.concatenate(asked)
