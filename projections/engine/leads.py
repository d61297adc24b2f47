"""First events: a lead or deal counts once ever, at its first event of a kind.

- `leads_created`: the lead's first `lead.created`;
- `qualified_leads`: the lead's first `lead.qualification_assessed` that satisfies the rule;
- `deals_opened`: the deal's first `deal.opened`.

Per entity only the earliest such event is kept, ordered by (occurred_at, seq, event_id); seq is
arrival order for ties, event_id only makes the order total. A later-arriving earlier event moves
the entity: its old contribution is retracted. The count goes to that event's period, team and
rep.
"""

from __future__ import annotations

from datetime import date

from kpiflow.projections.definitions import Definition
from kpiflow.projections.engine.aggregates import SumStore
from kpiflow.projections.engine.periods import PeriodCalendar, micros
from kpiflow.projections.records import EventRecord

# (micros, seq, event_id, local date, team, rep)
First = tuple[int, int, str, date, str, str]


class FirstEvents:
    """One count per entity, at the earliest of the events offered for it."""

    def __init__(self, kpi: str) -> None:
        self.kpi = kpi
        self._first: dict[str, First] = {}  # entity -> earliest event offered
        self._counted: dict[str, First] = {}  # entity -> what is in the sums now
        self._dirty: set[str] = set()

    def offer(self, entity: str, record: EventRecord, day: date) -> None:
        candidate = (
            micros(record.occurred_at),
            record.seq,
            record.event_id,
            day,
            record.team_id,
            record.rep_id,
        )
        current = self._first.get(entity)
        if current is None or candidate < current:
            self._first[entity] = candidate
            self._dirty.add(entity)

    def first(self, entity: str) -> First | None:
        return self._first.get(entity)

    def flush(self, calendar: PeriodCalendar, sums: SumStore) -> set[str]:
        """Move changed entities' counts; returns the entities whose first event changed."""
        dirty = self._dirty
        for entity in dirty:
            new = self._first[entity]
            old = self._counted.get(entity)
            if old == new:
                continue
            if old is not None:
                sums.add(self.kpi, calendar.slots(old[3], old[4], old[5]), -1, -1)
            sums.add(self.kpi, calendar.slots(new[3], new[4], new[5]), 1, 1)
            self._counted[entity] = new
        self._dirty = set()
        return dirty


class LeadTracker:
    """leads_created and qualified_leads."""

    def __init__(self, definition: Definition) -> None:
        self._rule = tuple(definition.qualification)
        self.created = FirstEvents("leads_created")
        self.qualified = FirstEvents("qualified_leads")

    def qualifies(self, checklist: dict[str, bool]) -> bool:
        """Every criterion of the rule is present and true (absent is not true)."""
        return all(checklist.get(criterion) is True for criterion in self._rule)

    def created_event(self, record: EventRecord, day: date) -> None:
        if record.lead_id:
            self.created.offer(record.lead_id, record, day)

    def assessed(self, record: EventRecord, day: date) -> None:
        if record.lead_id and self.qualifies(record.checklist):
            self.qualified.offer(record.lead_id, record, day)

    def flush(self, calendar: PeriodCalendar, sums: SumStore) -> dict[str, set[str]]:
        """Returns, per KPI, the leads whose first event changed."""
        return {
            "leads_created": self.created.flush(calendar, sums),
            "qualified_leads": self.qualified.flush(calendar, sums),
        }
