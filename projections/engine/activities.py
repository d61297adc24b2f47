"""Action KPIs from `activity.logged`: activities, outbound_contacts, activity_points.

The hot path of the engine (most events are activities): `apply` in the engine only bumps a
counter per (local date, team, rep, activity type, direction); `flush` folds those counters
into the row sums: first per (local date, team, rep), then per slot (the 12 slots of each),
then into the three KPIs.
"""

from __future__ import annotations

from datetime import date

from kpiflow.projections.definitions import Definition
from kpiflow.projections.engine.aggregates import SumStore
from kpiflow.projections.engine.periods import PeriodCalendar
from kpiflow.projections.engine.rows import Slot

ACTION_KPIS = ("activities", "outbound_contacts", "activity_points")
OUTBOUND_TYPES = frozenset(("call", "voicemail", "email", "linkedin_message"))

# (local date, team, rep, activity_type, direction) -> number of activities
PendingKey = tuple[date, str, str, str, str]


class ActivityCounter:
    def __init__(self, definition: Definition) -> None:
        self._points = dict(definition.points)
        self.pending: dict[PendingKey, int] = {}  # filled by the engine's apply loop

    def _weights(self, activity_type: str, direction: str) -> tuple[int, int]:
        """(counts as an outbound contact, points) of one activity. No direction is outbound."""
        outbound = activity_type in OUTBOUND_TYPES and direction in ("outbound", "")
        return int(outbound), self._points.get(activity_type, 0)

    def flush(self, calendar: PeriodCalendar, sums: SumStore) -> tuple[date, date] | None:
        """Fold the pending counters into `sums`; return the (first, last) local date seen."""
        if not self.pending:
            return None
        weights: dict[tuple[str, str], tuple[int, int]] = {}
        cells: dict[tuple[date, str, str], list[int]] = {}
        for (day, team, rep, activity_type, direction), n in self.pending.items():
            weight = weights.get((activity_type, direction))
            if weight is None:
                weight = weights[(activity_type, direction)] = self._weights(
                    activity_type, direction
                )
            cell = cells.get((day, team, rep))
            if cell is None:
                cells[(day, team, rep)] = [n, n * weight[0], n * weight[1]]
            else:
                cell[0] += n
                cell[1] += n * weight[0]
                cell[2] += n * weight[1]
        self.pending = {}
        per_slot: dict[Slot, list[int]] = {}
        for (day, team, rep), (n, outbound, points) in cells.items():
            for slot in calendar.slots(day, team, rep):
                cell = per_slot.get(slot)
                if cell is None:
                    per_slot[slot] = [n, outbound, points]
                else:
                    cell[0] += n
                    cell[1] += outbound
                    cell[2] += points
        slots = per_slot.items()
        sums.add_each("activities", ((slot, n, n) for slot, (n, _, _) in slots))
        sums.add_each("outbound_contacts", ((slot, out, out) for slot, (_, out, _) in slots if out))
        sums.add_each("activity_points", ((slot, n, points) for slot, (n, _, points) in slots))
        days = [day for day, _, _ in cells]
        return min(days), max(days)
