"""qualified_leads: a lead counts once ever, at its first qualifying assessment.

Per lead only the earliest qualifying `lead.qualification_assessed` is kept, ordered by
(occurred_at, seq, event_id); seq is arrival order for ties, event_id only makes the order
total. A later-arriving earlier assessment moves the lead: its old contribution is retracted.
"""

from __future__ import annotations

from datetime import date

from kpiflow.projections.definitions import Definition
from kpiflow.projections.engine.aggregates import SumStore
from kpiflow.projections.engine.periods import PeriodCalendar, micros
from kpiflow.projections.records import EventRecord

# (micros, seq, event_id, local date, team, rep)
Qualification = tuple[int, int, str, date, str, str]


class LeadTracker:
    def __init__(self, definition: Definition) -> None:
        self._rule = tuple(definition.qualification)
        self._first: dict[str, Qualification] = {}  # lead -> earliest qualifying assessment
        self._counted: dict[str, Qualification] = {}  # lead -> what is in the sums now
        self._dirty: set[str] = set()

    def qualifies(self, checklist: dict[str, bool]) -> bool:
        """Every criterion of the rule is present and true (absent is not true)."""
        return all(checklist.get(criterion) is True for criterion in self._rule)

    def assessed(self, record: EventRecord, day: date) -> None:
        if not record.lead_id or not self.qualifies(record.checklist):
            return
        candidate = (
            micros(record.occurred_at),
            record.seq,
            record.event_id,
            day,
            record.team_id,
            record.rep_id,
        )
        current = self._first.get(record.lead_id)
        if current is None or candidate < current:
            self._first[record.lead_id] = candidate
            self._dirty.add(record.lead_id)

    def flush(self, calendar: PeriodCalendar, sums: SumStore) -> None:
        for lead in self._dirty:
            new = self._first[lead]
            old = self._counted.get(lead)
            if old == new:
                continue
            if old is not None:
                sums.add("qualified_leads", calendar.slots(old[3], old[4], old[5]), -1, -1)
            sums.add("qualified_leads", calendar.slots(new[3], new[4], new[5]), 1, 1)
            self._counted[lead] = new
        self._dirty.clear()
