"""Median KPIs (deal_velocity_days, stage_days:<stage>): the values of a row, kept sorted.

A row's cell is the sorted list of its values (duplicates kept): adding inserts in order,
retracting removes one equal value, so it merges and retracts exactly, whatever the order.
The median is read by index: the middle value, or the mean of the two middle values for an
even count.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable

from kpiflow.projections.engine.aggregates import SlotStore
from kpiflow.projections.engine.rows import Slot


def median(ordered: list[float]) -> float:
    """Ordinary median of a non-empty sorted list."""
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


class MedianStore(SlotStore):
    def value_of(self, cell: list[float]) -> float:
        return median(cell)

    def add(self, kpi: str, slots: Iterable[Slot], value: float, sign: int) -> None:
        """Insert `value` into every slot's values (sign -1: remove one equal value)."""
        cells = self.cells[kpi]
        dirty = self.dirty[kpi]
        for slot in slots:
            if sign > 0:
                cell = cells.get(slot)
                if cell is None:
                    cells[slot] = [value]
                else:
                    insort(cell, value)
            else:
                cell = cells[slot]
                del cell[bisect_left(cell, value)]
                if not cell:
                    del cells[slot]
            dirty.add(slot)
