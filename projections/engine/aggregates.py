"""Mergeable per-row state for the KPIs whose rows are sums over contributions.

A contribution is added with sign +1 and retracted with sign -1, so an entity (a deal, a lead)
that changes retracts what it gave before and adds what it gives now. A cell disappears when
its last contribution is retracted: a row exists only where something counts.

Every store keeps, per KPI, the slots changed since the engine last collected changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from kpiflow.projections.engine.rows import Slot, Value


class SlotStore:
    """Cells per KPI and slot, plus the slots touched since `take_dirty`."""

    def __init__(self, kpis: Iterable[str]) -> None:
        self.cells: dict[str, dict[Slot, Any]] = {kpi: {} for kpi in kpis}
        self.dirty: dict[str, set[Slot]] = {kpi: set() for kpi in self.cells}

    def value_of(self, cell: Any) -> Value:
        raise NotImplementedError

    def value(self, kpi: str, slot: Slot) -> Value | None:
        cell = self.cells[kpi].get(slot)
        return None if cell is None else self.value_of(cell)

    def items(self) -> Iterator[tuple[str, Slot, Value]]:
        value_of = self.value_of
        for kpi, cells in self.cells.items():
            for slot, cell in cells.items():
                yield kpi, slot, value_of(cell)

    def take_dirty(self) -> Iterator[tuple[str, Slot]]:
        for kpi, slots in self.dirty.items():
            if slots:
                self.dirty[kpi] = set()
                for slot in slots:
                    yield kpi, slot


class SumStore(SlotStore):
    """Counts and amounts: cell = [contributions, total]. Amount KPIs total in Decimal."""

    def __init__(self, counts: Iterable[str], amounts: Iterable[str]) -> None:
        amounts = tuple(amounts)
        super().__init__((*counts, *amounts))
        self._zero: dict[str, int | Decimal] = {kpi: 0 for kpi in self.cells}
        self._zero.update({kpi: Decimal(0) for kpi in amounts})

    def value_of(self, cell: list) -> Value:
        return cell[1]

    def add(self, kpi: str, slots: Iterable[Slot], n: int, total: int | Decimal) -> None:
        """Add `n` contributions worth `total` to every slot (negative n and total retract)."""
        self.add_each(kpi, ((slot, n, total) for slot in slots))

    def add_each(self, kpi: str, parts: Iterable[tuple[Slot, int, int | Decimal]]) -> None:
        """Add (slot, n, total) parts, each to its own slot."""
        cells = self.cells[kpi]
        dirty = self.dirty[kpi]
        zero = self._zero[kpi]
        for slot, n, total in parts:
            cell = cells.get(slot)
            if cell is None:
                cells[slot] = [n, zero + total]
            else:
                cell[0] += n
                cell[1] += total
                if not cell[0]:
                    del cells[slot]
            dirty.add(slot)


class RatioStore(SlotStore):
    """close_rate: cell = [won, closed]; no cell when nothing closed."""

    def value_of(self, cell: list) -> Value:
        return cell[0] / cell[1]

    def add(self, kpi: str, slots: Iterable[Slot], won: int, closed: int) -> None:
        cells = self.cells[kpi]
        dirty = self.dirty[kpi]
        for slot in slots:
            cell = cells.get(slot)
            if cell is None:
                cells[slot] = [won, closed]
            else:
                cell[0] += won
                cell[1] += closed
                if not cell[1]:
                    del cells[slot]
            dirty.add(slot)
