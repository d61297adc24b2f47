"""Median KPIs (deal_velocity_days, stage_days:<stage>): a multiset of values per row.

The multiset (value -> multiplicity) merges and retracts exactly, whatever the order; the
median is computed when a row is read: the middle value, or the mean of the two middle values
for an even count.
"""

from __future__ import annotations

from collections.abc import Iterable

from projections.engine.aggregates import Store
from projections.engine.rows import Slot


def median(multiset: dict[float, int]) -> float:
    """Ordinary median of a non-empty multiset given as value -> multiplicity."""
    count = sum(multiset.values())
    low_index, high_index = (count - 1) // 2, count // 2
    low = high = None
    seen = 0
    for value in sorted(multiset):
        seen += multiset[value]
        if low is None and seen > low_index:
            low = value
        if seen > high_index:
            high = value
            break
    assert low is not None and high is not None
    return low if low == high else (low + high) / 2


class MedianStore(Store):
    def value_of(self, cell: dict[float, int]) -> float:
        return median(cell)

    def add(self, kpi: str, slots: Iterable[Slot], value: float, sign: int) -> None:
        cells = self.cells[kpi]
        dirty = self.dirty[kpi]
        for slot in slots:
            cell = cells.get(slot)
            if cell is None:
                cells[slot] = {value: sign}
            else:
                left = cell.get(value, 0) + sign
                if left:
                    cell[value] = left
                else:
                    del cell[value]
                    if not cell:
                        del cells[slot]
            dirty.add(slot)
