"""Which event ids of a batch the raw log may already hold: the 64-bit prefix of every event_id
in it (ClickHouse's `ID_PREFIX_SQL`), as a sorted uint64 array (8 bytes per event) plus the
prefixes added since it was loaded, in a set that moves to the array in bulk.

A filter, not an answer: an id whose prefix is there may be new (the ingest looks it up in
ClickHouse); an id whose prefix is not there is new for sure.
"""

from __future__ import annotations

import numpy as np

MERGE_AT = 262_144


class PrefixFilter:
    def __init__(self, prefixes: np.ndarray | None = None) -> None:
        self._sorted = np.sort(np.asarray(prefixes if prefixes is not None else [], np.uint64))
        self._recent: set[int] = set()

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def holds(self, prefixes: list[int]) -> list[bool]:
        """Per prefix: whether it is in the filter."""
        if not prefixes:
            return []
        wanted = np.array(prefixes, dtype=np.uint64)
        at = np.minimum(np.searchsorted(self._sorted, wanted), max(len(self._sorted) - 1, 0))
        found = (self._sorted[at] == wanted) if len(self._sorted) else np.zeros(len(wanted), bool)
        recent = self._recent
        return [bool(f) or p in recent for p, f in zip(prefixes, found.tolist(), strict=True)]

    def add(self, prefixes) -> None:
        self._recent.update(prefixes)
        if len(self._recent) >= MERGE_AT:
            merged = np.concatenate((self._sorted, np.fromiter(self._recent, np.uint64)))
            self._sorted = np.unique(merged)
            self._recent = set()
