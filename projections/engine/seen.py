"""The event ids an engine has applied, compact enough for years of history.

An engine remembers every event id it applied, so a copy that arrives later is ignored (first
applied wins). As Python strings in a set that is about 120 bytes per event: most of a worker's
memory at a few million events. Here an id in canonical UUID form (lowercase, hyphenated, as
`uuid.UUID` prints it) is kept as its 128 bits, two uint64 in arrays sorted by the first half:
16 bytes. New ids go to a set first and move to the arrays in bulk (`compact`); any other id
stays a string. Membership stays exact: the whole 128 bits are compared, no filter, no hash.
"""

from __future__ import annotations

import numpy as np

# The canonical form in ClickHouse (RE2), for ids read in bulk as their two halves.
CANONICAL_UUID_SQL = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
COMPACT_AT = 262_144  # ids in the set before they move to the arrays
_EMPTY = np.empty(0, dtype=np.uint64)


_HEX_AT = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def halves(event_id: str) -> tuple[int, int]:
    """The 128 bits of a canonical UUID id as (first 64, last 64), big-endian."""
    digits = event_id.replace("-", "")
    return int(digits[:16], 16), int(digits[16:], 16)


def split(event_ids: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(positions, hi, lo)`: where the canonical UUIDs of `event_ids` are, and their halves,
    computed for the whole list at once (no Python int per id)."""
    fast = _split_all_canonical(event_ids)
    if fast is not None:
        return fast
    lengths = np.fromiter(map(len, event_ids), np.int64, len(event_ids))
    at36 = np.flatnonzero(lengths == 36)
    if not len(at36):
        return at36, _EMPTY, _EMPTY
    chosen = event_ids if len(at36) == len(event_ids) else [event_ids[i] for i in at36.tolist()]
    chars = np.frombuffer("".join(chosen).encode("ascii", "replace"), np.uint8).reshape(-1, 36)
    digits = chars[:, _HEX_AT]
    decimal = (digits >= 48) & (digits <= 57)
    letter = (digits >= 97) & (digits <= 102)
    ok = (chars[:, [8, 13, 18, 23]] == 45).all(axis=1) & (decimal | letter).all(axis=1)
    nibbles = np.where(decimal, digits - 48, digits - 87)[ok]
    octets = np.ascontiguousarray((nibbles[:, 0::2] << 4) | nibbles[:, 1::2])
    both = octets.view(">u8").astype(np.uint64)  # 16 bytes: two big-endian uint64 per id
    return at36[ok], both[:, 0].copy(), both[:, 1].copy()


def _split_all_canonical(event_ids: list[str]):
    """`split` when every id is canonical (the usual batch), with C-speed checks; None when any
    is not (or the list is empty), for the general path."""
    if not event_ids or set(map(len, event_ids)) != {36}:
        return None
    joined = "".join(event_ids)
    if joined != joined.lower():
        return None
    try:
        chars = np.frombuffer(joined.encode("ascii"), np.uint8).reshape(-1, 36)
    except UnicodeEncodeError:
        return None
    hyphens = chars == 45
    if not hyphens[:, [8, 13, 18, 23]].all() or int(hyphens.sum()) != 4 * len(event_ids):
        return None
    try:
        octets = bytes.fromhex(joined.replace("-", ""))
    except ValueError:
        return None
    if len(octets) != 16 * len(event_ids):  # fromhex skips whitespace: not all hex digits
        return None
    both = np.frombuffer(octets, ">u8").reshape(-1, 2).astype(np.uint64)
    return np.arange(len(event_ids)), both[:, 0].copy(), both[:, 1].copy()


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
        in_arrays: set[str] = set()
        if len(self._hi):
            positions, hi, lo = split(event_ids)
            order = np.argsort(hi)  # sorted needles: the search walks the arrays in order
            hi, lo, positions = hi[order], lo[order], positions[order]
            at = np.searchsorted(self._hi, hi)
            end = np.searchsorted(self._hi, hi, side="right")
            for k in np.flatnonzero(end > at).tolist():  # the first half is there: compare both
                if lo[k] in self._lo[at[k] : end[k]]:
                    in_arrays.add(event_ids[int(positions[k])])
        recent, others = self._recent, self._others
        distinct = set(event_ids)
        if (
            not in_arrays
            and len(distinct) == len(event_ids)
            and distinct.isdisjoint(recent)
            and distinct.isdisjoint(others)
        ):  # the usual batch: every id new (set operations, no loop in Python)
            recent |= distinct
            if len(recent) >= COMPACT_AT:
                self.compact()
            return [True] * len(event_ids)
        out = []
        for event_id in event_ids:
            if event_id in recent or event_id in others or event_id in in_arrays:
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
        recent = list(self._recent)
        positions, hi, lo = split(recent)
        if len(positions) < len(recent):
            canonical = set(positions.tolist())
            self._others.update(e for i, e in enumerate(recent) if i not in canonical)
        self._recent = set()
        self._merge(hi, lo)

    def _merge(self, hi: np.ndarray, lo: np.ndarray) -> None:
        if not len(hi):
            return
        all_hi = np.concatenate((self._hi, hi))
        all_lo = np.concatenate((self._lo, lo))
        order = np.argsort(all_hi, kind="stable")
        self._hi = all_hi[order]
        self._lo = all_lo[order]

    def _in_arrays(self, event_id: str) -> bool:
        positions, his, los = split([event_id])
        if not len(positions):
            return False
        hi, lo = his[0], los[0]
        at = int(np.searchsorted(self._hi, hi))
        while at < len(self._hi) and self._hi[at] == hi:  # equal first halves: compare both
            if self._lo[at] == lo:
                return True
            at += 1
        return False
