"""The event ids an engine has applied, compact enough for years of history.

An engine remembers every event id it applied, so a copy that arrives later is ignored (first
applied wins). As Python strings in a set that is about 120 bytes per event: most of a worker's
memory at a few million events. Here an id in canonical UUID form (lowercase, hyphenated, as
`uuid.UUID` prints it) is kept as its 128 bits, two uint64 in arrays sorted by the first half:
16 bytes. New ids go to a set first and move to the arrays in bulk (`compact`); any other id
stays a string. Membership stays exact: the whole 128 bits are compared, no filter, no hash.
"""

from __future__ import annotations

import re

import numpy as np

CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The same test in ClickHouse (RE2), for ids read in bulk as their two halves.
CANONICAL_UUID_SQL = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
COMPACT_AT = 262_144  # ids in the set before they move to the arrays
_EMPTY = np.empty(0, dtype=np.uint64)


def halves(event_id: str) -> tuple[int, int]:
    """The 128 bits of a canonical UUID id as (first 64, last 64), big-endian."""
    digits = event_id.replace("-", "")
    return int(digits[:16], 16), int(digits[16:], 16)


class SeenIds:
    def __init__(self) -> None:
        self._hi = _EMPTY  # sorted
        self._lo = _EMPTY  # aligned with _hi
        self._recent: set[str] = set()  # added since the last compaction (any form)
        self._others: set[str] = set()  # compacted ids not in canonical form

    def __len__(self) -> int:
        return len(self._hi) + len(self._recent) + len(self._others)

    def __contains__(self, event_id: str) -> bool:
        if event_id in self._recent or event_id in self._others:
            return True
        return bool(len(self._hi)) and self._in_arrays(event_id)

    def add(self, event_id: str) -> bool:
        """Remember `event_id`; False when it was already there."""
        recent = self._recent
        if event_id in recent or event_id in self._others:
            return False
        if len(self._hi) and self._in_arrays(event_id):
            return False
        recent.add(event_id)
        if len(recent) >= COMPACT_AT:
            self.compact()
        return True

    def add_all(self, event_ids: list[str]) -> list[bool]:
        """`add` of each id in order (a repeat within the list is not new); the arrays are
        searched once for the whole list."""
        if not len(self._hi):
            return [self.add(event_id) for event_id in event_ids]
        canonical = CANONICAL_UUID.fullmatch
        positions = [i for i, event_id in enumerate(event_ids) if canonical(event_id)]
        in_arrays = set()
        if positions:
            pairs = [halves(event_ids[i]) for i in positions]
            hi = np.fromiter((p[0] for p in pairs), np.uint64, len(pairs))
            lo = np.fromiter((p[1] for p in pairs), np.uint64, len(pairs))
            at = np.searchsorted(self._hi, hi)
            end = np.searchsorted(self._hi, hi, side="right")
            for k in np.flatnonzero(end > at).tolist():  # the first half is there: compare both
                if lo[k] in self._lo[at[k] : end[k]]:
                    in_arrays.add(event_ids[positions[k]])
        out = []
        recent, others = self._recent, self._others
        for event_id in event_ids:
            if event_id in in_arrays or event_id in recent or event_id in others:
                out.append(False)
            else:
                recent.add(event_id)
                out.append(True)
        if len(recent) >= COMPACT_AT:
            self.compact()
        return out

    def add_unique(self, hi: np.ndarray, lo: np.ndarray, others: list[str]) -> None:
        """Add ids known to be new and distinct (a bulk read the caller deduplicated): canonical
        ones as their halves (`hi`, `lo`, uint64 arrays), the rest as strings."""
        self._others.update(others)
        self._merge(np.asarray(hi, dtype=np.uint64), np.asarray(lo, dtype=np.uint64))

    def compact(self) -> None:
        """Move the recent ids to the arrays (canonical ones) or the set of others."""
        his: list[int] = []
        los: list[int] = []
        for event_id in self._recent:
            if CANONICAL_UUID.fullmatch(event_id):
                hi, lo = halves(event_id)
                his.append(hi)
                los.append(lo)
            else:
                self._others.add(event_id)
        self._recent = set()
        self._merge(np.array(his, dtype=np.uint64), np.array(los, dtype=np.uint64))

    def _merge(self, hi: np.ndarray, lo: np.ndarray) -> None:
        if not len(hi):
            return
        all_hi = np.concatenate((self._hi, hi))
        all_lo = np.concatenate((self._lo, lo))
        order = np.argsort(all_hi, kind="stable")
        self._hi = all_hi[order]
        self._lo = all_lo[order]

    def _in_arrays(self, event_id: str) -> bool:
        if not CANONICAL_UUID.fullmatch(event_id):
            return False
        hi, lo = halves(event_id)
        # np.uint64: a plain int below 2**63 would make numpy convert the whole array per call
        at = int(np.searchsorted(self._hi, np.uint64(hi)))
        his, los = self._hi, self._lo
        while at < len(his) and int(his[at]) == hi:  # equal first halves: compare the second
            if int(los[at]) == lo:
                return True
            at += 1
        return False
